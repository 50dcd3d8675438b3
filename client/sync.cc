// The sync client: push, pull, snapshots, rebase, claim (docs/sync-protocol.md).
//
// Outbox entry lifecycle (one row of `outbox`):
//
//   Store::Create/Update/Delete ──► PENDING ──push──► (server answers)
//                                     │  ▲               │
//                      pull applies a │  │ push fails:   ├─ applied ──► gone     ApplyPushResults
//                      server row: the│  │ stays, retried│
//                      entry is       ▼  │               └─ rejected ─► gone + conflict_log row,
//                      re-applied on top (Reapply)          row restored to `current` (+ the
//                                                           row's other pending entries on top)
//   Invariant: while PENDING the mirror row shows the server's last state with
//   every pending entry of that row applied in order.
//
// Sync session (the positions live in sync_state, so every state survives a
// crash; each arrow commits with the batch that causes it):
//
//   NO CURSOR ─StartSnapshot─► SNAPSHOT(mode, snapshot_after, snapshot_cursor)
//        ▲                        │ RunSnapshot: a page per transaction
//        │ 410 (behind the        ▼ last page: cursor = snapshot_cursor
//        │ horizon): "rebase"   CURSOR ──Pull: a batch per transaction──► CURSOR'
//        └────────────────────────┘   │ a child without its parent
//                                     ▼
//                                  BACKFILL(project list, backfill_after)
//                                     RunBackfill: one-project snapshot pages
#include "vemakin/client/sync.h"

#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "client/store_impl.h"
#include "client/transport.h"
#include "core/digest.h"
#include "core/json_codec.h"
#include "core/sync_protocol.h"

namespace vemakin::client {

namespace {

// A stored cursor as a position (text no server sent reads as the beginning).
core::PullPosition PositionOf(const std::string& text) {
  return core::PullPosition::Parse(text).value_or(core::PullPosition());
}

std::string UrlEncode(const std::string& in) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

std::string ReasonOf(const json& detail) {
  if (detail.is_string()) return detail.get<std::string>();
  if (detail.is_array()) {
    std::string out;
    for (const json& e : detail) {
      std::string loc;
      for (const json& part : e.value("loc", json::array())) {
        if (part.is_string() && part != "body")
          loc += (loc.empty() ? "" : ".") + part.get<std::string>();
      }
      out += (out.empty() ? "" : "; ") + loc + (loc.empty() ? "" : " ") + e.value("msg", "");
    }
    return out;
  }
  return "refused by the server";
}

}  // namespace

json SyncReport::ToJson() const {
  return {{"pushed", pushed},
          {"rejected", rejected},
          {"pulled", pulled},
          {"snapshot_rows", snapshot_rows},
          {"bytes_received", bytes_received},
          {"bytes_sent", bytes_sent},
          {"rebased", rebased},
          {"cursor", cursor}};
}

json Conflict::ToJson() const {
  return {
      {"id", id},     {"mutation_id", mutation_id}, {"table", table},   {"row_id", row_id},
      {"kind", kind}, {"reason", reason},           {"detail", detail}, {"created_at", created_at}};
}

json VerifyReport::ToJson() const {
  return {{"equal", equal},
          {"mismatched", mismatched},
          {"tables", tables},
          {"pending_mutations", pending_mutations}};
}

// ------------------------------------------------------------ applying rows

// Applies server rows and tombstones to the mirror inside the caller's
// transaction, re-applying the outbox's pending mutations of each touched row
// on top (the client's view = server state + its pending mutations). A child
// whose parent this mirror lacks is not written: its project is scheduled for
// a one-project snapshot instead (a membership gained after the cursor), so
// the batch never violates a foreign key.
class Applier {
 public:
  explicit Applier(Store::Impl& s) : s_(s) {
    s_.db->Exec("PRAGMA defer_foreign_keys = ON");
    Query p = s_.db->Prepare("SELECT DISTINCT table_name || ':' || row_id FROM outbox");
    while (p.Step()) pending_.insert(std::string(*p.Text(0)));
    Query q = s_.db->Prepare("SELECT id FROM projects");
    while (q.Step()) projects_.insert(std::string(*q.Text(0)));
  }

  bool track_seen = false;
  std::vector<std::string> backfill;  // projects to snapshot
  bool needs_rebase = false;          // a row referred to catalog rows we lack

  // `row` is a server row (API or PostgreSQL JSON); `canonical` when its
  // values are already canonical (snapshots).
  void Upsert(const core::TableSpec& spec, const json& row, bool canonical) {
    const std::string& table = spec.name;
    if (!ParentsPresent(spec, row)) {
      // A project's row: fetch the project whole. A catalog reference: the
      // catalog changed behind this mirror's back, load a fresh snapshot.
      if (row.contains("project_id")) return Defer(row.at("project_id").get<std::string>());
      needs_rebase = true;
      return;
    }
    std::vector<Value> params;
    params.reserve(spec.fields.size());
    for (const core::FieldSpec& f : spec.fields) {
      auto it = row.find(f.name);
      if (it == row.end() || it->is_null()) {
        params.push_back(Value::Null());
      } else {
        params.push_back(ToValue(f, canonical ? *it : core::CanonicalValue(f, *it)));
      }
    }
    if (!Write(spec, row, params)) return;
    const std::string key = core::RowKey(spec, row);
    if (table == "projects") projects_.insert(key);
    if (track_seen) {
      s_.db
          ->Prepare("INSERT OR IGNORE INTO snapshot_seen (table_name, row_id) VALUES (?1, ?2)",
                    {Value::Text(table), Value::Text(key)})
          .Run();
    }
    if (pending_.count(table + ":" + key)) Reapply(spec, key);
  }

