// The Store: local CRUD with the outbox, lists, catalog, guest set-up.
#include "vemakin/client/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <variant>

#include "client/mirror_schema.h"
#include "client/sqlite_db.h"
#include "client/store_impl.h"
#include "client/sync_state.h"
#include "core/json_codec.h"
#include "core/list_order.h"
#include "core/time_format.h"
#include "core/uuid.h"
#include "schema/embedded.h"

namespace vemakin::client {

using core::Access;
using core::Entity;
using core::FieldSpec;
using core::TableSpec;
using nlohmann::json;

std::string_view CollectionName(Collection c) { return core::Spec(EntityOf(c)).collection; }

Entity EntityOf(Collection c) {
  switch (c) {
    case Collection::kProjects:
      return Entity::kProject;
    case Collection::kShots:
      return Entity::kShot;
    case Collection::kNotes:
      return Entity::kNote;
    case Collection::kTasks:
      return Entity::kPostprodTask;
    case Collection::kInventory:
      return Entity::kEquipment;
  }
  return Entity::kProject;
}

bool ProjectScoped(Collection c) { return core::Spec(EntityOf(c)).InProject(); }

bool HasProjectLinks(const TableSpec& spec) {
  for (const FieldSpec* f : spec.References()) {
    if (f->reference->same_project) return true;
  }
  return false;
}

std::string Now() { return FormatTimestamp(std::chrono::system_clock::now()); }

// A row as JSON, read straight from SQLite's typed columns. The mirror's
// CHECKs hold dates, times and ids to their formats and the store writes
// timestamps canonically, so text values are taken as stored.
json RowFrom(const TableSpec& spec, const Query& q, int offset) {
  json row = json::object();
  int col = offset;
  for (const FieldSpec& f : spec.fields) {
    const int c = col++;
    if (q.IsNull(c)) {
      row[f.name] = nullptr;
      continue;
    }
    switch (f.type) {
      case core::FieldType::kInteger:
        row[f.name] = q.Int(c);
        break;
      case core::FieldType::kBoolean:
        row[f.name] = q.Int(c) != 0;
        break;
      case core::FieldType::kNumber: {
        double v = q.Double(c);
        if (f.decimals >= 0) v = core::CanonicalValue(f, v).get<double>();
        row[f.name] = v;
        break;
      }
      case core::FieldType::kJsonObject:
      case core::FieldType::kUuidArray: {
        const std::string_view text = *q.Text(c);
        if (text == "[]") {
          row[f.name] = json::array();
        } else if (text == "{}") {
          row[f.name] = json::object();
        } else {
          row[f.name] = json::parse(text);
        }
        break;
      }
      default:
        row[f.name] = std::string(*q.Text(c));
        break;
    }
  }
  return row;
}

// SQLite's spelling of the list page builder's SQL: "?n" parameters, and an
// index cannot deliver "ASC NULLS LAST" (pages with such a key defer the join).
static const core::SqlDialect& SqliteDialect() {
  static const core::SqlDialect kDialect{
      [](const FieldSpec&, int n) { return "?" + std::to_string(n); },
      [](int n) { return "?" + std::to_string(n); }, false};
  return kDialect;
}

const core::TableSpec& CollectionSpec(Collection c) { return core::Spec(EntityOf(c)); }

json ListPage::ToJson() const {
  return {{"items", items},       {"total", total},
          {"skip", skip},         {"limit", limit},
          {"has_more", has_more}, {"next_cursor", next_cursor ? json(*next_cursor) : json()}};
}

json StoreStatus::ToJson() const {
  auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(); };
  return {{"client_id", client_id},
          {"owner_id", owner_id},
          {"mode", account ? "account" : "guest"},
          {"account", opt(account)},
          {"server_url", opt(server_url)},
          {"pending_mutations", pending_mutations},
          {"last_sync_at", opt(last_sync_at)},
          {"cursor", opt(cursor)},
          {"conflicts", conflicts}};
}

ValidationError::ValidationError(std::vector<core::FieldError> errors)
    : Error(ErrorCode::kInvalidArgument,
            [&] {
              std::string msg = "invalid input:";
              for (const core::FieldError& e : errors) {
                std::string loc;
                for (size_t i = 1; i < e.loc.size(); ++i)
                  loc += (loc.empty() ? "" : ".") + e.loc[i];
                msg += " " + (loc.empty() ? std::string("body") : loc) + " " + e.msg + ";";
              }
              msg.pop_back();
              return msg;
            }()),
      errors_(std::move(errors)) {}

