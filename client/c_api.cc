// The C API (vemakin/vemakin.h) over the C++ client library: handles that own
// a Store or a SyncClient, JSON text in and out, and the boundary where every
// exception becomes an error code and message (STYLE.md "Errors": like
// couchbase's C/c4CAPI.cc, one of the places that catch everything).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "vemakin/client/store.h"
#include "vemakin/client/sync.h"
#include "vemakin/vemakin.h"

struct vemakin_store {
  std::unique_ptr<vemakin::client::Store> store;
};

struct vemakin_sync {
  std::unique_ptr<vemakin::client::SyncClient> client;
  vemakin_progress_fn progress = nullptr;  // also told of a watch's retries
  void* context = nullptr;
};

namespace {

using nlohmann::json;
using vemakin::Error;
using vemakin::ErrorCode;
using vemakin::client::Collection;
using vemakin::client::ListQuery;

// ErrorCode -> vemakin_code, kept explicit: the C values are ABI.
int CodeOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return VEMAKIN_INVALID_ARGUMENT;
    case ErrorCode::kNotFound:
      return VEMAKIN_NOT_FOUND;
    case ErrorCode::kAlreadyExists:
      return VEMAKIN_ALREADY_EXISTS;
    case ErrorCode::kFailedPrecondition:
      return VEMAKIN_FAILED_PRECONDITION;
    case ErrorCode::kAborted:
      return VEMAKIN_ABORTED;
    case ErrorCode::kUnavailable:
      return VEMAKIN_UNAVAILABLE;
    case ErrorCode::kDataLoss:
      return VEMAKIN_DATA_LOSS;
    case ErrorCode::kUnauthenticated:
      return VEMAKIN_UNAUTHENTICATED;
    case ErrorCode::kPermissionDenied:
      return VEMAKIN_PERMISSION_DENIED;
    case ErrorCode::kDeadlineExceeded:
      return VEMAKIN_DEADLINE_EXCEEDED;
    case ErrorCode::kInternal:
      return VEMAKIN_INTERNAL;
  }
  return VEMAKIN_INTERNAL;
}

// Copies `message` into err->message, cut on a UTF-8 character boundary.
int SetError(vemakin_error* err, int code, const char* message, size_t size) noexcept {
  if (err != nullptr) {
    err->code = code;
    size_t n = std::min(size, sizeof(err->message) - 1);
    while (n > 0 && n < size && (static_cast<unsigned char>(message[n]) & 0xC0) == 0x80) {
      --n;  // message[n] continues a character: cut before that character
    }
    std::memcpy(err->message, message, n);
    err->message[n] = '\0';
  }
  return code;
}
int SetError(vemakin_error* err, int code, const char* message) noexcept {
  return SetError(err, code, message, std::strlen(message));
}

// Field errors as one line each, "<field>: <message>" (the server's 422 loc).
std::string Describe(const vemakin::client::ValidationError& e) {
  std::string msg = "invalid input";
  for (const vemakin::core::FieldError& fe : e.errors()) {
    std::string where;
    for (size_t i = 1; i < fe.loc.size(); ++i) where += (i > 1 ? "." : "") + fe.loc[i];
    msg += "; " + (where.empty() ? std::string("body") : where) + ": " + fe.msg;
  }
  return msg;
}

