// The sync client's session: push, pull, snapshots, backfill, rebase and
// claim (docs/sync-protocol.md). The mirror invariant and the outbox entry
// lifecycle are the Applier's (client/applier.h); requests go through a
// Transport (client/transport.h); the session's state is a SyncState record
// (client/sync_state.h) read and written in the transaction of each step.
//
// Sync session (every state survives a crash: each arrow commits with the
// batch that causes it, in Transition()):
//
//   NO CURSOR ──Pull: StartSnapshot(kInitial)──► SNAPSHOT(mode, after, cursor)
//        ▲                                          │ RunSnapshot: a page per transaction
//        │ 410 (behind the horizon):                ▼ last page: cursor = snapshot.cursor
//        │ StartSnapshot(kRebase)                 CURSOR ──Pull: a batch per transaction──► CURSOR'
//        └──────────────────────────────────────────┘  │ a child without its parent
//                                                      ▼ (Applier::backfill, SaveDeferred)
//                                                   BACKFILL(backfill list, backfill_after)
//                                                      RunBackfill: one-project snapshot pages,
//                                                      then back to CURSOR
//
//   Invariants: SNAPSHOT holds `snapshot` (mode, the next page's position,
//   the cursor pulls start from once done); CURSOR holds `cursor` and no
//   snapshot; BACKFILL is CURSOR with a non-empty backfill list, served
//   before the next pull. Push runs in any state (ApplyPushResults).
//   Claim (Register/Login) moves a guest store's owner columns to the account.
#include "vemakin/client/sync.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "client/applier.h"
#include "client/store_impl.h"
#include "client/sync_state.h"
#include "client/transport.h"
#include "core/digest.h"
#include "core/json_codec.h"
#include "core/sync_protocol.h"

namespace vemakin::client {

namespace {

// Asks for positions that carry their database ("@<cluster>"); servers
// give them only to clients that ask, since older clients cannot read them.
constexpr char kPositions[] = "&positions=2";

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
  return {{"equal", equal},   {"mismatched", mismatched},
          {"tables", tables}, {"pending_mutations", pending_mutations},
          {"cursor", cursor}, {"server_cursor", server_cursor}};
}

// A bigger SQLite page cache for the life of a snapshot load.
class SnapshotCache {
 public:
  explicit SnapshotCache(Store::Impl& s) : s_(s) {
    const std::unique_lock<std::mutex> lock = s_.Lock();
    s_.db->Exec("PRAGMA cache_size = -32768");
    // Checkpoints every 10,000 WAL pages (40 MB) instead of 1,000: each page
    // of random ids dirties index pages all over the file, and a checkpoint
    // after every few snapshot pages copied the same pages back again and
    // again (+15-20 % on a 100,000-row load, docs/PERFORMANCE.md).
    Query q = s_.db->Prepare("PRAGMA wal_autocheckpoint");
    if (q.Step()) checkpoint_pages_ = q.Int(0);
    s_.db->Exec("PRAGMA wal_autocheckpoint = 10000");
  }
  ~SnapshotCache() {
    const std::unique_lock<std::mutex> lock = s_.Lock();
    try {
      s_.db->Exec("PRAGMA cache_size = -16384");
      s_.db->Exec("PRAGMA wal_autocheckpoint = " + std::to_string(checkpoint_pages_));
    } catch (const std::exception&) {
      // The connection is gone; nothing to restore.
    }
  }
  SnapshotCache(const SnapshotCache&) = delete;
  SnapshotCache& operator=(const SnapshotCache&) = delete;

 private:
  Store::Impl& s_;
  long long checkpoint_pages_ = 1000;  // the setting before the snapshot
};

// ------------------------------------------------------------------ Impl

struct SyncClient::Impl {
  Store& store;
  Store::Impl& s;
  SyncClientOptions options;
  SyncReport report;
  std::atomic<long long> bytes_received{0}, bytes_sent{0};
  // Lock order: token_mu is never taken while the store's lock is held.
  std::mutex token_mu;
  // The sign-in token and the server that issued it, read together from the
  // store at a round's first request (Begin() forgets them: another
  // SyncClient of the store may have signed out and in elsewhere meanwhile);
  // a token is only ever sent to its own server.
  std::optional<std::string> token;
  std::optional<std::string> token_server;
  // Requests of one SyncClient are sequential; the snapshot prefetch thread
  // and the applying thread take turns inside the transport.
  std::unique_ptr<Transport> transport;
  // Watch(): `watch_stop` asks it to return; `watching` while it runs.
  std::mutex watch_mu;
  std::condition_variable watch_cv;
  bool watch_stop = false;
  bool watching = false;