void Store::Impl::Initialize() {
  db->Exec("PRAGMA foreign_keys = ON");
  // WAL: readers never block the writer. synchronous=FULL: a commit is on disk
  // before the write returns, so a power cut cannot lose an outbox entry the
  // user was told is saved (NORMAL would survive process crashes only).
  if (options.path != ":memory:") db->Exec("PRAGMA journal_mode = WAL");
  db->Exec("PRAGMA synchronous = FULL");
  // 16 MiB of page cache: random UUID keys spread inserts over the whole
  // B-tree, and a large import thrashes SQLite's 2 MiB default. (64 MiB was
  // measured no faster for a 100,000-row import and cost 55 MB more RSS.)
  db->Exec("PRAGMA cache_size = -16384");
  // A WAL grown by a large load (a snapshot checkpoints every 40 MB) goes
  // back to at most 4 MiB on disk once it is reset after a checkpoint.
  if (options.path != ":memory:") db->Exec("PRAGMA journal_size_limit = 4194304");
  sqlite3_busy_timeout(db->raw(), static_cast<int>(options.busy_timeout.count()));
  ApplyMirrorSchema(db->raw());
  Transaction tx(*db);
  if (!State("client_id")) StartGuest();
  tx.Commit();
  client_id = *State("client_id");
  owner_id = *State("owner_id");
}

void Store::Impl::StartGuest() {
  SetState("client_id", core::NewUuid());
  SetState("owner_id", core::NewUuid());  // the guest user until an account claims the data
  SetState("created_at", Now());
  LoadStarterCatalog();
  client_id = *State("client_id");
  owner_id = *State("owner_id");
}

void Store::Impl::LoadStarterCatalog() {
  const json catalog = json::parse(schema::StarterCatalogJson());
  const std::string stamp = "2026-01-01T00:00:00.000000Z";  // the catalog's edition
  for (const json& c : catalog.at("categories")) {
    db->Prepare("INSERT OR IGNORE INTO gear_categories (id, name, slug) VALUES (?1, ?2, ?3)",
                {Value::Text(c.at("id")), Value::Text(c.at("name")), Value::Text(c.at("slug"))})
        .Run();
  }
  for (const json& b : catalog.at("brands")) {
    db->Prepare("INSERT OR IGNORE INTO gear_brands (id, name) VALUES (?1, ?2)",
                {Value::Text(b.at("id")), Value::Text(b.at("name"))})
        .Run();
  }
  for (const json& i : catalog.at("items")) {
    db->Prepare(
          "INSERT OR IGNORE INTO gear_catalog (id, category_id, brand_id, name, description, "
          "image_url, specs, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
          {Value::Text(i.at("id")), Value::Text(i.at("category_id")), Value::Text(i.at("brand_id")),
           Value::Text(i.at("name")),
           i.contains("description") ? Value::Text(i.at("description")) : Value::Null(),
           i.contains("image_url") ? Value::Text(i.at("image_url")) : Value::Null(),
           Value::Text(i.value("specs", json::object()).dump()), Value::Text(stamp)})
        .Run();
  }
}

ListPage Store::Impl::Page(const TableSpec& spec, const std::string& base_where,
                           std::vector<Value> params, const std::vector<core::OrderKey>& keys,
                           const ListQuery& query, const std::string& total_sql,
                           const std::vector<Value>& total_params, std::string* explain) {
  if (query.skip < 0) {
    throw ValidationError({{{"query", "skip"}, "must be at least 0", "range"}});
  }
  if (query.skip > core::kMaxSkip) {
    throw ValidationError(
        {{{"query", "skip"}, "must be at most " + std::to_string(core::kMaxSkip), "range"}});
  }
  if (query.limit < 1) {
    throw ValidationError({{{"query", "limit"}, "must be at least 1", "range"}});
  }
  ListPage page;
  page.skip = query.skip;
  page.limit = std::min<long long>(query.limit, 1000);
  core::PageRequest request;
  request.skip = page.skip;
  request.limit = page.limit;
  if (!query.cursor.empty()) {
    if (query.skip != 0) {
      throw ValidationError({{{"query", "skip"}, "cannot be combined with cursor", "conflict"}});
    }
    request.cursor = query.cursor;
  }
  const std::optional<core::PageSql> built =
      core::BuildPageSql(spec, spec.name + " t", base_where, keys, request,
                         static_cast<int>(params.size()) + 1, SqliteDialect());
  if (!built) {
    throw ValidationError({{{"query", "cursor"}, "is not a cursor of this list", "cursor"}});
  }
  const std::string& sql = built->sql;
  for (const core::SqlParam& p : built->params) {
    if (const long long* n = std::get_if<long long>(&p)) {
      params.push_back(Value::Int(*n));
    } else {
      params.push_back(Value::Text(std::get<std::string>(p)));
    }
  }
  if (explain) {
    Query q = db->Prepare("EXPLAIN QUERY PLAN " + sql, params);
    while (q.Step()) *explain += std::string(*q.Text(3)) + "\n";
    return page;
  }
  {
    Query q = db->Prepare(sql, params);
    while (q.Step()) {
      if (static_cast<long long>(page.items.size()) == page.limit) {
        page.has_more = true;
        break;
      }
      page.items.push_back(RowFrom(spec, q));
    }
  }
  if (page.has_more) page.next_cursor = core::CursorAfter(spec, keys, page.items.back());
  Query t = db->Prepare(total_sql, total_params);
  page.total = t.Step() ? t.Int(0) : 0;
  return page;
}