// Runs `fn`, translating every exception into an error code and message.
// Nothing in the handlers allocates but Describe(), itself guarded: an
// allocation failing there must not escape the extern "C" function.
template <class F>
int Guard(vemakin_error* err, F&& fn) noexcept {
  try {
    fn();
    return SetError(err, VEMAKIN_OK, "");
  } catch (const vemakin::client::ValidationError& e) {
    try {
      const std::string text = Describe(e);
      return SetError(err, VEMAKIN_INVALID_ARGUMENT, text.data(), text.size());
    } catch (...) {
      return SetError(err, VEMAKIN_INVALID_ARGUMENT, e.what());
    }
  } catch (const Error& e) {
    return SetError(err, CodeOf(e.code()), e.what());
  } catch (const json::exception& e) {
    // A JSON text from the caller that does not parse, or of the wrong shape.
    return SetError(err, VEMAKIN_INVALID_ARGUMENT, e.what());
  } catch (const std::bad_alloc&) {
    return SetError(err, VEMAKIN_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return SetError(err, VEMAKIN_INTERNAL, e.what());
  } catch (...) {
    return SetError(err, VEMAKIN_INTERNAL, "unknown error");
  }
}

// A text the caller frees with vemakin_free (malloc'd: any C runtime's free).
char* Copy(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out == nullptr) throw std::bad_alloc();
  std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

void Put(char** out, const json& value) {
  if (out != nullptr) *out = Copy(value.dump());
}

// Clears an out parameter first, so a failed call leaves NULL there.
void Clear(char** out) {
  if (out != nullptr) *out = nullptr;
}

void Require(const void* p, const char* what) {
  if (p == nullptr) throw Error(ErrorCode::kInvalidArgument, std::string(what) + " is NULL");
}

std::string Text(const char* s, const char* what) {
  Require(s, what);
  return s;
}

Collection CollectionNamed(const char* name) {
  Require(name, "collection");
  for (Collection c : {Collection::kProjects, Collection::kShots, Collection::kNotes,
                       Collection::kTasks, Collection::kInventory}) {
    if (vemakin::client::CollectionName(c) == name) return c;
  }
  throw Error(ErrorCode::kInvalidArgument, std::string("unknown collection \"") + name +
                                               "\" (projects, shots, notes, tasks or inventory)");
}

json ParseObject(const char* text, const char* what) {
  if (text == nullptr) return json::object();
  json v = json::parse(text);
  if (!v.is_object())
    throw Error(ErrorCode::kInvalidArgument, std::string(what) + " must be a JSON object");
  return v;
}

// {"project_id": ..., "skip": 0, "limit": 100, "cursor": "..."} as a ListQuery.
ListQuery QueryOf(const char* query_json) {
  ListQuery q;
  const json given = ParseObject(query_json, "the query");
  for (auto it = given.begin(); it != given.end(); ++it) {
    const std::string& key = it.key();
    const json& value = it.value();
    if (key == "skip" || key == "limit") {
      if (!value.is_number_integer()) {
        throw Error(ErrorCode::kInvalidArgument, key + " must be an integer");
      }
      (key == "skip" ? q.skip : q.limit) = value.get<long long>();
    } else if (key == "cursor") {
      if (!value.is_null() && !value.is_string()) {
        throw Error(ErrorCode::kInvalidArgument, "cursor must be a string");
      }
      if (!value.is_null()) q.cursor = value.get<std::string>();
    } else if (value.is_string()) {
      q.filters[key] = value.get<std::string>();
    } else if (!value.is_null()) {
      throw Error(ErrorCode::kInvalidArgument, "the filter " + key + " must be a string");
    }
  }
  return q;
}

vemakin::client::Store& StoreOf(vemakin_store* store) {
  Require(store, "store");
  return *store->store;
}

vemakin::client::SyncClient& ClientOf(vemakin_sync* sync) {
  Require(sync, "sync");
  return *sync->client;
}

}  // namespace

extern "C" {

const char* vemakin_version(void) { return VEMAKIN_VERSION; }

const char* vemakin_code_name(int code) {
  switch (code) {
    case VEMAKIN_OK:
      return "ok";
    case VEMAKIN_INVALID_ARGUMENT:
      return "invalid_argument";
    case VEMAKIN_NOT_FOUND:
      return "not_found";
    case VEMAKIN_ALREADY_EXISTS:
      return "already_exists";
    case VEMAKIN_FAILED_PRECONDITION:
      return "failed_precondition";
    case VEMAKIN_ABORTED:
      return "aborted";
    case VEMAKIN_UNAVAILABLE:
      return "unavailable";
    case VEMAKIN_DATA_LOSS:
      return "data_loss";
    case VEMAKIN_UNAUTHENTICATED:
      return "unauthenticated";
    case VEMAKIN_PERMISSION_DENIED:
      return "permission_denied";
    case VEMAKIN_DEADLINE_EXCEEDED:
      return "deadline_exceeded";
    case VEMAKIN_INTERNAL:
      return "internal";
    default:
      return "unknown";
  }
}

void vemakin_free(char* text) { std::free(text); }

int vemakin_store_open(const char* path, vemakin_store** out, vemakin_error* err) {
  if (out != nullptr) *out = nullptr;
  return Guard(err, [&] {
    Require(out, "out");
    vemakin::client::ClientOptions options;
    options.path = Text(path, "path");
    auto handle = std::make_unique<vemakin_store>();
    handle->store = vemakin::client::Store::Open(options);
    *out = handle.release();
  });
}

void vemakin_store_close(vemakin_store* store) { delete store; }

int vemakin_create(vemakin_store* store, const char* collection, const char* row_json, char** out,
                   vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] {
    const json row = ParseObject(Text(row_json, "row_json").c_str(), "the row");
    Put(out, StoreOf(store).Create(CollectionNamed(collection), row));
  });
}