  void Remove(const std::string& table, const std::string& key) {
    if (table == "project_members") {
      const size_t colon = key.find(':');
      const std::string project = key.substr(0, colon);
      const std::string user = key.substr(colon + 1);
      if (user == s_.owner_id) {
        RemoveProject(project);  // access lost: the project leaves this device
      } else {
        s_.db
            ->Prepare("DELETE FROM project_members WHERE project_id = ?1 AND user_id = ?2",
                      {Value::Text(project), Value::Text(user)})
            .Run();
      }
      return;
    }
    if (table == "projects") return RemoveProject(key);
    if (!core::FindSpec(table)) return;
    s_.db->Prepare("DELETE FROM " + table + " WHERE id = ?1", {Value::Text(key)}).Run();
  }

  // Applies one pull change.
  void Change(const core::Change& c) {
    const core::TableSpec* spec = core::FindSpec(c.table);
    if (spec == nullptr) return;  // a table this client version does not know
    if (c.op == core::ChangeOp::kDelete) {
      Remove(c.table, c.id);
    } else {
      Upsert(*spec, c.data, false);
    }
  }

  // The pending mutations of a row, in order, on top of its current state.
  void Reapply(const core::TableSpec& spec, const std::string& id) {
    Query q = s_.db->Prepare(
        "SELECT op, fields FROM outbox WHERE table_name = ?1 AND row_id = ?2 ORDER BY seq",
        {Value::Text(spec.name), Value::Text(id)});
    std::vector<std::pair<std::string, json>> entries;
    while (q.Step()) entries.emplace_back(std::string(*q.Text(0)), json::parse(*q.Text(1)));
    for (const auto& [op, fields] : entries) {
      if (op == "delete") {
        Remove(spec.name, id);
      } else if (RowExists(spec.name, id)) {
        SetFields(spec, id, fields);
      } else if (op == "create") {
        Reinsert(spec, id, fields);
      }  // an update of a row the server deleted: delete wins (the push is refused)
    }
  }

 private:
  // Writes a server row; false when the mirror refuses it. The catalog is the
  // server's: a local catalog row that clashes on a unique name is stale and
  // makes way. Any other refusal (a row the mirror's CHECKs reject, which
  // schema parity should make impossible) is logged and skipped, so one bad
  // row never jams the sync; `vemakin verify` then names its table.
  bool Write(const core::TableSpec& spec, const json& row, const std::vector<Value>& params) {
    for (int attempt = 0;; ++attempt) {
      try {
        s_.db->Prepare(UpsertSql(spec), params).Run();
        return true;
      } catch (const Error& e) {
        if (e.code() == ErrorCode::kAlreadyExists && attempt == 0 &&
            spec.name.rfind("gear_", 0) == 0) {
          DropClashingCatalogRows(spec.name, row);
          continue;
        }
        s_.options.logger->Log(LogLevel::kWarning, "sync", "a server row was not applied",
                               {{"table", spec.name}, {"error", e.what()}});
        return false;
      }
    }
  }

  void DropClashingCatalogRows(const std::string& table, const json& row) {
    const Value id = Value::Text(row.value("id", ""));
    if (table == "gear_categories") {
      const std::string clash =
          "SELECT id FROM gear_categories WHERE (name = ?1 OR slug = ?2) AND id <> ?3";
      const std::vector<Value> p = {Value::Text(row.value("name", "")),
                                    Value::Text(row.value("slug", "")), id};
      s_.db->Prepare("DELETE FROM gear_catalog WHERE category_id IN (" + clash + ")", p).Run();
      s_.db->Prepare("DELETE FROM gear_categories WHERE id IN (" + clash + ")", p).Run();
    } else if (table == "gear_brands") {
      const std::string clash = "SELECT id FROM gear_brands WHERE name = ?1 AND id <> ?2";
      const std::vector<Value> p = {Value::Text(row.value("name", "")), id};
      s_.db->Prepare("DELETE FROM gear_catalog WHERE brand_id IN (" + clash + ")", p).Run();
      s_.db->Prepare("DELETE FROM gear_brands WHERE id IN (" + clash + ")", p).Run();
    } else {
      s_.db
          ->Prepare(
              "DELETE FROM gear_catalog WHERE brand_id = ?1 AND name = ?2 AND id <> ?3",
              {Value::Text(row.value("brand_id", "")), Value::Text(row.value("name", "")), id})
          .Run();
    }
  }

  void Defer(const std::string& project) {
    if (std::find(backfill.begin(), backfill.end(), project) == backfill.end()) {
      backfill.push_back(project);
    }
  }

  void RemoveProject(const std::string& id) {
    s_.db->Prepare("DELETE FROM projects WHERE id = ?1", {Value::Text(id)}).Run();
    projects_.erase(id);
  }

