// Internal to the client library: the Store's state (shared by store.cc,
// applier.cc and sync.cc) and the row helpers they use.
//
// Locking: `mu` (a plain mutex) guards `db` and every field below. Each
// public Store and SyncClient call takes it through Lock() for the time it
// touches the database, never across a network exchange. Store::Batch holds
// it while its callback runs; the store's own calls made by that callback,
// on the batch's thread, join the batch instead of locking again (Lock()
// knows the batch's thread). Functions of Impl assume the caller holds it.
// The logger is called with the lock held and must not call the Store (it
// would wait for itself); progress callbacks run with no lock held.
#ifndef VEMAKIN_CLIENT_STORE_IMPL_H_
#define VEMAKIN_CLIENT_STORE_IMPL_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/sqlite_db.h"
#include "core/list_order.h"
#include "core/model.h"
#include "core/uuid.h"
#include "vemakin/client/store.h"

namespace vemakin::client {

core::Entity EntityOf(Collection c);
// A child row of a project (the model's InProject()).
bool ProjectScoped(Collection c);
std::string Now();
// The table has references whose rows must share a row's project (notes).
bool HasProjectLinks(const core::TableSpec& spec);
// A row as JSON, read from the query's columns starting at `offset`.
nlohmann::json RowFrom(const core::TableSpec& spec, const Query& q, int offset = 0);

using core::TableSpec;
using nlohmann::json;

// An outbox entry as stored: OutboxEntry with its fields as the JSON text
// written with them (a push sends that text as it is).
struct OutboxRow {
  long long seq = 0;
  std::string mutation_id;
  std::string table;
  std::string row_id;
  std::string op;
  std::string fields_json;
  std::string created_at;
};

struct Store::Impl {
  ClientOptions options;
  std::mutex mu;
  std::unique_ptr<SqliteDb> db;
  int batch_depth = 0;  // > 0 inside Batch(): writes join its transaction
  // The thread running Batch()'s callback (none outside a batch); atomic:
  // Lock() reads it before it holds `mu`.
  std::atomic<std::thread::id> batch_thread{std::thread::id()};
  std::string client_id;
  std::string owner_id;

  // Holds `mu`, unless this thread is inside Batch() (which holds it).
  std::unique_lock<std::mutex> Lock() {
    if (batch_thread.load() == std::this_thread::get_id()) return {};
    return std::unique_lock<std::mutex>(mu);
  }

  std::optional<std::string> State(const std::string& key) {
    Query q = db->Prepare("SELECT value FROM sync_state WHERE key = ?1", {Value::Text(key)});
    if (!q.Step()) return std::nullopt;
    return std::string(*q.Text(0));
  }
  void SetState(const std::string& key, const std::string& value) {
    db->Prepare(
          "INSERT INTO sync_state (key, value) VALUES (?1, ?2) "
          "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
          {Value::Text(key), Value::Text(value)})
        .Run();
  }

  // The client_config table (Store::Setting); the caller holds the lock.
  std::optional<std::string> Config(const std::string& key) {
    Query q = db->Prepare("SELECT value FROM client_config WHERE key = ?1", {Value::Text(key)});
    if (!q.Step()) return std::nullopt;
    return std::string(*q.Text(0));
  }
  // Validates like Store::SetSetting, in the caller's transaction.
  void SetConfig(const std::string& key, const std::optional<std::string>& value);

  void Initialize();
  // A new guest identity (client id, owner id) and the starter catalog, in
  // the caller's transaction.
  void StartGuest();
  void LoadStarterCatalog();

  // Runs `fn` in a write transaction, or inside the open batch.
  template <class F>
  auto Write(F&& fn) {
    const std::unique_lock<std::mutex> lock = Lock();
    if (batch_depth > 0) return fn();
    Transaction tx(*db);
    auto result = fn();
    tx.Commit();
    return result;
  }