int vemakin_get(vemakin_store* store, const char* collection, const char* id, char** out,
                vemakin_error* err) {
  Clear(out);
  return Guard(err,
               [&] { Put(out, StoreOf(store).Get(CollectionNamed(collection), Text(id, "id"))); });
}

int vemakin_update(vemakin_store* store, const char* collection, const char* id,
                   const char* patch_json, char** out, vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] {
    const json patch = ParseObject(Text(patch_json, "patch_json").c_str(), "the patch");
    Put(out, StoreOf(store).Update(CollectionNamed(collection), Text(id, "id"), patch));
  });
}

int vemakin_delete(vemakin_store* store, const char* collection, const char* id,
                   vemakin_error* err) {
  return Guard(err, [&] { StoreOf(store).Delete(CollectionNamed(collection), Text(id, "id")); });
}

int vemakin_list(vemakin_store* store, const char* collection, const char* query_json, char** out,
                 vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] {
    Put(out, StoreOf(store).List(CollectionNamed(collection), QueryOf(query_json)).ToJson());
  });
}

int vemakin_catalog(vemakin_store* store, const char* kind, const char* query_json, char** out,
                    vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] {
    const std::string k = Text(kind, "kind");
    vemakin::core::Entity table;
    if (k == "categories") {
      table = vemakin::core::Entity::kGearCategory;
    } else if (k == "brands") {
      table = vemakin::core::Entity::kGearBrand;
    } else if (k == "items") {
      table = vemakin::core::Entity::kGearCatalogItem;
    } else {
      throw Error(ErrorCode::kInvalidArgument,
                  "unknown catalog kind \"" + k + "\" (categories, brands or items)");
    }
    Put(out, StoreOf(store).Catalog(table, QueryOf(query_json)).ToJson());
  });
}

int vemakin_catalog_item(vemakin_store* store, const char* id, char** out, vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] { Put(out, StoreOf(store).CatalogItem(Text(id, "id"))); });
}

int vemakin_status(vemakin_store* store, char** out, vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] { Put(out, StoreOf(store).Status().ToJson()); });
}

int vemakin_setting_get(vemakin_store* store, const char* key, char** out, vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] {
    const std::string k = Text(key, "key");
    const std::optional<std::string> value = StoreOf(store).Setting(k);
    if (!value) throw Error(ErrorCode::kNotFound, k + " is not set");
    if (out != nullptr) *out = Copy(*value);
  });
}

int vemakin_setting_set(vemakin_store* store, const char* key, const char* value,
                        vemakin_error* err) {
  return Guard(err, [&] {
    StoreOf(store).SetSetting(Text(key, "key"),
                              value ? std::optional<std::string>(value) : std::nullopt);
  });
}

int vemakin_sync_new(vemakin_store* store, const char* options_json, vemakin_progress_fn progress,
                     void* context, vemakin_sync** out, vemakin_error* err) {
  if (out != nullptr) *out = nullptr;
  return Guard(err, [&] {
    Require(out, "out");
    vemakin::client::SyncClientOptions options;
    const json given = ParseObject(options_json, "the options");
    for (auto it = given.begin(); it != given.end(); ++it) {
      const std::string& key = it.key();
      const json& value = it.value();
      if (key == "timeout_seconds") {
        const long long s = value.is_number_integer() ? value.get<long long>() : 0;
        if (s < 1 || s > 3600) {
          throw Error(ErrorCode::kInvalidArgument, "timeout_seconds must be 1 to 3600");
        }
        options.timeout = std::chrono::seconds(s);
      } else if (key == "ca_file") {
        if (!value.is_string())
          throw Error(ErrorCode::kInvalidArgument, "ca_file must be a string");
        options.ca_file = value.get<std::string>();
      } else {
        throw Error(ErrorCode::kInvalidArgument,
                    "unknown option \"" + key + "\" (timeout_seconds, ca_file)");
      }
    }
    auto handle = std::make_unique<vemakin_sync>();
    if (progress != nullptr) {
      options.progress = [progress, context](const vemakin::client::SyncProgress& p) {
        progress(context, p.phase.c_str(), p.done, p.total);
      };
      handle->progress = progress;
      handle->context = context;
    }
    handle->client = std::make_unique<vemakin::client::SyncClient>(StoreOf(store), options);
    *out = handle.release();
  });
}