  // Every row `row` refers to through a foreign key is in the mirror.
  // The model's references name the parents; those of tables the mirror does
  // not hold (users) are the server's concern.
  bool ParentsPresent(const core::TableSpec& spec, const json& row) {
    for (const MirroredReference& ref : MirroredReferences(spec)) {
      const auto it = row.find(*ref.column);
      if (it != row.end() && it->is_string() &&
          !RowExists(*ref.parent, it->get_ref<const std::string&>())) {
        return false;
      }
    }
    return true;
  }

  // The references of a table whose parents the mirror holds (users it does
  // not), computed once per table: this runs for every applied row.
  struct MirroredReference {
    const std::string* column;
    const std::string* parent;
  };
  static const std::vector<MirroredReference>& MirroredReferences(const core::TableSpec& spec) {
    static const std::map<const core::TableSpec*, std::vector<MirroredReference>> all = [] {
      std::map<const core::TableSpec*, std::vector<MirroredReference>> out;
      for (const core::TableSpec* t : core::AllSpecs()) {
        for (const core::FieldSpec* f : t->References()) {
          const core::TableSpec* parent = core::FindSpec(f->reference->table);
          if (parent != nullptr && parent->Mirrored()) out[t].push_back({&f->name, &parent->name});
        }
      }
      return out;
    }();
    static const std::vector<MirroredReference> kNone;
    const auto it = all.find(&spec);
    return it == all.end() ? kNone : it->second;
  }

  bool RowExists(const std::string& table, const std::string& id) {
    if (table == "projects") return projects_.count(id) > 0;
    Query q = s_.db->Prepare("SELECT 1 FROM " + table + " WHERE id = ?1", {Value::Text(id)});
    return q.Step();
  }

  void SetFields(const core::TableSpec& spec, const std::string& id, const json& fields) {
    std::string sets;
    std::vector<Value> params;
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      const core::FieldSpec* f = spec.Find(it.key());
      if (f == nullptr || f->name == "id") continue;
      sets += (sets.empty() ? "" : ", ") + f->name + " = ?" + std::to_string(params.size() + 1);
      params.push_back(ToValue(*f, it.value()));
    }
    if (sets.empty()) return;
    params.push_back(Value::Text(id));
    s_.db
        ->Prepare("UPDATE " + spec.name + " SET " + sets + " WHERE id = ?" +
                      std::to_string(params.size()),
                  params)
        .Run();
  }

  // A pending create whose row the server does not have (yet): written again
  // as the user made it, if its parents are here.
  void Reinsert(const core::TableSpec& spec, const std::string& id, const json& fields) {
    json row = fields;
    row["id"] = id;
    if (!ParentsPresent(spec, row)) return;
    const std::string now = Now();
    if (spec.Find("user_id")) row["user_id"] = s_.owner_id;
    if (spec.Find("created_at")) row["created_at"] = now;
    if (spec.Find("updated_at")) row["updated_at"] = now;
    std::vector<Value> params;
    for (const core::FieldSpec& f : spec.fields) {
      auto it = row.find(f.name);
      params.push_back(it == row.end() ? Value::Null() : ToValue(f, *it));
    }
    s_.db->Prepare(UpsertSql(spec), params).Run();
    if (spec.name == "projects") {
      projects_.insert(id);
      s_.db
          ->Prepare(
              "INSERT OR IGNORE INTO project_members (project_id, user_id, role, created_at) "
              "VALUES (?1, ?2, 'owner', ?3)",
              {Value::Text(id), Value::Text(s_.owner_id), Value::Text(now)})
          .Run();
    }
  }

  const std::string& UpsertSql(const core::TableSpec& spec) {
    auto it = upsert_sql_.find(spec.name);
    if (it != upsert_sql_.end()) return it->second;
    std::string cols, marks, sets;
    int n = 0;
    std::string key;
    for (const std::string& k : spec.key) key += (key.empty() ? "" : ", ") + k;
    for (const core::FieldSpec& f : spec.fields) {
      cols += (n ? ", " : "") + f.name;
      marks += (n ? ", ?" : "?") + std::to_string(n + 1);
      ++n;
      const bool in_key = std::find(spec.key.begin(), spec.key.end(), f.name) != spec.key.end();
      if (!in_key) sets += (sets.empty() ? "" : ", ") + f.name + " = excluded." + f.name;
    }
    // An upsert, never INSERT OR REPLACE: a replace deletes first, and the
    // delete would cascade to the row's children.
    const std::string sql = "INSERT INTO " + spec.name + " (" + cols + ") VALUES (" + marks +
                            ") ON CONFLICT (" + key + ") DO UPDATE SET " + sets;
    return upsert_sql_.emplace(spec.name, sql).first->second;
  }

  Store::Impl& s_;
  std::set<std::string> pending_;   // "table:row_id" with outbox entries
  std::set<std::string> projects_;  // project ids in the mirror
  std::map<std::string, std::string> upsert_sql_;
};

// A bigger SQLite page cache for the life of a snapshot load.
class SnapshotCache {
 public:
  explicit SnapshotCache(Store::Impl& s) : s_(s) {
    std::lock_guard<std::recursive_mutex> lock(s_.mu);
    s_.db->Exec("PRAGMA cache_size = -32768");
  }
  ~SnapshotCache() {
    std::lock_guard<std::recursive_mutex> lock(s_.mu);
    try {
      s_.db->Exec("PRAGMA cache_size = -16384");
    } catch (const std::exception&) {
      // The connection is gone; nothing to restore.
    }
  }
  SnapshotCache(const SnapshotCache&) = delete;
  SnapshotCache& operator=(const SnapshotCache&) = delete;

