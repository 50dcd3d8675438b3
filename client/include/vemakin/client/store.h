// libvemakin-client's local store: one SQLite file holding the user's mirror
// of the server's tables (same columns, constraints and indexes), the outbox
// of local mutations waiting to be pushed, sync state and a conflict log.
//
// Every write is one SQLite transaction that changes the row AND appends its
// mutation (client id, mutation id, table, row id, operation, the changed
// fields) to the outbox: a write that returned is in the file with its outbox
// entry, even if the process dies right after (synchronous=FULL, WAL).
//
// Guest mode: a new store works at once without an account. It gets a client
// id and an owner id (the "guest user") under which its projects and
// equipment are created, and the starter gear catalog. Claiming the data into
// an account later changes no row id: rows keep their client-chosen ids; only
// the owner column follows the account (see docs/client.md).
//
// Validation is core/validation.h's, so bad input gets the same field errors
// as from the server's 422. Lists take the server's filters, orders (id last),
// skip/limit and cursors.
//
// Thread-safety: a Store may be shared by threads; one mutex serialises its
// use of the single SQLite connection (SQLite allows one writer at a time
// anyway; reads are sub-millisecond).
#ifndef VEMAKIN_CLIENT_STORE_H_
#define VEMAKIN_CLIENT_STORE_H_

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "core/model.h"
#include "core/validation.h"

namespace vemakin::client {

// The user-writable collections.
enum class Collection { kProjects, kShots, kNotes, kTasks, kInventory };

// "projects", "shots", "notes", "tasks", "inventory" (CLI and log names).
std::string_view CollectionName(Collection c);
const core::TableSpec& CollectionSpec(Collection c);

struct ClientOptions {
  std::filesystem::path path = "vemakin.db";  // ":memory:" for a private in-memory store
  std::chrono::milliseconds busy_timeout{5000};
  // null = DefaultLogger(). Called from the caller's thread and from a sync's
  // own threads (a push applies one request's results while the next is in
  // flight), often with the store's lock held: it must be thread-safe, as
  // core/log.h requires, and must not call the Store.
  std::shared_ptr<Logger> logger;
};

struct ListQuery {
  std::map<std::string, std::string> filters;  // e.g. {"project_id": ..., "status": "done"}
  long long skip = 0;                          // 0..core::kMaxSkip
  long long limit = 100;                       // 1..1000 (larger values are capped)
  std::string cursor;                          // next_cursor of the previous page; excludes skip
};

struct ListPage {
  nlohmann::json items = nlohmann::json::array();
  long long total = 0;
  long long skip = 0;
  long long limit = 100;
  bool has_more = false;
  std::optional<std::string> next_cursor;
  // The API's envelope: {items, total, skip, limit, has_more, next_cursor}.
  nlohmann::json ToJson() const;
};

struct OutboxEntry {
  long long seq = 0;
  std::string mutation_id;
  std::string table;
  std::string row_id;
  std::string op;  // "create", "update", "delete"
  nlohmann::json fields;
  std::string created_at;
};

struct StoreStatus {
  std::string client_id;
  std::string owner_id;                // the guest user, or the account's user id
  std::optional<std::string> account;  // email when signed in; nullopt in guest mode
  std::optional<std::string> server_url;
  long long pending_mutations = 0;
  std::optional<std::string> last_sync_at;
  std::optional<std::string> cursor;
  long long conflicts = 0;
  nlohmann::json ToJson() const;
};

// Invalid input: the same field errors the server's 422 lists.
class ValidationError : public Error {
 public:
  explicit ValidationError(std::vector<core::FieldError> errors);
  const std::vector<core::FieldError>& errors() const { return errors_; }

 private:
  std::vector<core::FieldError> errors_;
};

class Store {
 public:
  // Opens or creates the file, upgrades its schema in place, and prepares
  // guest mode on first use. A new file is created readable by its owner only
  // (0600, before anything is written to it; SQLite gives its -wal and -shm
  // files the same mode): it holds the user's data and, once signed in, the
  // account's token. Throws Error(kDataLoss) for a damaged or foreign file,
  // kFailedPrecondition for a file from a newer client.
  static std::unique_ptr<Store> Open(const ClientOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // CRUD. Create returns the stored row (201's body); a repeat with the same
  // id and values returns the row unchanged (kAlreadyExists if values differ).
  // Failures: ValidationError; Error kNotFound (unknown row or project),
  // kPermissionDenied (a viewer writing; a non-owner deleting a project).
  nlohmann::json Create(Collection c, const nlohmann::json& body);
  nlohmann::json Get(Collection c, const std::string& id);
  nlohmann::json Update(Collection c, const std::string& id, const nlohmann::json& patch);
  void Delete(Collection c, const std::string& id);
  // Lists; shots, notes and tasks need filters["project_id"].
  ListPage List(Collection c, const ListQuery& query);

  // The catalog: `table` is kGearCategory, kGearBrand (filter category_id) or
  // kGearCatalogItem (filters category_id, brand_id).
  ListPage Catalog(core::Entity table, const ListQuery& query);
  nlohmann::json CatalogItem(const std::string& id);

  // Runs several writes as one transaction (all or none), e.g. a bulk import.
  void Batch(const std::function<void()>& writes);

  StoreStatus Status();

  // The store's settings (`vemakin config`), kept across sign-outs:
  //   "server"   the server URL a sign-in uses when it is given none; every
  //              sign-in remembers the URL it used here
  //   "ca-file"  a PEM file of certificate authorities for an https://
  //              server, used when SyncClientOptions::ca_file is empty
  // SettingKeys() lists them. Setting() is nullopt when unset; SetSetting()
  // with nullopt unsets. kInvalidArgument for another key or a bad value (a
  // server URL must be http:// or https:// and a host, without spaces; a
  // ca-file an absolute path; neither may hold control characters).
  static const std::vector<std::string>& SettingKeys();
  std::optional<std::string> Setting(const std::string& key);
  void SetSetting(const std::string& key, const std::optional<std::string>& value);
  std::map<std::string, std::string> Settings();
  // The oldest pending mutations in outbox order: at most `limit`, and once
  // `max_bytes` > 0, no more than fit in that many bytes of their fields'
  // JSON text (plus a fixed allowance per entry for ids and names); the
  // first entry always comes, however large.
  std::vector<OutboxEntry> Outbox(long long limit = 1000, std::size_t max_bytes = 0);

  // EXPLAIN QUERY PLAN of the list query `List(c, query)` would run.
  std::string TestOnlyExplainList(Collection c, const ListQuery& query);

  struct Impl;

 private:
  friend class SyncClient;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vemakin::client

#endif  // VEMAKIN_CLIENT_STORE_H_