void vemakin_sync_free(vemakin_sync* sync) { delete sync; }

int vemakin_register(vemakin_sync* sync, const char* server_url, const char* email,
                     const char* password, const char* name, char** out, vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] {
    Put(out, ClientOf(sync).Register(server_url ? server_url : "", Text(email, "email"),
                                     Text(password, "password"), Text(name, "name")));
  });
}

int vemakin_login(vemakin_sync* sync, const char* server_url, const char* email,
                  const char* password, char** out, vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] {
    Put(out, ClientOf(sync).Login(server_url ? server_url : "", Text(email, "email"),
                                  Text(password, "password")));
  });
}

int vemakin_logout(vemakin_sync* sync, int flags, vemakin_error* err) {
  return Guard(err, [&] {
    if ((flags & ~(VEMAKIN_LOGOUT_DISCARD | VEMAKIN_LOGOUT_EVERYWHERE)) != 0) {
      throw Error(ErrorCode::kInvalidArgument, "unknown logout flags");
    }
    ClientOf(sync).Logout((flags & VEMAKIN_LOGOUT_DISCARD) != 0,
                          (flags & VEMAKIN_LOGOUT_EVERYWHERE) != 0);
  });
}

int vemakin_sync_now(vemakin_sync* sync, char** out, vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] { Put(out, ClientOf(sync).Sync().ToJson()); });
}

int vemakin_pull_only(vemakin_sync* sync, char** out, vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] { Put(out, ClientOf(sync).PullOnly().ToJson()); });
}

int vemakin_push_only(vemakin_sync* sync, char** out, vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] { Put(out, ClientOf(sync).PushOnly().ToJson()); });
}

int vemakin_verify(vemakin_sync* sync, char** out, vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] { Put(out, ClientOf(sync).Verify().ToJson()); });
}

int vemakin_conflicts(vemakin_sync* sync, long long limit, char** out, vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] {
    if (limit < 1) throw Error(ErrorCode::kInvalidArgument, "limit must be at least 1");
    json all = json::array();
    for (const vemakin::client::Conflict& c : ClientOf(sync).Conflicts(limit)) {
      all.push_back(c.ToJson());
    }
    Put(out, all);
  });
}

int vemakin_add_member(vemakin_sync* sync, const char* project_id, const char* email,
                       const char* role, char** out, vemakin_error* err) {
  Clear(out);
  return Guard(err, [&] {
    Put(out, ClientOf(sync).AddMember(Text(project_id, "project_id"), Text(email, "email"),
                                      Text(role, "role")));
  });
}

int vemakin_watch(vemakin_sync* sync, int wait_seconds, vemakin_change_fn on_change, void* context,
                  vemakin_error* err) {
  return Guard(err, [&] {
    if (wait_seconds < 1 || wait_seconds > 300) {
      throw Error(ErrorCode::kInvalidArgument, "wait_seconds must be 1 to 300");
    }
    ClientOf(sync).Watch(
        std::chrono::seconds(wait_seconds),
        [on_change, context](const vemakin::client::SyncReport& r) {
          if (on_change == nullptr) return true;
          return on_change(context, r.ToJson().dump().c_str()) == 0;
        },
        [sync](const Error&, std::chrono::seconds wait) {
          if (sync->progress != nullptr) sync->progress(sync->context, "retry", wait.count(), -1);
        });
  });
}

void vemakin_watch_stop(vemakin_sync* sync) {
  if (sync != nullptr) sync->client->StopWatch();
}

}  // extern "C"