 private:
  Store::Impl& s_;
};

// ------------------------------------------------------------------ Impl

struct SyncClient::Impl {
  Store& store;
  Store::Impl& s;
  SyncClientOptions options;
  SyncReport report;
  std::atomic<long long> bytes_received{0}, bytes_sent{0};
  std::mutex token_mu;
  std::optional<std::string> token;  // read from the store on first use
  // Requests of one SyncClient are sequential; the snapshot prefetch thread
  // and the applying thread take turns inside the transport.
  std::unique_ptr<Transport> transport;

  struct Reply {
    int status = 0;
    json body;
  };
  // A snapshot page as fetched, decoded when the answer was 200 and well formed.
  struct SnapshotReply {
    Reply reply;
    std::optional<core::SnapshotPage> page;
  };

  Impl(Store& st, SyncClientOptions o)
      : store(st),
        s(*st.impl_),
        options(std::move(o)),
        transport(NewHttpTransport(options.timeout)) {}

  std::optional<std::string> State(const std::string& key) {
    std::lock_guard<std::recursive_mutex> lock(s.mu);
    return s.State(key);
  }

  // SyncClientOptions::fault_point: dies here (SIGKILL) the n-th time.
  std::map<std::string, int> fault_hits;
  void FaultPoint(const char* point) {
    const std::string& spec = options.fault_point;
    const size_t colon = spec.rfind(':');
    if (spec.empty() || colon == std::string::npos || spec.substr(0, colon) != point) return;
    if (++fault_hits[point] == std::atoi(spec.c_str() + colon + 1)) ::raise(SIGKILL);
  }

  void Progress(const std::string& phase, long long done, long long total = -1) {
    if (options.progress) options.progress({phase, done, total});
  }