  // The first `limit` outbox entries in order after seq `after`, as stored
  // (fields as their JSON text), stopping before the entry that would take
  // the texts past `max_bytes` (0: no cap; never before the first). Callers
  // hold Lock().
  std::vector<OutboxRow> OutboxRows(long long limit, std::size_t max_bytes, long long after = 0) {
    std::vector<OutboxRow> out;
    Query q = db->Prepare(
        "SELECT seq, mutation_id, table_name, row_id, op, fields, created_at FROM outbox "
        "WHERE seq > ?2 ORDER BY seq LIMIT ?1",
        {Value::Int(limit), Value::Int(after)});
    constexpr std::size_t kPerEntry = 192;  // ids, table, op and keys of a pushed mutation
    std::size_t bytes = 0;
    while (q.Step()) {
      bytes += q.Text(5)->size() + kPerEntry;
      if (max_bytes > 0 && !out.empty() && bytes > max_bytes) break;
      out.push_back({q.Int(0), std::string(*q.Text(1)), std::string(*q.Text(2)),
                     std::string(*q.Text(3)), std::string(*q.Text(4)), std::string(*q.Text(5)),
                     std::string(*q.Text(6))});
    }
    return out;
  }

  void AppendOutbox(const std::string& table, const std::string& row_id, const std::string& op,
                    const json& fields) {
    AppendOutboxText(table, row_id, op, fields.dump());
  }
  void AppendOutboxText(const std::string& table, const std::string& row_id, const std::string& op,
                        std::string fields) {
    db->Prepare(
          "INSERT INTO outbox (mutation_id, table_name, row_id, op, fields, created_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
          {Value::Text(core::NewUuid()), Value::Text(table), Value::Text(row_id), Value::Text(op),
           Value::Text(std::move(fields)), Value::Text(Now())})
        .Run();
  }

  // This account's owner membership of a new project (as the server adds it).
  void AddOwnerMembership(const std::string& project_id, const std::string& created_at) {
    db->Prepare(
          "INSERT OR IGNORE INTO project_members (project_id, user_id, role, created_at) "
          "VALUES (?1, ?2, 'owner', ?3)",
          {Value::Text(project_id), Value::Text(owner_id), Value::Text(created_at)})
        .Run();
  }

  std::optional<json> Find(const TableSpec& spec, const std::string& id) {
    Query q = db->Prepare(
        "SELECT " + core::ColumnList(spec, "t") + " FROM " + spec.name + " t WHERE t.id = ?1",
        {Value::Text(id)});
    if (!q.Step()) return std::nullopt;
    return RowFrom(spec, q);
  }

  // The owner's role in a project, nullopt when not a member (or no project).
  std::optional<std::string> Role(const std::string& project_id) {
    Query q = db->Prepare("SELECT role FROM project_members WHERE project_id = ?1 AND user_id = ?2",
                          {Value::Text(project_id), Value::Text(owner_id)});
    if (!q.Step()) return std::nullopt;
    return std::string(*q.Text(0));
  }

  // Roles seen inside the current batch (a bulk import checks its project once).
  std::map<std::string, std::optional<std::string>> batch_roles;

  void RequireWriter(const std::string& project_id) {
    std::optional<std::string> role;
    if (batch_depth > 0) {
      auto it = batch_roles.find(project_id);
      if (it == batch_roles.end()) it = batch_roles.emplace(project_id, Role(project_id)).first;
      role = it->second;
    } else {
      role = Role(project_id);
    }
    if (!role) throw Error(ErrorCode::kNotFound, "project not found: " + project_id);
    if (*role == "viewer") {
      throw Error(ErrorCode::kPermissionDenied, "viewers cannot change this project");
    }
  }

  // The rows a row refers to that must share its project (a note's shot and
  // task: the model's same_project references) belong to its project.
  void CheckNoteLinks(const TableSpec& spec, const json& row) {
    std::vector<core::FieldError> errors;
    for (const core::FieldSpec* f : spec.References()) {
      if (!f->reference->same_project) continue;
      const std::string& link = f->name;
      if (!row.contains(link) || row.at(link).is_null()) continue;
      Query q = db->Prepare("SELECT project_id FROM " + f->reference->table + " WHERE id = ?1",
                            {Value::Text(row.at(link).get<std::string>())});
      if (!q.Step() || std::string(*q.Text(0)) != row.at("project_id").get<std::string>()) {
        errors.push_back({{"body", link}, "refers to no row of this project", "reference"});
      }
    }
    if (!errors.empty()) throw ValidationError(errors);
  }

  ListPage Page(const TableSpec& spec, const std::string& base_where, std::vector<Value> params,
                const std::vector<core::OrderKey>& keys, const ListQuery& query,
                const std::string& total_sql, const std::vector<Value>& total_params,
                std::string* explain);
};

}  // namespace vemakin::client

#endif  // VEMAKIN_CLIENT_STORE_IMPL_H_