// ------------------------------------------------------------------ Store

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

namespace {

// Creates the store's file empty and private when it does not exist yet, so
// SQLite never creates it with the umask's mode (often world-readable); an
// empty file is a new database to SQLite. An existing file is left as it is
// (SyncClient narrows it before storing a token); other failures are SQLite's
// to report when it opens the path.
void CreatePrivateFile(const std::filesystem::path& path) {
  const std::string& p = path.native();
  if (p.empty() || p == ":memory:" || p.rfind("file:", 0) == 0) return;
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) ::close(fd);
}

}  // namespace

std::unique_ptr<Store> Store::Open(const ClientOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (!impl->options.logger) impl->options.logger = DefaultLogger();
  CreatePrivateFile(options.path);
  impl->db = std::make_unique<SqliteDb>(options.path.string());
  impl->Initialize();
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

json Store::Create(Collection c, const json& body) {
  const TableSpec& spec = CollectionSpec(c);
  std::vector<core::FieldError> errors = core::ValidateWrite(spec, body, core::WriteKind::kCreate);
  if (!errors.empty()) throw ValidationError(errors);
  json row = core::CompleteCreate(spec, body);
  if (!row.contains("id")) row["id"] = core::NewUuid();
  const std::string id = row.at("id");
  return impl_->Write([&]() -> json {
    if (ProjectScoped(c)) impl_->RequireWriter(row.at("project_id"));
    impl_->CheckNoteLinks(spec, row);
    std::string outbox_fields = row.dump();  // the mutation: every field the create sets
    json stored = std::move(row);
    const std::string now = Now();
    std::string cols, marks;
    std::vector<Value> params;
    for (const FieldSpec& f : spec.fields) {
      json value;
      if (stored.contains(f.name)) {
        value = stored.at(f.name);
      } else if (f.name == "user_id") {
        value = impl_->owner_id;
      } else if (f.name == "created_at" || f.name == "updated_at") {
        value = now;
      } else {
        continue;
      }
      cols += (cols.empty() ? "" : ", ") + f.name;
      marks += (marks.empty() ? "?" : ", ?") + std::to_string(params.size() + 1);
      params.push_back(ToValue(f, value));
      if (!stored.contains(f.name)) stored[f.name] = std::move(value);
    }
    impl_->db
        ->Prepare("INSERT INTO " + spec.name + " (" + cols + ") VALUES (" + marks +
                      ") ON CONFLICT (id) DO NOTHING",
                  params)
        .Run();
    if (sqlite3_changes(impl_->db->raw()) == 0) {
      // The id exists: an idempotent repeat returns the row; other values conflict.
      const json existing = *impl_->Find(spec, id);
      if (!core::HoldsValues(existing, json::parse(outbox_fields))) {
        throw Error(ErrorCode::kAlreadyExists, "a row with this id already exists");
      }
      return existing;  // nothing new to push
    }
    if (c == Collection::kProjects) impl_->AddOwnerMembership(id, now);
    impl_->AppendOutboxText(spec.name, id, "create", std::move(outbox_fields));
    return stored;  // what Get returns: every value was written canonically
  });
}

json Store::Get(Collection c, const std::string& id) {
  const std::unique_lock<std::mutex> lock = impl_->Lock();
  if (!core::IsValidUuid(id)) throw Error(ErrorCode::kNotFound, "not found: " + id);
  std::optional<json> row = impl_->Find(CollectionSpec(c), core::NormalizeUuid(id));
  if (!row) throw Error(ErrorCode::kNotFound, "not found: " + id);
  return *row;
}

json Store::Update(Collection c, const std::string& id_in, const json& patch_in) {
  const TableSpec& spec = CollectionSpec(c);
  std::vector<core::FieldError> errors =
      core::ValidateWrite(spec, patch_in, core::WriteKind::kPatch);
  if (!errors.empty()) throw ValidationError(errors);
  const json patch = core::CanonicalPatch(spec, patch_in);
  if (!core::IsValidUuid(id_in)) throw Error(ErrorCode::kNotFound, "not found: " + id_in);
  const std::string id = core::NormalizeUuid(id_in);
  return impl_->Write([&]() -> json {
    std::optional<json> existing = impl_->Find(spec, id);
    if (!existing) throw Error(ErrorCode::kNotFound, "not found: " + id);
    if (ProjectScoped(c)) impl_->RequireWriter(existing->at("project_id"));
    if (c == Collection::kProjects) impl_->RequireWriter(id);
    if (patch.empty()) return *existing;
    if (HasProjectLinks(spec)) {
      json merged = *existing;
      merged.update(patch);
      impl_->CheckNoteLinks(spec, merged);
    }
    std::string sets;
    std::vector<Value> params;
    for (auto it = patch.begin(); it != patch.end(); ++it) {
      sets += (sets.empty() ? "" : ", ") + it.key() + " = ?" + std::to_string(params.size() + 1);
      params.push_back(ToValue(*spec.Find(it.key()), it.value()));
    }
    if (spec.Find("updated_at")) {
      sets += ", updated_at = ?" + std::to_string(params.size() + 1);
      params.push_back(Value::Text(Now()));
    }
    params.push_back(Value::Text(id));
    impl_->db
        ->Prepare("UPDATE " + spec.name + " SET " + sets + " WHERE id = ?" +
                      std::to_string(params.size()),
                  params)
        .Run();
    impl_->AppendOutbox(spec.name, id, "update", patch);
    return *impl_->Find(spec, id);
  });
}

void Store::Delete(Collection c, const std::string& id_in) {
  const TableSpec& spec = CollectionSpec(c);
  if (!core::IsValidUuid(id_in)) throw Error(ErrorCode::kNotFound, "not found: " + id_in);
  const std::string id = core::NormalizeUuid(id_in);
  impl_->Write([&] {
    std::optional<json> existing = impl_->Find(spec, id);
    if (!existing) throw Error(ErrorCode::kNotFound, "not found: " + id);
    if (ProjectScoped(c)) impl_->RequireWriter(existing->at("project_id"));
    if (c == Collection::kProjects) {
      const std::optional<std::string> role = impl_->Role(id);
      if (role != "owner") {
        throw Error(ErrorCode::kPermissionDenied, "only the owner can delete a project");
      }
    }
    impl_->db->Prepare("DELETE FROM " + spec.name + " WHERE id = ?1", {Value::Text(id)}).Run();
    impl_->AppendOutbox(spec.name, id, "delete", json::object());
    return 0;
  });
}

namespace {

// Filters of a list as SQL + parameters (validated like the server's query).
void AddFilters(const TableSpec& spec, Entity entity, const ListQuery& query, std::string* where,
                std::vector<Value>* params) {
  std::vector<core::FieldError> errors;
  for (const std::string& name : core::ListFilters(entity)) {
    auto it = query.filters.find(name);
    if (it == query.filters.end()) continue;
    const FieldSpec& f = *spec.Find(name);
    std::vector<core::FieldError> e = core::ValidateValue(f, json(it->second), {"query", name});
    errors.insert(errors.end(), e.begin(), e.end());
    *where += " AND t." + name + " = ?" + std::to_string(params->size() + 1);
    params->push_back(Value::Text(f.type == core::FieldType::kUuid ? core::NormalizeUuid(it->second)
                                                                   : it->second));
  }
  for (const auto& [name, value] : query.filters) {
    const auto& allowed = core::ListFilters(entity);
    const bool scope = name == "project_id";
    if (!scope && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      errors.push_back({{"query", name}, "is not a filter of this list", "unknown_field"});
    }
  }
  if (!errors.empty()) throw ValidationError(errors);
}

}  // namespace

static ListPage ListImpl(Store::Impl& impl, Collection c, const ListQuery& query,
                         std::string* explain) {
  const std::unique_lock<std::mutex> lock = impl.Lock();
  const Entity entity = EntityOf(c);
  const TableSpec& spec = core::Spec(entity);
  std::string where;
  std::vector<Value> params;
  std::string total_sql;
  std::vector<Value> total_params;
  if (spec.InProject()) {
    auto it = query.filters.find("project_id");
    if (it == query.filters.end()) {
      throw ValidationError({{{"query", "project_id"}, "field required", "missing"}});
    }
    if (!core::IsValidUuid(it->second)) {
      throw ValidationError({{{"query", "project_id"}, "must be a UUID", "type"}});
    }
    const std::string project = core::NormalizeUuid(it->second);
    if (!impl.Role(project)) throw Error(ErrorCode::kNotFound, "project not found: " + project);
    where = "t.project_id = ?1";
    params.push_back(Value::Text(project));
  } else if (spec.scope == core::Scope::kOwner) {
    where = "t." + spec.scope_column + " = ?1";
    params.push_back(Value::Text(impl.owner_id));
  } else {  // the projects themselves: the mirror holds only this user's
    where = "1";
    if (query.filters.count("project_id")) {
      throw ValidationError(
          {{{"query", "project_id"}, "is not a filter of this list", "unknown_field"}});
    }
  }
  const size_t scope_params = params.size();
  AddFilters(spec, entity, query, &where, &params);
  if (spec.counter.empty()) {
    total_sql = "SELECT count(*) FROM " + spec.name + " t WHERE " + where;
    total_params = params;
  } else if (params.size() == scope_params) {
    total_sql =
        "SELECT coalesce((SELECT n FROM list_counts WHERE table_name = ?1 AND scope_id = ?2), 0)";
    total_params = {Value::Text(spec.name), params[0]};
  } else {
    total_sql = "SELECT count(*) FROM " + spec.name + " t WHERE " + where;
    total_params = params;
  }
  return impl.Page(spec, where, params, core::ListOrder(entity), query, total_sql, total_params,
                   explain);
}

ListPage Store::List(Collection c, const ListQuery& query) {
  return ListImpl(*impl_, c, query, nullptr);
}

std::string Store::TestOnlyExplainList(Collection c, const ListQuery& query) {
  std::string plan;
  ListImpl(*impl_, c, query, &plan);
  return plan;
}

ListPage Store::Catalog(Entity table, const ListQuery& query) {
  const std::unique_lock<std::mutex> lock = impl_->Lock();
  const TableSpec& spec = core::Spec(table);
  std::string where = "1";
  std::vector<Value> params;
  std::vector<core::FieldError> errors;
  for (const auto& [name, value] : query.filters) {
    const bool allowed =
        (table == Entity::kGearBrand && name == "category_id") ||
        (table == Entity::kGearCatalogItem && (name == "category_id" || name == "brand_id"));
    if (!allowed) {
      errors.push_back({{"query", name}, "is not a filter of this list", "unknown_field"});
      continue;
    }
    if (!core::IsValidUuid(value)) {
      errors.push_back({{"query", name}, "must be a UUID", "type"});
      continue;
    }
    params.push_back(Value::Text(core::NormalizeUuid(value)));
    const std::string p = "?" + std::to_string(params.size());
    where += table == Entity::kGearBrand
                 ? " AND t.id IN (SELECT brand_id FROM gear_catalog WHERE category_id = " + p + ")"
                 : " AND t." + name + " = " + p;
  }
  if (!errors.empty()) throw ValidationError(errors);
  return impl_->Page(spec, where, params, core::ListOrder(table), query,
                     "SELECT count(*) FROM " + spec.name + " t WHERE " + where, params, nullptr);
}

json Store::CatalogItem(const std::string& id) {
  const std::unique_lock<std::mutex> lock = impl_->Lock();
  std::optional<json> row;
  if (core::IsValidUuid(id)) {
    row = impl_->Find(core::Spec(Entity::kGearCatalogItem), core::NormalizeUuid(id));
  }
  if (!row) throw Error(ErrorCode::kNotFound, "not found: " + id);
  return *row;
}

void Store::Batch(const std::function<void()>& writes) {
  const std::unique_lock<std::mutex> lock = impl_->Lock();
  if (impl_->batch_depth > 0) return writes();
  Transaction tx(*impl_->db);
  impl_->batch_roles.clear();
  ++impl_->batch_depth;
  impl_->batch_thread = std::this_thread::get_id();
  struct Leave {
    Store::Impl& impl;
    ~Leave() {
      impl.batch_thread = std::thread::id();
      --impl.batch_depth;
    }
  } leave{*impl_};
  writes();
  tx.Commit();
}

StoreStatus Store::Status() {
  const std::unique_lock<std::mutex> lock = impl_->Lock();
  StoreStatus s;
  s.client_id = impl_->client_id;
  s.owner_id = impl_->owner_id;
  const SyncState state = SyncState::Load(*impl_->db);
  s.account = state.account_email;
  s.server_url = state.server_url;
  s.last_sync_at = state.last_sync_at;
  s.cursor = state.cursor;
  {
    Query q = impl_->db->Prepare("SELECT count(*) FROM outbox");
    q.Step();
    s.pending_mutations = q.Int(0);
  }
  Query q = impl_->db->Prepare("SELECT count(*) FROM conflict_log");
  q.Step();
  s.conflicts = q.Int(0);
  return s;
}

const std::vector<std::string>& Store::SettingKeys() {
  static const std::vector<std::string> keys = {"server", "ca-file"};
  return keys;
}

void Store::Impl::SetConfig(const std::string& key, const std::optional<std::string>& value) {
  const std::vector<std::string>& keys = SettingKeys();
  if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
    std::string known;
    for (const std::string& k : keys) known += (known.empty() ? "" : ", ") + k;
    throw Error(ErrorCode::kInvalidArgument,
                "unknown setting \"" + key + "\" (settings: " + known + ")");
  }
  if (!value) {
    db->Prepare("DELETE FROM client_config WHERE key = ?1", {Value::Text(key)}).Run();
    return;
  }
  const std::string& v = *value;
  const bool has_control = std::any_of(
      v.begin(), v.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  if (v.empty() || v.size() > 2048 || has_control) {
    throw Error(ErrorCode::kInvalidArgument,
                key + " must be 1 to 2048 characters without control characters");
  }
  if (key == "server") {
    const size_t scheme = v.rfind("https://", 0) == 0 ? 8 : v.rfind("http://", 0) == 0 ? 7 : 0;
    if (scheme == 0 || v.size() == scheme || v[scheme] == '/' || v.find(' ') != std::string::npos) {
      throw Error(ErrorCode::kInvalidArgument,
                  "the server URL must be http:// or https:// followed by a host, without spaces");
    }
  }
  // A relative path would make the trusted authorities depend on the
  // directory a sync happens to run in.
  if (key == "ca-file" && v[0] != '/') {
    throw Error(ErrorCode::kInvalidArgument, "ca-file must be an absolute path");
  }
  db->Prepare(
        "INSERT INTO client_config (key, value) VALUES (?1, ?2) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        {Value::Text(key), Value::Text(v)})
      .Run();
}

std::optional<std::string> Store::Setting(const std::string& key) {
  const std::unique_lock<std::mutex> lock = impl_->Lock();
  const std::vector<std::string>& keys = SettingKeys();
  if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
    throw Error(ErrorCode::kInvalidArgument, "unknown setting \"" + key + "\"");
  }
  return impl_->Config(key);
}

void Store::SetSetting(const std::string& key, const std::optional<std::string>& value) {
  impl_->Write([&] {
    impl_->SetConfig(key, value);
    return 0;
  });
}

std::map<std::string, std::string> Store::Settings() {
  const std::unique_lock<std::mutex> lock = impl_->Lock();
  std::map<std::string, std::string> out;
  Query q = impl_->db->Prepare("SELECT key, value FROM client_config");
  while (q.Step()) out[std::string(*q.Text(0))] = std::string(*q.Text(1));
  return out;
}

std::vector<OutboxEntry> Store::Outbox(long long limit, std::size_t max_bytes) {
  const std::unique_lock<std::mutex> lock = impl_->Lock();
  std::vector<OutboxEntry> out;
  for (OutboxRow& r : impl_->OutboxRows(limit, max_bytes)) {
    out.push_back({r.seq, std::move(r.mutation_id), std::move(r.table), std::move(r.row_id),
                   std::move(r.op), json::parse(r.fields_json), std::move(r.created_at)});
  }
  return out;
}

}  // namespace vemakin::client