  std::string ServerUrl() {
    std::optional<std::string> url = State("server_url");
    if (!url || !State("token")) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "not signed in: run `vemakin register` or `vemakin login` first");
    }
    return *url;
  }

  // One HTTP exchange; transport failures and 5xx are kUnavailable, 401 is
  // kUnauthenticated, other statuses are returned with their JSON body.
  Reply Call(const std::string& base, const std::string& method, const std::string& path,
             const json* body = nullptr, std::chrono::seconds extra_wait = std::chrono::seconds(0),
             bool authed = true) {
    TransportRequest request;
    request.base = base;
    request.method = method;
    request.path = path;
    if (authed) {
      std::lock_guard<std::mutex> lock(token_mu);  // not the store's lock: pages are fetched
      if (!token) token = State("token");          // while another is being applied
      request.bearer = token;
    }
    request.body = body ? body->dump() : "{}";
    request.gzip = path == "/api/sync/push";  // ids and field names repeat: ~8x smaller
    request.extra_wait = extra_wait;
    const TransportResponse r = transport->Exchange(request);
    bytes_sent += r.bytes_sent;
    bytes_received += r.bytes_received;
    Reply reply;
    reply.status = r.status;
    reply.body = json::parse(r.body, nullptr, false);
    if (reply.body.is_discarded()) reply.body = json();
    if (r.status == 401 && authed) {
      throw Error(ErrorCode::kUnauthenticated,
                  "the server refused this store's sign-in; run `vemakin login` again");
    }
    if (r.status >= 500) {
      throw Error(ErrorCode::kUnavailable,
                  "the server is unavailable (HTTP " + std::to_string(r.status) + "); retry later");
    }
    return reply;
  }

  [[noreturn]] void Fail(const Reply& r, const std::string& what) {
    const std::string reason =
        r.body.is_object() ? ReasonOf(r.body.value("detail", json())) : "HTTP error";
    // A refused sign-in (401) stays an argument error: the CLI's exit codes
    // for wrong credentials predate the shared mapping.
    const ErrorCode code = ErrorCodeForHttpStatus(r.status);
    const bool mapped = code == ErrorCode::kNotFound || code == ErrorCode::kPermissionDenied ||
                        code == ErrorCode::kAlreadyExists || code == ErrorCode::kUnavailable;
    throw Error(mapped && r.status != 410 ? code : ErrorCode::kInvalidArgument,
                what + ": " + reason);
  }

  // ------------------------------------------------------------ push

  void Push() {
    const std::string base = ServerUrl();
    long long done = 0;
    for (;;) {
      const std::vector<OutboxEntry> entries = store.Outbox(options.push_batch);
      if (entries.empty()) break;
      core::PushRequest request;
      request.client_id = s.client_id;
      for (const OutboxEntry& e : entries) {
        const std::optional<core::MutationOp> op = core::ParseMutationOp(e.op);
        if (!op) throw Error(ErrorCode::kDataLoss, "an outbox entry has an unknown op: " + e.op);
        request.mutations.push_back({e.mutation_id, e.table, *op, e.row_id, e.fields});
      }
      const json body = request.ToJson();
      Reply r;
      try {
        r = Call(base, "POST", "/api/sync/push", &body);
      } catch (const Error&) {
        std::lock_guard<std::recursive_mutex> lock(s.mu);
        s.db->Prepare("UPDATE outbox SET attempts = attempts + 1 WHERE seq <= ?1",
                      {Value::Int(entries.back().seq)})
            .Run();
        throw;
      }
      std::optional<core::PushResponse> response;
      if (r.status == 200) response = core::PushResponse::FromJson(r.body);
      if (!response) Fail(r, "push refused");
      FaultPoint("push-answered");
      ApplyPushResults(entries, response->results);
      done += static_cast<long long>(entries.size());
      Progress("push", done);
    }
  }

  void ApplyPushResults(const std::vector<OutboxEntry>& entries,
                        const std::vector<core::PushResult>& results) {
    std::map<std::string, const OutboxEntry*> by_id;
    for (const OutboxEntry& e : entries) by_id[e.mutation_id] = &e;
    std::lock_guard<std::recursive_mutex> lock(s.mu);
    Transaction tx(*s.db);
    std::optional<Applier> applier;  // built only when a rejection needs undoing
    for (const core::PushResult& result : results) {
      auto it = by_id.find(result.mutation_id);
      if (it == by_id.end()) continue;
      const OutboxEntry& e = *it->second;
      s.db->Prepare("DELETE FROM outbox WHERE seq = ?1", {Value::Int(e.seq)}).Run();
      if (result.outcome == core::PushResult::Outcome::kApplied) {
        ++report.pushed;
        continue;
      }
      ++report.rejected;
      const int status = HttpStatusFor(result.code);
      s.options.logger->Log(
          LogLevel::kInfo, "sync", "the server rejected a change",
          {{"table", e.table}, {"id", e.row_id}, {"op", e.op}, {"status", status}});
      std::string kind = "rejected";
      if (result.code == ErrorCode::kNotFound && e.op == "update") kind = "deleted";
      if (result.code == ErrorCode::kNotFound && e.op == "create") kind = "orphaned";
      const std::string reason = ReasonOf(result.detail);
      const json detail = {{"http_status", status},
                           {"op", e.op},
                           {"fields", e.fields},
                           {"server_detail", result.detail}};
      s.db->Prepare(
              "INSERT INTO conflict_log (mutation_id, table_name, row_id, kind, reason, detail, "
              "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
              {Value::Text(e.mutation_id), Value::Text(e.table), Value::Text(e.row_id),
               Value::Text(kind), Value::Text(reason), Value::Text(detail.dump()),
               Value::Text(Now())})
          .Run();
      // Undo its local effect: the row as the server has it (or no row),
      // with the mutations still pending on top.
      const json& current = result.current;
      const core::TableSpec* spec = core::FindSpec(e.table);
      if (spec == nullptr) continue;
      if (!applier) applier.emplace(s);
      Applier& apply = *applier;
      if (current.is_object()) {
        apply.Upsert(*spec, current, false);
      } else {
        apply.Remove(e.table, e.row_id);
        apply.Reapply(*spec, e.row_id);
      }
    }
    if (applier) SaveDeferred(*applier);
    tx.Commit();
  }

  // ------------------------------------------------------------ pull

  void SaveDeferred(const Applier& apply) {
    if (!apply.backfill.empty()) {
      json list = json::parse(s.State("backfill").value_or("[]"));
      for (const std::string& p : apply.backfill) {
        if (std::find(list.begin(), list.end(), p) == list.end()) list.push_back(p);
      }
      s.SetState("backfill", list.dump());
    }
    if (apply.needs_rebase && !s.State("snapshot_mode")) StartSnapshot("rebase");
  }

  void StartSnapshot(const std::string& mode) {
    s.SetState("snapshot_mode", mode);
    s.db->Exec(
        "DELETE FROM sync_state WHERE key IN ('snapshot_after', 'snapshot_cursor', "
        "'snapshot_total', 'snapshot_done')");
    s.db->Exec("DELETE FROM snapshot_seen");
  }

  // Applies the tables of a snapshot page.
  long long ApplyTables(Applier& apply, const std::vector<core::SnapshotTable>& tables) {
    long long n = 0;
    for (const core::SnapshotTable& t : tables) {
      const core::TableSpec* spec = core::FindSpec(t.table);
      if (spec == nullptr) continue;
      for (const json& row : t.rows) {
        apply.Upsert(*spec, row, true);
        ++n;
      }
    }
    return n;
  }

  // Loads (or resumes) a whole snapshot; ends with the cursor set. The next
  // page is fetched (and decompressed and parsed) while this one is applied.
  void RunSnapshot(const std::string& base) {
    auto fetch = [this, base](const std::string& after) {
      return std::async(std::launch::async, [this, base, after] {
        const std::string path =
            "/api/sync/snapshot?limit=" + std::to_string(options.snapshot_batch) +
            (after.empty() ? "" : "&after=" + UrlEncode(after));
        Reply r = Call(base, "GET", path);
        SnapshotReply out;  // decoded on this thread too, while a page is applied
        if (r.status == 200) out.page = core::SnapshotPage::FromJson(std::move(r.body));
        out.reply = std::move(r);
        return out;
      });
    };
    long long done = 0;
    const long long already = std::stoll(State("snapshot_done").value_or("0"));  // resumed
    std::future<SnapshotReply> next = fetch(State("snapshot_after").value_or(""));
    // A large cache while the whole set arrives: random ids touch every page
    // of every index (LESSONS.md); back to the normal size at the end.
    SnapshotCache cache(s);
    for (;;) {
      const SnapshotReply r = next.get();
      if (!r.page) Fail(r.reply, "snapshot refused");
      const core::SnapshotPage& page = *r.page;
      const bool last = !page.next;
      if (!last) next = fetch(*page.next);
      std::lock_guard<std::recursive_mutex> lock(s.mu);
      Transaction tx(*s.db);
      const bool rebase = s.State("snapshot_mode") == std::optional<std::string>("rebase");
      if (!s.State("snapshot_cursor")) s.SetState("snapshot_cursor", page.cursor.ToString());
      if (page.estimate) s.SetState("snapshot_total", std::to_string(*page.estimate));
      const long long total = std::stoll(s.State("snapshot_total").value_or("-1"));
      Applier apply(s);
      apply.track_seen = rebase;
      done += ApplyTables(apply, page.tables);
      if (last) {
        if (rebase) PruneUnseen();
        s.SetState("cursor", *s.State("snapshot_cursor"));
        s.db->Exec(
            "DELETE FROM sync_state WHERE key IN ('snapshot_after', 'snapshot_cursor', "
            "'snapshot_mode', 'snapshot_total', 'snapshot_done')");
      } else {
        s.SetState("snapshot_after", *page.next);
        s.SetState("snapshot_done", std::to_string(already + done));
      }
      apply.needs_rebase = false;  // already in a snapshot: what it lacks, it brings
      SaveDeferred(apply);
      tx.Commit();
      report.snapshot_rows = done;
      FaultPoint("snapshot-applied");
      Progress("snapshot", already + done, total);
      if (last) return;
    }
  }

  // After a rebase snapshot: rows it did not bring were deleted while this
  // client was behind the horizon; those with pending mutations stay.
  void PruneUnseen() {
    const std::vector<const core::TableSpec*>& tables = core::MirroredSpecs();
    for (auto it = tables.rbegin(); it != tables.rend(); ++it) {  // children first
      const std::string& table = (*it)->name;
      std::string key;  // the row's RowKey() in SQL
      for (const std::string& k : (*it)->key) key += (key.empty() ? "t." : " || ':' || t.") + k;
      s.db->Exec("DELETE FROM " + table + " AS t WHERE NOT EXISTS (SELECT 1 FROM snapshot_seen x " +
                 "WHERE x.table_name = '" + table + "' AND x.row_id = " + key +
                 ") AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.table_name = '" + table +
                 "' AND o.row_id = " + key + ")");
    }
    s.db->Exec("DELETE FROM snapshot_seen");
  }

  // One-project snapshots for memberships gained after the cursor (and rows
  // that arrived before their parents).
  bool RunBackfill(const std::string& base) {
    json list = json::parse(State("backfill").value_or("[]"));
    if (list.empty()) return false;
    const std::string project = list.at(0).get<std::string>();
    const std::string after = State("backfill_after").value_or("");
    Reply r = Call(base, "GET",
                   "/api/sync/snapshot?project=" + project +
                       "&limit=" + std::to_string(options.snapshot_batch) +
                       (after.empty() ? "" : "&after=" + UrlEncode(after)));
    std::lock_guard<std::recursive_mutex> lock(s.mu);
    Transaction tx(*s.db);
    bool done = true;
    std::optional<core::SnapshotPage> page;
    if (r.status == 200) page = core::SnapshotPage::FromJson(std::move(r.body));
    if (page) {
      Applier apply(s);
      report.snapshot_rows += ApplyTables(apply, page->tables);
      done = !page->next;
      if (!done) s.SetState("backfill_after", *page->next);
      auto self = std::find(apply.backfill.begin(), apply.backfill.end(), project);
      if (done && self != apply.backfill.end()) {
        // The project's own snapshot still has a row whose parent it lacks:
        // fetching it again cannot help, so stop here rather than loop.
        apply.backfill.erase(self);
        s.options.logger->Log(LogLevel::kWarning, "sync",
                              "a project snapshot refers to rows it does not hold",
                              {{"project", project}});
      }
      SaveDeferredAfter(apply, project, done);
    } else if (r.status == 200 || (r.status != 404 && r.status != 422)) {
      Fail(r, "project snapshot refused");
    } else {
      SaveDeferredAfter(Applier(s), project, true);
    }
    tx.Commit();
    return true;
  }

  void SaveDeferredAfter(const Applier& apply, const std::string& project, bool finished) {
    if (finished) {
      json list = json::parse(s.State("backfill").value_or("[]"));
      json rest = json::array();
      bool dropped = false;
      for (const json& p : list) {
        if (!dropped && p == project) {
          dropped = true;
          continue;
        }
        rest.push_back(p);
      }
      s.SetState("backfill", rest.dump());
      s.db->Exec("DELETE FROM sync_state WHERE key = 'backfill_after'");
    }
    SaveDeferred(apply);
  }

  // Pulls until up to date; the first request may long-poll for `wait`.
  void Pull(std::chrono::seconds wait) {
    const std::string base = ServerUrl();
    long long done = 0;
    bool first = true;
    // Changes committed before this sync began but held back by the server's
    // horizon (an older transaction still open) are waited for, up to this
    // long: the sync pulls until its cursor reaches the newest change the
    // server had committed when first asked (`latest`), not later traffic.
    const auto patience = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    bool held = false;
    core::PullPosition target;
    for (;;) {
      if (State("snapshot_mode") || !State("cursor")) {
        if (!State("snapshot_mode")) {
          std::lock_guard<std::recursive_mutex> lock(s.mu);
          StartSnapshot("initial");
        }
        RunSnapshot(base);
        continue;
      }
      if (RunBackfill(base)) continue;
      const std::string cursor = *State("cursor");
      const std::chrono::seconds w = first ? wait : std::chrono::seconds(held ? 1 : 0);
      first = false;
      Reply r =
          Call(base, "GET",
               "/api/sync/pull?cursor=" + cursor + "&limit=" + std::to_string(options.pull_batch) +
                   (w.count() > 0 ? "&wait=" + std::to_string(w.count()) : "") +
                   (held ? "&until=" + target.ToString() : ""),
               nullptr, w);
      if (r.status == 410) {
        // Behind the horizon: rebase onto a fresh snapshot; the outbox stays.
        std::lock_guard<std::recursive_mutex> lock(s.mu);
        Transaction tx(*s.db);
        StartSnapshot("rebase");
        tx.Commit();
        report.rebased = true;
        s.options.logger->Log(LogLevel::kInfo, "sync",
                              "cursor behind the server's history horizon: rebasing onto a "
                              "fresh snapshot (pending changes are kept)");
        continue;
      }
      if (r.status != 200) Fail(r, "pull refused");
      std::optional<core::PullResponse> pulled = core::PullResponse::FromJson(std::move(r.body));
      if (!pulled) {
        throw Error(ErrorCode::kUnavailable, "the server sent a malformed pull response");
      }
      const std::vector<core::Change>& changes = pulled->changes;
      {
        std::lock_guard<std::recursive_mutex> lock(s.mu);
        Transaction tx(*s.db);
        Applier apply(s);
        for (const core::Change& c : changes) apply.Change(c);
        if (!pulled->cursor.IsBeginning()) s.SetState("cursor", pulled->cursor.ToString());
        SaveDeferred(apply);
        tx.Commit();
      }
      done += static_cast<long long>(changes.size());
      report.pulled += static_cast<long long>(changes.size());
      FaultPoint("pull-applied");
      Progress("pull", done);
      if (target.IsBeginning()) target = pulled->latest;
      held = PositionOf(State("cursor").value_or("")) < target &&
             std::chrono::steady_clock::now() < patience;
      if (!pulled->has_more && !held && !State("snapshot_mode") &&
          json::parse(State("backfill").value_or("[]")).empty()) {
        break;
      }
    }
    std::lock_guard<std::recursive_mutex> lock(s.mu);
    s.SetState("last_sync_at", Now());
  }

  void Begin() {
    report = SyncReport();
    bytes_received = 0;
    bytes_sent = 0;
  }
  const SyncReport& Finish() {
    report.cursor = State("cursor").value_or("");
    report.bytes_received = bytes_received;
    report.bytes_sent = bytes_sent;
    return report;
  }

  SyncReport Round(std::chrono::seconds wait) {
    Begin();
    Push();
    Pull(wait);
    return Finish();
  }

  // ------------------------------------------------------------ account

  json SignIn(const std::string& server_url, const std::string& path, const json& body) {
    // Signing in again as the same account (an expired token) keeps the
    // store; another account needs a logout first.
    const std::optional<std::string> signed_in = State("account_email");
    const bool again =
        signed_in && path == "/api/auth/login" && *signed_in == body.value("email", std::string());
    if (signed_in && !again) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "already signed in as " + *signed_in + "; run `vemakin logout` first");
    }
    std::string base = server_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  "the server URL must start with http:// or https://");
    }
    const Reply r = Call(base, "POST", path, &body, std::chrono::seconds(0), false);
    if (r.status != 200 && r.status != 201) {
      Fail(r, path == "/api/auth/register" ? "registration refused" : "sign-in refused");
    }
    const json user = r.body.at("user");
    if (again && (user.at("id") != s.owner_id || base != State("server_url"))) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "this store belongs to another account or server; run `vemakin logout` first");
    }
    Claim(base, user.at("id").get<std::string>(), user.at("email").get<std::string>(),
          r.body.at("token").get<std::string>());
    return user;
  }

  // Guest data becomes the account's: the owner columns follow the account
  // (row ids never change), and the outbox, which holds every guest write,
  // uploads them once at the next push.
  void Claim(const std::string& base, const std::string& user_id, const std::string& email,
             const std::string& new_token) {
    std::lock_guard<std::recursive_mutex> lock(s.mu);
    Transaction tx(*s.db);
    const std::string guest = s.owner_id;
    for (const char* table : {"projects", "project_members", "equipment"}) {
      s.db->Prepare(std::string("UPDATE ") + table + " SET user_id = ?1 WHERE user_id = ?2",
                    {Value::Text(user_id), Value::Text(guest)})
          .Run();
    }
    s.SetState("owner_id", user_id);
    s.SetState("account_email", email);
    s.SetState("server_url", base);
    s.SetState("token", new_token);
    tx.Commit();
    {
      std::lock_guard<std::mutex> token_lock(token_mu);
      token = new_token;
    }
    s.owner_id = user_id;
    if (s.options.path != ":memory:") {
      for (const char* suffix : {"", "-wal", "-shm"}) {
        std::error_code ec;  // the token is a secret: keep the files to their owner
        std::filesystem::permissions(
            s.options.path.string() + suffix,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
      }
    }
  }
};