  struct Reply {
    int status = 0;
    json body;
  };
  // A snapshot page as fetched, decoded when the answer was 200 and well formed.
  struct SnapshotReply {
    Reply reply;
    std::optional<core::SnapshotPage> page;
  };

  Impl(Store& st, SyncClientOptions o) : store(st), s(*st.impl_), options(std::move(o)) {
    if (options.ca_file.empty()) options.ca_file = store.Setting("ca-file").value_or("");
    transport = NewHttpTransport(options.timeout, options.ca_file);
  }

  // The session state as committed (takes the store's lock).
  SyncState LoadState() {
    const std::unique_lock<std::mutex> lock = s.Lock();
    return SyncState::Load(*s.db);
  }

  // The account the current round runs for (Begin()); a step finding the
  // store signed out (or signed in as another account) meanwhile refuses to
  // write, so nothing of the old account reaches the new store.
  std::string round_owner;

  // Runs `step` on the session state inside one write transaction and
  // commits the state it leaves with whatever else the step wrote.
  template <class F>
  SyncState Transition(F&& step) {
    const std::unique_lock<std::mutex> lock = s.Lock();
    if (!round_owner.empty() && s.owner_id != round_owner) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "the store was signed out while this sync ran; nothing of it was kept");
    }
    Transaction tx(*s.db);
    SyncState state = SyncState::Load(*s.db);
    step(state);
    state.Save(*s.db);
    tx.Commit();
    return state;
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
    const SyncState state = LoadState();
    if (!state.SignedIn()) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "not signed in: run `vemakin register` or `vemakin login` first");
    }
    return *state.server_url;
  }

  // One HTTP exchange; transport failures and 5xx are kUnavailable, 401 is
  // kUnauthenticated, other statuses are returned with their JSON body.
  // Holds no store lock while the request is in flight.
  Reply Call(const std::string& base, const std::string& method, const std::string& path,
             const json* body = nullptr, std::chrono::seconds extra_wait = std::chrono::seconds(0),
             bool authed = true) {
    return CallText(base, method, path, body ? body->dump() : "{}", extra_wait, authed);
  }
  // Call with the body as JSON text already.
  Reply CallText(const std::string& base, const std::string& method, const std::string& path,
                 std::string body, std::chrono::seconds extra_wait = std::chrono::seconds(0),
                 bool authed = true) {
    TransportRequest request;
    request.base = base;
    request.method = method;
    request.path = path;
    if (authed) {
      std::lock_guard<std::mutex> lock(token_mu);  // not the store's lock: pages are fetched
      if (!token) {                                // while another is being applied
        const SyncState state = LoadState();
        token = state.token;
        token_server = state.server_url;
      }
      if (token_server == base) request.bearer = token;
    }
    request.body = std::move(body);
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
    std::string reason =
        r.body.is_object() ? ReasonOf(r.body.value("detail", json())) : "HTTP error";
    if (r.status == 429 && r.body.is_object() && r.body.value("retry_after", json()).is_number()) {
      reason += " (in " + std::to_string(r.body.at("retry_after").get<long long>()) + " s)";
    }
    // A refused sign-in (401) stays an argument error: the CLI's exit codes
    // for wrong credentials predate the shared mapping.
    const ErrorCode code = ErrorCodeForHttpStatus(r.status);
    const bool mapped = code == ErrorCode::kNotFound || code == ErrorCode::kPermissionDenied ||
                        code == ErrorCode::kAlreadyExists || code == ErrorCode::kUnavailable;
    throw Error(mapped && r.status != 410 ? code : ErrorCode::kInvalidArgument,
                what + ": " + reason);
  }

  // ------------------------------------------------------------ push

  // Requests go one after another (the server applies them in order); the
  // results of one are applied to the store while the next is in flight.
  // That is safe because applying results only deletes the answered
  // entries and undoes rejected ones' local effects: the entries after
  // them, which the next request carries, are read from after the last
  // one sent and are not changed by it. A failure while results are being
  // applied leaves their entries in the outbox, and the next push replays
  // them (the server recorded each one).
  void Push() {
    const std::string base = ServerUrl();
    long long done = 0;
    // The server takes at most kMaxMutations per push.
    const long long batch = std::clamp<long long>(
        options.push_batch, 1, static_cast<long long>(core::PushRequest::kMaxMutations));
    std::size_t batch_bytes = options.push_batch_bytes;
    long long sent = 0;           // the last entry answered
    std::future<void> applying;   // the results of the request before
    auto applied = [&applying] {  // rethrows what applying them threw
      if (applying.valid()) applying.get();
    };
    for (;;) {
      std::vector<OutboxRow> entries;
      {
        const std::unique_lock<std::mutex> lock = s.Lock();
        entries = s.OutboxRows(batch, batch_bytes, sent);
      }
      if (entries.empty()) break;
      // The body from the fields' stored text: no JSON tree on this side.
      core::PushRequestWriter writer(s.client_id);
      for (const OutboxRow& e : entries) {
        const std::optional<core::MutationOp> op = core::ParseMutationOp(e.op);
        if (!op) throw Error(ErrorCode::kDataLoss, "an outbox entry has an unknown op: " + e.op);
        writer.AddMutation(e.mutation_id, e.table, *op, e.row_id, e.fields_json);
      }
      std::string body = writer.Finish();
      const std::size_t body_bytes = body.size();
      Reply r;
      try {
        r = CallText(base, "POST", "/api/sync/push", std::move(body));
      } catch (const Error&) {
        if (applying.valid()) applying.wait();  // its own failure is replayed later
        const std::unique_lock<std::mutex> lock = s.Lock();
        s.db->Prepare("UPDATE outbox SET attempts = attempts + 1 WHERE seq <= ?1",
                      {Value::Int(entries.back().seq)})
            .Run();
        throw;
      }
      if (r.status == 413 && entries.size() > 1) {
        // The server (or a proxy before it) takes smaller bodies than this
        // client sends: the same mutations again (nothing was applied), in
        // requests of half this one's size, for the rest of this push.
        batch_bytes = std::max<std::size_t>(1, body_bytes / 2);
        s.options.logger->Log(LogLevel::kInfo, "sync",
                              "push too large for the server; sending smaller requests",
                              {{"bytes", static_cast<long long>(batch_bytes)}});
        continue;
      }
      applied();
      if (r.status == 413) {
        // One mutation over the cap: a vemakin server's cap holds the largest
        // mutation the model allows, so a proxy in front takes less.
        throw Error(ErrorCode::kFailedPrecondition,
                    "push refused: one pending change is larger than the server accepts (HTTP "
                    "413); raise the body size limit of the proxy in front of the server");
      }
      std::optional<core::PushResponse> response;
      if (r.status == 200) response = core::PushResponse::FromJson(r.body);
      if (!response) Fail(r, "push refused");
      FaultPoint("push-answered");
      sent = entries.back().seq;
      done += static_cast<long long>(entries.size());
      applying = std::async(std::launch::async, [this, entries = std::move(entries),
                                                 results = std::move(response->results)] {
        ApplyPushResults(entries, results);
      });
      Progress("push", done);
    }
    applied();
  }

  // PENDING → gone: applied entries leave the outbox; rejected ones leave it
  // for the conflict log, their local effect undone (see client/applier.h).
  void ApplyPushResults(const std::vector<OutboxRow>& entries,
                        const std::vector<core::PushResult>& results) {
    std::map<std::string, const OutboxRow*> by_id;
    for (const OutboxRow& e : entries) by_id[e.mutation_id] = &e;
    // Every entry applied (the usual answer): the entries are consecutive
    // in the outbox's order, and a later write only ever gets a larger seq,
    // so their range holds them and nothing else.
    bool all_applied = results.size() == entries.size();
    for (size_t i = 0; all_applied && i < results.size(); ++i) {
      all_applied = results[i].mutation_id == entries[i].mutation_id &&
                    results[i].outcome == core::PushResult::Outcome::kApplied;
    }
    Transition([&](SyncState& state) {
      if (all_applied) {
        s.db->Prepare("DELETE FROM outbox WHERE seq BETWEEN ?1 AND ?2",
                      {Value::Int(entries.front().seq), Value::Int(entries.back().seq)})
            .Run();
        report.pushed += static_cast<long long>(entries.size());
        return;
      }
      std::optional<Applier> applier;  // built only when a rejection needs undoing
      for (const core::PushResult& result : results) {
        auto it = by_id.find(result.mutation_id);
        if (it == by_id.end()) continue;
        const OutboxRow& e = *it->second;
        s.db->Prepare("DELETE FROM outbox WHERE seq = ?1", {Value::Int(e.seq)}).Run();
        if (result.outcome == core::PushResult::Outcome::kApplied) {
          ++report.pushed;
          continue;
        }
        ++report.rejected;
        LogConflict(e, result);
        // Undo its local effect: the row as the server has it (or no row),
        // with the mutations still pending on top.
        const core::TableSpec* spec = core::FindSpec(e.table);
        if (spec == nullptr || !spec->Mirrored()) continue;
        if (!applier) applier.emplace(s);
        if (result.current.is_object()) {
          applier->Upsert(*spec, result.current, false);
          // A refused delete had cascaded locally (a project's rows, a
          // shot's note links set null): the project comes back whole.
          if (e.op == "delete" && spec->scope == core::Scope::kProject) {
            const json& project =
                spec->InProject() ? result.current.value("project_id", json()) : json(e.row_id);
            if (project.is_string()) applier->LoadProjectWhole(project.get<std::string>());
          }
        } else {
          applier->Remove(*spec, e.row_id);
          applier->Reapply(*spec, e.row_id);
        }
      }
      if (applier) SaveDeferred(state, *applier);
    });
  }

  void LogConflict(const OutboxRow& e, const core::PushResult& result) {
    const int status = HttpStatusFor(result.code);
    s.options.logger->Log(LogLevel::kInfo, "sync", "the server rejected a change",
                          {{"table", e.table}, {"id", e.row_id}, {"op", e.op}, {"status", status}});
    std::string kind = "rejected";
    if (result.code == ErrorCode::kNotFound && e.op == "update") kind = "deleted";
    if (result.code == ErrorCode::kNotFound && e.op == "create") kind = "orphaned";
    const json detail = {{"http_status", status},
                         {"op", e.op},
                         {"fields", json::parse(e.fields_json)},
                         {"server_detail", result.detail}};
    s.db->Prepare(
            "INSERT INTO conflict_log (mutation_id, table_name, row_id, kind, reason, detail, "
            "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            {Value::Text(e.mutation_id), Value::Text(e.table), Value::Text(e.row_id),
             Value::Text(kind), Value::Text(ReasonOf(result.detail)), Value::Text(detail.dump()),
             Value::Text(Now())})
        .Run();
  }

  // ------------------------------------------------------------ pull

  // What an applied batch asked for: projects to load whole (BACKFILL), or a
  // rebase snapshot when it referred to catalog rows this mirror lacks.
  void SaveDeferred(SyncState& state, const Applier& apply) {
    for (const std::string& p : apply.backfill) state.AddBackfill(p);
    if (apply.needs_rebase && !state.snapshot) StartSnapshot(state, SnapshotState::Mode::kRebase);
  }

  // → SNAPSHOT: from its first page, with no rows seen yet.
  void StartSnapshot(SyncState& state, SnapshotState::Mode mode) {
    state.StartSnapshot(mode);
    s.db->Exec("DELETE FROM snapshot_seen");
  }

  // SNAPSHOT → CURSOR: loads (or resumes) a whole snapshot, a page per
  // transaction with its position; ends with the cursor set. The next page
  // is fetched (and decompressed and parsed) while this one is applied.
  void RunSnapshot(const std::string& base) {
    auto fetch = [this, base](const std::string& after) {
      return std::async(std::launch::async, [this, base, after] {
        const std::string path =
            "/api/sync/snapshot?limit=" + std::to_string(options.snapshot_batch) +
            (after.empty() ? "" : "&after=" + UrlEncode(after)) + kPositions;
        Reply r = Call(base, "GET", path);
        SnapshotReply out;  // decoded on this thread too, while a page is applied
        if (r.status == 200) out.page = core::SnapshotPage::FromJson(std::move(r.body));
        out.reply = std::move(r);
        return out;
      });
    };
    const SyncState start = LoadState();
    if (!start.snapshot) return;
    long long done = 0;
    const long long already = start.snapshot->done;  // resumed
    std::future<SnapshotReply> next = fetch(start.snapshot->after.value_or(""));
    // A large cache while the whole set arrives: random ids touch every page
    // of every index (LESSONS.md); back to the normal size at the end.
    SnapshotCache cache(s);
    // Each applied page is freed on another thread: its thousands of JSON
    // trees took the apply thread (the load's bottleneck) a few ms a page.
    std::future<void> freeing;
    for (;;) {
      SnapshotReply r = next.get();
      if (!r.page && r.reply.status == 404 && ++snapshot_restarts <= 3) {
        // The page's position names a project this user can no longer read
        // (removed, or the project deleted, while the snapshot was loading):
        // SNAPSHOT → SNAPSHOT (rebase) from its first page. A rebase prunes
        // what the new walk does not bring, so the lost project's rows
        // applied by the first walk leave too (their tombstones are before
        // the new cursor).
        Transition([&](SyncState& st) {
          if (st.snapshot) StartSnapshot(st, SnapshotState::Mode::kRebase);
        });
        s.options.logger->Log(
            LogLevel::kInfo, "sync",
            "a project left this user's scope during the snapshot; restarting it");
        return;
      }
      if (!r.page) Fail(r.reply, "snapshot refused");
      const core::SnapshotPage& page = *r.page;
      const bool last = !page.next;
      if (!last) next = fetch(*page.next);
      long long total = -1;
      bool finished_elsewhere = false;
      Transition([&](SyncState& state) {
        if (!state.snapshot) {  // another runner of this store finished it
          finished_elsewhere = true;
          return;
        }
        SnapshotState& snap = *state.snapshot;
        const bool rebase = snap.mode == SnapshotState::Mode::kRebase;
        if (!snap.cursor) snap.cursor = page.cursor.ToString();
        if (page.estimate) snap.total = *page.estimate;
        total = snap.total;
        Applier apply(s);
        apply.track_seen = rebase;
        done += apply.ApplyTables(page.tables);
        if (last) {
          if (rebase) PruneUnseen();
          state.cursor = snap.cursor;
          state.snapshot.reset();
        } else {
          snap.after = *page.next;
          snap.done = already + done;
        }
        apply.needs_rebase = false;  // already in a snapshot: what it lacks, it brings
        SaveDeferred(state, apply);
      });
      if (finished_elsewhere) return;
      report.snapshot_rows = done;
      FaultPoint("snapshot-applied");
      Progress("snapshot", already + done, total);
      if (freeing.valid()) freeing.get();
      freeing = std::async(std::launch::async,
                           [applied = std::move(r)]() mutable { applied = SnapshotReply(); });
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

  // BACKFILL: one page of a one-project snapshot for the first project of
  // the list (memberships gained after the cursor, rows that arrived before
  // their parents); false when the list is empty.
  bool RunBackfill(const std::string& base) {
    const SyncState start = LoadState();
    if (start.backfill.empty()) return false;
    const std::string project = start.backfill.front();
    const std::string after = start.backfill_after.value_or("");
    Reply r = Call(base, "GET",
                   "/api/sync/snapshot?project=" + project +
                       "&limit=" + std::to_string(options.snapshot_batch) +
                       (after.empty() ? "" : "&after=" + UrlEncode(after)) + kPositions);
    std::optional<core::SnapshotPage> page;
    if (r.status == 200) page = core::SnapshotPage::FromJson(std::move(r.body));
    if (!page && (r.status == 200 || (r.status != 404 && r.status != 422))) {
      Fail(r, "project snapshot refused");
    }
    Transition([&](SyncState& state) {
      if (!page) return FinishBackfill(state, project);  // gone, or no longer ours
      Applier apply(s);
      report.snapshot_rows += apply.ApplyTables(page->tables);
      if (page->next) {
        // Unless another runner of this store moved on to another project.
        if (!state.backfill.empty() && state.backfill.front() == project) {
          state.backfill_after = *page->next;
        }
      } else {
        auto self = std::find(apply.backfill.begin(), apply.backfill.end(), project);
        if (self != apply.backfill.end()) {
          // The project's own snapshot still has a row whose parent it lacks:
          // fetching it again cannot help, so stop here rather than loop.
          apply.backfill.erase(self);
          s.options.logger->Log(LogLevel::kWarning, "sync",
                                "a project snapshot refers to rows it does not hold",
                                {{"project", project}});
        }
        FinishBackfill(state, project);
      }
      SaveDeferred(state, apply);
    });
    return true;
  }

  void FinishBackfill(SyncState& state, const std::string& project) {
    auto it = std::find(state.backfill.begin(), state.backfill.end(), project);
    if (it != state.backfill.end()) state.backfill.erase(it);
    state.backfill_after.reset();
  }

  // CURSOR → CURSOR': pulls until up to date, a batch per transaction with
  // the cursor it reached; the first request may long-poll for `wait`.
  void Pull(std::chrono::seconds wait, std::optional<core::PullPosition> upto = std::nullopt) {
    const std::string base = ServerUrl();
    long long done = 0;
    bool first = true;
    // Changes committed before this sync began but held back by the server's
    // horizon (an older transaction still open) are waited for, up to this
    // long: the sync pulls until its cursor reaches the newest change the
    // server had committed when first asked (`latest`), not later traffic.
    const auto patience = std::chrono::steady_clock::now() + options.horizon_patience;
    bool held = false;
    core::PullPosition target;
    for (;;) {
      const SyncState state = LoadState();
      if (state.snapshot || !state.cursor) {
        if (!state.snapshot) {  // NO CURSOR → SNAPSHOT
          Transition([&](SyncState& st) {
            if (!st.snapshot) StartSnapshot(st, SnapshotState::Mode::kInitial);
          });
        }
        RunSnapshot(base);
        continue;
      }
      if (RunBackfill(base)) continue;
      const std::chrono::seconds w = first ? wait : std::chrono::seconds(held ? 1 : 0);
      first = false;
      Reply r = Call(base, "GET",
                     "/api/sync/pull?cursor=" + UrlEncode(*state.cursor) +
                         "&limit=" + std::to_string(options.pull_batch) +
                         (w.count() > 0 ? "&wait=" + std::to_string(w.count()) : "") +
                         (held ? "&until=" + UrlEncode(target.ToString()) : "") +
                         (upto ? "&upto=" + UrlEncode(upto->ToString()) : "") + kPositions,
                     nullptr, w);
      if (r.status == 410) {
        // CURSOR → SNAPSHOT (rebase): behind the horizon; the outbox stays.
        Transition([&](SyncState& st) {
          if (!st.snapshot) StartSnapshot(st, SnapshotState::Mode::kRebase);  // else: under way
        });
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
      const SyncState after = Transition([&](SyncState& st) {
        Applier apply(s);
        for (const core::Change& c : changes) apply.Change(c);
        if (!pulled->cursor.IsBeginning()) st.cursor = pulled->cursor.ToString();
        SaveDeferred(st, apply);
      });
      done += static_cast<long long>(changes.size());
      report.pulled += static_cast<long long>(changes.size());
      FaultPoint("pull-applied");
      Progress("pull", done);
      if (target.IsBeginning()) target = pulled->latest;
      const core::PullPosition reached = PositionOf(after.cursor.value_or(""));
      const bool behind = !upto && reached < target && pulled->pending;
      if (behind && !held) {
        s.options.logger->Log(LogLevel::kInfo, "sync",
                              "waiting on the server: changes committed before this sync are held "
                              "back by a transaction still open on its database");
        Progress("wait", done);
      }
      if (behind && std::chrono::steady_clock::now() >= patience) {
        throw Error(ErrorCode::kUnavailable,
                    "not up to date: the server holds changes back behind a transaction still "
                    "open on its database; what arrived is kept, sync again shortly");
      }
      held = !upto && reached < target && std::chrono::steady_clock::now() < patience;
      if (!pulled->has_more && !held && !after.snapshot && after.backfill.empty()) break;
      if (upto && !(reached < *upto) && !after.snapshot && after.backfill.empty()) break;
    }
    Transition([](SyncState& st) { st.last_sync_at = Now(); });
  }

  int snapshot_restarts = 0;  // in this round (a bound: a server that keeps refusing is an error)

  // The next request reads the token again (with its server) from the store.
  void ForgetToken() {
    std::lock_guard<std::mutex> lock(token_mu);
    token.reset();
    token_server.reset();
  }

  void Begin() {
    snapshot_restarts = 0;
    ForgetToken();
    {
      const std::unique_lock<std::mutex> lock = s.Lock();
      round_owner = s.owner_id;
    }
    report = SyncReport();
    bytes_received = 0;
    bytes_sent = 0;
  }
  const SyncReport& Finish() {
    report.cursor = LoadState().cursor.value_or("");
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

  // This mirror's digests against the server's `digest`.
  VerifyReport CompareDigest(const core::DigestResponse& digest) {
    VerifyReport out;
    out.pending_mutations = store.Status().pending_mutations;
    out.server_cursor = digest.cursor.ToString();
    out.cursor = LoadState().cursor.value_or("");
    out.tables = json::object();
    const std::unique_lock<std::mutex> lock = s.Lock();
    for (const auto& [table, server] : digest.tables) {
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

  // ------------------------------------------------------------ account

  json SignIn(const std::string& server_url, const std::string& path, const json& body) {
    // Signing in again as the same account (an expired token) keeps the
    // store; another account needs a logout first.
    const SyncState state = LoadState();
    const std::optional<std::string>& signed_in = state.account_email;
    const bool again =
        signed_in && path == "/api/auth/login" && *signed_in == body.value("email", std::string());
    if (signed_in && !again) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "already signed in as " + *signed_in + "; run `vemakin logout` first");
    }
    std::string base = server_url;
    // No URL given: the server this store is signed in to (a sign-in again),
    // else the one remembered (`vemakin config`).
    if (base.empty() && state.server_url) base = *state.server_url;
    if (base.empty()) {
      base = store.Setting("server").value_or("");
      if (base.empty()) {
        throw Error(ErrorCode::kInvalidArgument,
                    "no server given and none remembered: give its URL, or set one with "
                    "`vemakin config set server URL`");
      }
    }
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  "the server URL must start with http:// or https://");
    }
    KeepPrivate();  // a store that cannot hold a secret is refused before signing in
    const Reply r = Call(base, "POST", path, &body, std::chrono::seconds(0), false);
    if (r.status != 200 && r.status != 201) {
      Fail(r, path == "/api/auth/register" ? "registration refused" : "sign-in refused");
    }
    const json user = r.body.at("user");
    if (again && (user.at("id") != s.owner_id || base != state.server_url)) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "this store belongs to another account or server; run `vemakin logout` first");
    }
    Claim(base, user.at("id").get<std::string>(), user.at("email").get<std::string>(),
          r.body.at("token").get<std::string>());
    return user;
  }

  // Guest data becomes the account's: the owner columns (every mirrored
  // `user_id`) follow the account (row ids never change), and the outbox,
  // which holds every guest write, uploads them once at the next push.
  void Claim(const std::string& base, const std::string& user_id, const std::string& email,
             const std::string& new_token) {
    KeepPrivate();  // before the token is written, never after
    {
      // Not Transition(): the in-memory owner changes with the commit, under
      // the same lock, so no write of another thread sees the old owner
      // after its rows were moved.
      const std::unique_lock<std::mutex> lock = s.Lock();
      Transaction tx(*s.db);
      SyncState state = SyncState::Load(*s.db);
      const std::string guest = s.owner_id;
      for (const core::TableSpec* spec : core::MirroredSpecs()) {
        if (spec->Find("user_id") == nullptr) continue;
        s.db->Prepare("UPDATE " + spec->name + " SET user_id = ?1 WHERE user_id = ?2",
                      {Value::Text(user_id), Value::Text(guest)})
            .Run();
      }
      s.SetState("owner_id", user_id);
      s.SetConfig("server", base);  // remembered for the next sign-in (`vemakin config`)
      state.account_email = email;
      state.server_url = base;
      state.token = new_token;
      state.Save(*s.db);
      tx.Commit();
      s.owner_id = user_id;
    }
    {
      std::lock_guard<std::mutex> token_lock(token_mu);
      token = new_token;
      token_server = base;
    }
  }

  // The token is a secret: the store's files (a store made by an older
  // client may be world-readable; new ones are created 0600) are narrowed
  // to their owner before it is written, and a file that stays readable by
  // others (a filesystem without permissions) refuses it.
  void KeepPrivate() {
    const std::string path = s.options.path.native();
    if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0) return;
    namespace fs = std::filesystem;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const fs::path file = path + suffix;
      std::error_code ec;
      if (!fs::exists(file, ec)) continue;
      fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write, ec);
      const fs::perms now = fs::status(file, ec).permissions();
      if (ec || (now & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none) {
        throw Error(ErrorCode::kFailedPrecondition,
                    file.string() +
                        " cannot be made private to its owner; the sign-in token "
                        "was not stored");
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

void SyncClient::Logout(bool discard_pending, bool everywhere) {
  impl_->ForgetToken();  // another SyncClient of the store may have signed in again
  const long long pending = impl_->store.Status().pending_mutations;
  if (pending > 0 && !discard_pending) {
    throw Error(ErrorCode::kFailedPrecondition,
                std::to_string(pending) +
                    " local change(s) are not on the server yet: run `vemakin sync` first, or "
                    "`vemakin logout --discard` to drop them");
  }
  if (everywhere) {
    const Impl::Reply r = impl_->Call(impl_->ServerUrl(), "POST", "/api/auth/logout-all");
    if (r.status != 200) impl_->Fail(r, "not signed out everywhere");
  } else if (std::optional<std::string> url = impl_->LoadState().server_url) {
    try {
      impl_->Call(*url, "POST", "/api/auth/logout");
    } catch (const Error&) {
      // Offline or already revoked: the local sign-out still happens.
    }
  }
  Store::Impl& s = impl_->s;
  const std::unique_lock<std::mutex> lock = s.Lock();
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

void SyncClient::Watch(std::chrono::seconds wait,
                       const std::function<bool(const SyncReport&)>& on_change,
                       const std::function<void(const Error&, std::chrono::seconds)>& on_retry) {
  Impl& i = *impl_;
  auto stopped = [&i] {
    std::lock_guard<std::mutex> lock(i.watch_mu);
    return i.watch_stop;
  };
  i.transport->PrepareCancel();
  {
    std::lock_guard<std::mutex> lock(i.watch_mu);
    i.watching = true;
  }
  struct Leave {
    Impl& i;
    ~Leave() {
      std::lock_guard<std::mutex> lock(i.watch_mu);
      i.watching = false;
      i.watch_stop = false;
      i.transport->Resume();
    }
  } leave{i};
  std::chrono::seconds backoff{1};
  while (!stopped()) {
    try {
      const SyncReport r = i.Round(wait);
      backoff = std::chrono::seconds(1);
      const bool changed = r.pushed || r.rejected || r.pulled || r.snapshot_rows;
      if (changed && on_change && !on_change(r)) return;
    } catch (const Error& e) {
      if (stopped()) return;
      if (e.code() != ErrorCode::kUnavailable) throw;
      if (on_retry) on_retry(e, backoff);
      std::unique_lock<std::mutex> lock(i.watch_mu);
      if (i.watch_cv.wait_for(lock, backoff, [&i] { return i.watch_stop; })) return;
      backoff = std::min(backoff * 2, std::chrono::seconds(30));
    }
  }
}

void SyncClient::StopWatch() {
  std::lock_guard<std::mutex> lock(impl_->watch_mu);
  impl_->watch_stop = true;
  impl_->watch_cv.notify_all();
  if (impl_->watching) impl_->transport->Cancel();
}

VerifyReport SyncClient::Verify() {
  impl_->ServerUrl();
  impl_->Begin();
  impl_->Pull(std::chrono::seconds(0));
  // The server's digest is of one snapshot, at its position; the mirror is
  // brought to exactly that position before comparing, so traffic on a busy
  // server never reads as a mismatch. A digest taken while a transaction was
  // in progress (not `exact`) may hold a later commit beyond its position:
  // a mismatch against it is compared again at a newer digest, with a short
  // backoff, up to ten times. A mismatch against an exact digest is real.
  VerifyReport out;
  for (int attempt = 0; attempt < 10; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
    const Impl::Reply r =
        impl_->Call(impl_->ServerUrl(), "GET", std::string("/api/sync/digest?") + (kPositions + 1));
    std::optional<core::DigestResponse> digest;
    if (r.status == 200) digest = core::DigestResponse::FromJson(r.body);
    if (!digest) impl_->Fail(r, "digest refused");
    impl_->Pull(std::chrono::seconds(0), digest->cursor);
    out = impl_->CompareDigest(*digest);
    if (out.equal || digest->exact) break;
  }
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

long long SyncClient::ChangePassword(const std::string& current_password,
                                     const std::string& new_password) {
  impl_->ForgetToken();
  const json body = {{"current_password", current_password}, {"new_password", new_password}};
  const Impl::Reply r = impl_->Call(impl_->ServerUrl(), "POST", "/api/users/me/password", &body);
  if (r.status != 200) impl_->Fail(r, "password not changed");
  return r.body.value("revoked_tokens", 0LL);
}

std::vector<Conflict> SyncClient::Conflicts(long long limit) {
  Store::Impl& s = impl_->s;
  const std::unique_lock<std::mutex> lock = s.Lock();
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