// ------------------------------------------------------------------ SyncClient

SyncClient::SyncClient(Store& store, SyncClientOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(options))) {}
SyncClient::~SyncClient() = default;

void SyncClient::TestOnlySetTransport(std::unique_ptr<Transport> transport) {
  impl_->transport = std::move(transport);
}

json SyncClient::Register(const std::string& server_url, const std::string& email,
                          const std::string& password, const std::string& name) {
  const json user = impl_->SignIn(server_url, "/api/auth/register",
                                  {{"email", email}, {"password", password}, {"name", name}});
  Sync();
  return user;
}

json SyncClient::Login(const std::string& server_url, const std::string& email,
                       const std::string& password) {
  const json user =
      impl_->SignIn(server_url, "/api/auth/login", {{"email", email}, {"password", password}});
  Sync();
  return user;
}

void SyncClient::Logout(bool discard_pending) {
  const long long pending = impl_->store.Status().pending_mutations;
  if (pending > 0 && !discard_pending) {
    throw Error(ErrorCode::kFailedPrecondition,
                std::to_string(pending) +
                    " local change(s) are not on the server yet: run `vemakin sync` first, or "
                    "`vemakin logout --discard` to drop them");
  }
  if (std::optional<std::string> url = impl_->State("server_url")) {
    try {
      impl_->Call(*url, "POST", "/api/auth/logout");
    } catch (const Error&) {
      // Offline or already revoked: the local sign-out still happens.
    }
  }
  Store::Impl& s = impl_->s;
  std::lock_guard<std::recursive_mutex> lock(s.mu);
  Transaction tx(*s.db);
  const std::vector<const core::TableSpec*>& tables = core::MirroredSpecs();
  for (auto it = tables.rbegin(); it != tables.rend(); ++it) {  // children first
    s.db->Exec("DELETE FROM " + (*it)->name);
  }
  for (const char* t : {"outbox", "conflict_log", "snapshot_seen", "sync_state"}) {
    s.db->Exec(std::string("DELETE FROM ") + t);
  }
  s.StartGuest();
  tx.Commit();
}

const SyncReport& SyncClient::last_report() const { return impl_->report; }

SyncReport SyncClient::Sync() { return impl_->Round(std::chrono::seconds(0)); }

SyncReport SyncClient::PullOnly() {
  impl_->Begin();
  impl_->Pull(std::chrono::seconds(0));
  return impl_->Finish();
}

SyncReport SyncClient::PushOnly() {
  impl_->Begin();
  impl_->Push();
  return impl_->Finish();
}

SyncReport SyncClient::WatchRound(std::chrono::seconds wait) { return impl_->Round(wait); }

VerifyReport SyncClient::Verify() {
  impl_->ServerUrl();
  impl_->Begin();
  impl_->Pull(std::chrono::seconds(0));
  const Impl::Reply r = impl_->Call(*impl_->State("server_url"), "GET", "/api/sync/digest");
  std::optional<core::DigestResponse> digest;
  if (r.status == 200) digest = core::DigestResponse::FromJson(r.body);
  if (!digest) impl_->Fail(r, "digest refused");
  VerifyReport out;
  out.pending_mutations = impl_->store.Status().pending_mutations;
  out.tables = json::object();
  Store::Impl& s = impl_->s;
  std::lock_guard<std::recursive_mutex> lock(s.mu);
  for (const auto& [table, server] : digest->tables) {
    const core::TableSpec* spec = core::FindSpec(table);
    if (spec == nullptr) continue;
    core::TableDigest local;
    Query q =
        s.db->Prepare("SELECT " + core::ColumnList(*spec, "t") + " FROM " + spec->name + " t");
    while (q.Step()) local.Add(*spec, RowFrom(*spec, q));
    out.tables[table] = {{"local", local.ToJson()}, {"server", server}};
    if (local.ToJson() != server) out.mismatched.push_back(table);
  }
  out.equal = out.mismatched.empty();
  return out;
}

json SyncClient::AddMember(const std::string& project_id, const std::string& email,
                           const std::string& role) {
  const std::string base = impl_->ServerUrl();
  impl_->Begin();
  impl_->Push();
  const json body = {{"email", email}, {"role", role}};
  const Impl::Reply r =
      impl_->Call(base, "POST", "/api/projects/" + project_id + "/members", &body);
  if (r.status != 200 && r.status != 201) impl_->Fail(r, "member not added");
  impl_->Pull(std::chrono::seconds(0));
  return r.body;
}

std::vector<Conflict> SyncClient::Conflicts(long long limit) {
  Store::Impl& s = impl_->s;
  std::lock_guard<std::recursive_mutex> lock(s.mu);
  std::vector<Conflict> out;
  Query q = s.db->Prepare(
      "SELECT id, coalesce(mutation_id, ''), table_name, row_id, kind, reason, detail, "
      "created_at FROM conflict_log ORDER BY id LIMIT ?1",
      {Value::Int(limit)});
  while (q.Step()) {
    out.push_back({q.Int(0), std::string(*q.Text(1)), std::string(*q.Text(2)),
                   std::string(*q.Text(3)), std::string(*q.Text(4)), std::string(*q.Text(5)),
                   json::parse(*q.Text(6)), std::string(*q.Text(7))});
  }
  return out;
}

}  // namespace vemakin::client
