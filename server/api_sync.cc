// The sync routes (api_sync.h, docs/sync-protocol.md): pull with its long
// poll, push, snapshot and digest.
#include "server/api_sync.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/digest.h"
#include "core/json_codec.h"
#include "core/sync_protocol.h"
#include "server/api_resources.h"
#include "server/pull_sql.h"
#include "server/rows.h"
#include "server/sql_builder.h"
#include "server/writes.h"

namespace vemakin::server {

namespace {

constexpr long long kMaxWaitSeconds = 30;
constexpr long long kDigestBatch = 2000;
constexpr size_t kCarefulChunk = 48;

// A key value as a statement parameter (a UUID or text: its string).
std::string RawKey(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }
// While a commit is in flight below the horizon, a parked pull re-checks this
// often instead of waiting for a notification that may already have fired.
// It backs off: a transaction left open for minutes must not cost every
// parked watcher fifty pulls a second.
constexpr std::chrono::milliseconds kHorizonRecheck{20};
constexpr std::chrono::milliseconds kHorizonRecheckMax{1000};
// A parked pull watches at most this many of its projects on the bell (each
// one a scope the bell indexes); a pull of an account with more re-checks
// this often.
constexpr pqxx::result::size_type kMaxPullScopes = 1024;
constexpr std::chrono::milliseconds kUnwatchedRecheck{1000};

// Positions carry their database ("@<cluster>") only for clients that ask
// (`positions=2`) or already hold one: older clients cannot parse them.
bool TaggedPositions(const Ctx& ctx) {
  return ctx.Query("positions") == std::optional<std::string>("2");
}

// A position of the query string ("" or absent: the beginning), else 422.
core::PullPosition ParsePosition(const std::optional<std::string>& text) {
  if (!text) return core::PullPosition();
  const std::optional<core::PullPosition> p = core::PullPosition::Parse(*text);
  if (!p) throw HttpError::Field({"query", "cursor"}, "is not a sync cursor", "cursor");
  return *p;
}

// The position a snapshot taken from now on reflects: every change of a
// transaction below the current snapshot's xmin has committed (or aborted),
// so pulling from there gives everything a later read may miss.
core::PullPosition SnapshotStart(Session& s, const Statement& stmt) {
  return core::PullPosition::Below(s.Exec(stmt)[0][0].as<std::uint64_t>());
}

const char kXminSql[] = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text";

const char kMemberProjects[] = "(SELECT project_id FROM project_members WHERE user_id = $1::uuid)";

// The rows of `spec` (alias t) the user $1 may read, from the table's scope
// in the model; nullopt for a table sync never carries (accounts).
std::optional<std::string> ScopeWhere(const core::TableSpec& spec) {
  switch (spec.scope) {
    case core::Scope::kProject:
    case core::Scope::kMembership:
      return "t." + spec.scope_column + " IN " + kMemberProjects;
    case core::Scope::kOwner:
      return "t." + spec.scope_column + " = $1::uuid";
    case core::Scope::kGlobal:
      return std::string("$1::uuid IS NOT NULL");
    case core::Scope::kAccount:
      break;
  }
  return std::nullopt;
}

}  // namespace

SyncApi::SyncApi(ApiContext& api, CatalogApi& catalog,
                 std::function<HttpResponse(const HttpRequest&)> handle_again)
    : api_(api), catalog_(catalog), handle_again_(std::move(handle_again)) {}

// Changes after the cursor that this user may read, in the one total order.
// Only changes of transactions older than the oldest one still running are
// returned (see schema/postgres/0003_sync_tables.up.sql), so a slow writer's
// change is never skipped by a cursor that moved past a faster one.
//
// With ?wait=S (at most 30) and nothing to return, the request is parked
// without a worker or a connection until the change bell rings or S seconds
// pass, then runs again: the live channel of `vemakin sync --watch`.
HttpResponse SyncApi::Pull(Ctx& ctx) {
  const core::PullPosition from = ParsePosition(ctx.Query("cursor"));
  const long long limit = std::min<long long>(ParseCount(ctx, "limit", 1000, 1), 10000);
  const long long wait = std::min(ParseCount(ctx, "wait", 0, 0), kMaxWaitSeconds);
  // ?until=<position>: a long poll also ends once the cursor reaches it (a
  // sync waiting for changes committed before it began).
  std::optional<core::PullPosition> until;
  if (auto u = ctx.Query("until"); u && !u->empty()) until = ParsePosition(u);
  // ?upto=<position>: nothing after it, and the cursor stops there (`vemakin
  // verify` brings its mirror to exactly the digest's position).
  std::optional<core::PullPosition> upto;
  if (auto u = ctx.Query("upto"); u && !u->empty()) upto = ParsePosition(u);
  const auto now = std::chrono::steady_clock::now();
  const auto deadline = ctx.http.poll_deadline.time_since_epoch().count() != 0
                            ? ctx.http.poll_deadline
                            : now + std::chrono::seconds(wait);
  const std::uint64_t generation = api_.options().bell ? api_.options().bell->generation() : 0;
  // Changes exist that the horizon still holds back (their transaction, or an
  // older one anywhere in the cluster, is still open): a parked pull re-checks
  // soon, and the client is told ("pending").
  bool in_flight = false;
  bool reached = false;  // the cursor is at or past `until`
  size_t returned = 0;
  std::vector<std::string> scopes;  // what a parked pull waits for
  bool unwatched = false;           // some member projects are not among them
  // A pull that may park reads a state at least as new as every commit the
  // bell has rung for (read after `generation`): a replica that has not
  // replayed one would find nothing and park past its ring, and a woken one
  // would park again.
  const bool may_park = wait > 0 || ctx.http.poll_deadline.time_since_epoch().count() != 0;
  const std::uint64_t floor_lsn =
      may_park && api_.options().bell ? api_.options().bell->ring_lsn() : 0;
  HttpResponse response = api_.ReadSyncSnapshot(ctx, floor_lsn, [&](Session& s) {
    scopes.clear();  // this may run twice (a replica, then the primary)
    unwatched = false;
    const std::string& cluster = ClusterId(s);
    if (!from.cluster().empty() && from.cluster() != cluster) {
      throw HttpError(410, json{{"detail", "cursor belongs to another database; resync"}});
    }
    const pqxx::result h = s.Exec(api_.Stmt("SELECT txid::text, seq FROM sync_horizon"));
    const core::PullPosition horizon(h[0][0].as<std::uint64_t>(), h[0][1].as<std::uint64_t>());
    if (horizon.txid() != 0 && from < horizon) {
      throw HttpError(410, json{{"detail", "cursor is older than the change history; resync"},
                                {"horizon", std::to_string(horizon.txid()) + "." +
                                                std::to_string(horizon.seq())}});
    }
    // The changes after the cursor this user may read (server/pull_sql.h):
    // the cost follows the changes this user is behind on, never the size of
    // the log or other users' traffic.
    const pqxx::result r = s.Exec(
        api_.Stmt(PullChangesSql(upto.has_value())),
        upto ? Params{ctx.user_id, std::to_string(from.txid()), std::to_string(from.seq()),
                      std::to_string(limit + 1), std::to_string(api_.options().max_page_bytes),
                      std::to_string(upto->txid()), std::to_string(upto->seq())}
             : Params{ctx.user_id, std::to_string(from.txid()), std::to_string(from.seq()),
                      std::to_string(limit + 1), std::to_string(api_.options().max_page_bytes)});
    core::PullResponseWriter out;
    core::PullPosition position = from;
    // Rows: one with NULLs when there is no change, else one per change.
    const pqxx::result::size_type found = r[0][1].is_null() ? 0 : r.size();
    pqxx::result::size_type n =
        std::min<pqxx::result::size_type>(found, static_cast<pqxx::result::size_type>(limit));
    // Past the byte budget (never the first change): as estimated in SQL,
    // then exactly, by the text about to be sent.
    const auto budget = static_cast<std::size_t>(api_.options().max_page_bytes);
    std::size_t bytes = 0;
    for (pqxx::result::size_type i = 0; i < n; ++i) {
      if (!r[i][8].as<bool>() || (i > 0 && bytes >= budget)) {
        n = i;
        break;
      }
      bytes += r[i][6].size() + 64;
    }
    for (pqxx::result::size_type i = 0; i < n; ++i) {
      const pqxx::row row = r[i];
      out.AddChange(row[3].c_str(), row[4].c_str(),
                    row[5].is_null() || std::string_view(row[5].c_str()) != "delete"
                        ? core::ChangeOp::kUpsert
                        : core::ChangeOp::kDelete,
                    row[6].is_null() ? std::nullopt
                                     : std::optional<std::string_view>(
                                           std::string_view(row[6].c_str(), row[6].size())),
                    !row[7].is_null() && row[7].as<bool>());
      position = core::PullPosition(row[1].as<std::uint64_t>(), row[2].as<std::uint64_t>());
    }
    returned = n;
    if (found <= n) {
      // Everything of this user's below the horizon has been returned: the
      // cursor may skip to the horizon over other users' changes, so that a
      // quiet client's next pull (and the compaction horizon) need not care
      // about them.
      core::PullPosition skip = core::PullPosition::Below(r[0][0].as<std::uint64_t>());
      if (upto && *upto < skip) skip = *upto;
      if (position < skip) position = skip;
    }
    reached = until && !(position < *until);
    // The newest committed change (one entry at the end of the primary key):
    // a client that started a sync pulls until its cursor reaches it, so it
    // waits for changes committed before it asked, not for later traffic.
    const pqxx::result latest =
        s.Exec(api_.Stmt("SELECT txid::text || '.' || seq, "
                         "txid >= pg_snapshot_xmin(pg_current_snapshot()) "
                         "FROM sync_changes ORDER BY txid DESC, seq DESC LIMIT 1"));
    in_flight = found <= n && !latest.empty() && latest[0][1].as<bool>();
    const core::PullPosition newest =
        latest.empty()
            ? core::PullPosition()
            : core::PullPosition::Parse(latest[0][0].c_str()).value_or(core::PullPosition());
    if (n == 0 && !reached && api_.options().bell && now < deadline) {
      // About to park: the scopes whose changes should wake it (its own rows,
      // the catalog, each member project). Past kMaxPullScopes projects the
      // rest are not watched: such a pull re-checks every second instead
      // (never "wake on any change": other accounts' commits must not cost
      // it anything).
      const pqxx::result m =
          s.Exec(api_.Stmt("SELECT project_id::text FROM project_members WHERE user_id = $1::uuid "
                           "ORDER BY project_id LIMIT " +
                           std::to_string(kMaxPullScopes + 1)),
                 {ctx.user_id});
      scopes = {"u:" + ctx.user_id, "g"};
      for (pqxx::result::size_type i = 0; i < m.size() && i < kMaxPullScopes; ++i) {
        scopes.push_back(std::string("p:") + m[i][0].c_str());
      }
      unwatched = m.size() > kMaxPullScopes;
    }
    const std::string tag = TaggedPositions(ctx) || !from.cluster().empty() ? cluster : "";
    return TextResponse(
        200, out.Finish(position.WithCluster(tag), found > n, in_flight, newest.WithCluster(tag)));
  });
  api_.metrics().Count("vemakin_sync_changes_pulled_total", "", static_cast<double>(returned));
  if (returned > 0 || reached || !api_.options().bell || now >= deadline) return response;
  // Nothing yet: park until the bell rings (or the horizon may have moved),
  // within the caps on parked pulls.
  std::shared_ptr<ParkedSlot> slot = ClaimParking(ctx.user_id);
  if (!slot) {
    api_.metrics().Count("vemakin_sync_pulls_refused_total", "", 1);
    const bool mine = ParkedBy(ctx.user_id) >= api_.options().max_parked_pulls_per_user;
    HttpError e(mine ? 429 : 503, json{{"detail", mine ? "too many waiting pulls for this account"
                                                       : "too many waiting pulls; retry shortly"}});
    e.headers.emplace_back("Retry-After", "1");
    throw e;
  }
  api_.metrics().Count("vemakin_sync_pulls_parked_total", "", 1);
  auto request = std::make_shared<HttpRequest>(ctx.http);
  request->poll_deadline = deadline;
  if (in_flight) {
    request->horizon_recheck = request->horizon_recheck.count() == 0
                                   ? kHorizonRecheck
                                   : std::min(request->horizon_recheck * 2, kHorizonRecheckMax);
  }
  auto wake_at = in_flight ? std::min(deadline, now + request->horizon_recheck) : deadline;
  if (unwatched) {
    wake_at = std::min(wake_at, now + kUnwatchedRecheck);
    api_.metrics().Count("vemakin_sync_pulls_unwatched_total", "", 1);
  }
  ChangeBell* bell = api_.options().bell;
  auto again = handle_again_;
  HttpResponse parked;
  parked.defer = [bell, generation, wake_at, request, again, scopes = std::move(scopes),
                  slot](HttpResponse::Resume resume) mutable {
    // The slot is held until the bell lets go of the wake callback.
    bell->Wait(generation, wake_at, std::move(scopes),
               [request, again, resume, slot = std::move(slot)]() mutable {
                 slot.reset();  // before the pull runs again (and may park again)
                 request->received_at = std::chrono::steady_clock::now();
                 resume([request, again] { return again(*request); });
               });
  };
  return parked;
}

SyncApi::ParkedSlot::~ParkedSlot() {
  std::lock_guard<std::mutex> lock(owner->parked_mu_);
  auto it = owner->parked_.find(user_id);
  if (it != owner->parked_.end() && --it->second <= 0) owner->parked_.erase(it);
  --owner->parked_total_;
}

std::shared_ptr<SyncApi::ParkedSlot> SyncApi::ClaimParking(const std::string& user_id) {
  std::lock_guard<std::mutex> lock(parked_mu_);
  if (parked_total_ >= api_.options().max_parked_pulls) return nullptr;
  auto it = parked_.find(user_id);
  if (it != parked_.end() && it->second >= api_.options().max_parked_pulls_per_user) {
    return nullptr;
  }
  if (api_.options().max_parked_pulls_per_user <= 0) return nullptr;
  ++parked_[user_id];
  ++parked_total_;
  auto slot = std::make_shared<ParkedSlot>();
  slot->owner = this;
  slot->user_id = user_id;
  return slot;
}

int SyncApi::ParkedBy(const std::string& user_id) {
  std::lock_guard<std::mutex> lock(parked_mu_);
  auto it = parked_.find(user_id);
  return it == parked_.end() ? 0 : it->second;
}

std::optional<std::string> SyncApi::VisibleRowText(Session& s, const std::string& table,
                                                   const std::string& id,
                                                   const std::string& user_id) {
  const core::TableSpec* spec = core::FindSpec(table);
  if (spec == nullptr || !spec->UserWritable()) return std::nullopt;
  const std::string where = *ScopeWhere(*spec);
  const pqxx::result r = s.Exec(api_.Stmt("SELECT " + ColumnList(*spec, "t") + " FROM " + table +
                                          " t WHERE t.id = $2::uuid AND " + where),
                                {user_id, id});
  if (r.empty()) return std::nullopt;
  return RowText(*spec, r[0], 0);
}

namespace {

using core::Mutation;
using core::MutationOp;
using core::PushResult;

}  // namespace

// Applies pushed mutations in order, each at most once, in ONE transaction
// (one commit, one WAL flush, for up to 1,000 mutations), with the records in
// sync_mutations committing together with the effects. A repeat (a retry
// after a lost response) returns the recorded outcome without applying
// anything. A mutation the server refuses (validation, role, unknown row, id
// clash) is recorded as rejected with the reason and the row's current state
// as this user may see it (`current`, null when none), so the client can
// restore it; it never blocks the ones after it. Records are keyed by (user,
// client, mutation): another account sending the same ids neither sees nor
// collides with them (schema/postgres/0008).
//
// Refusals are found before a mutation writes anything (server/writes.h), so
// the fast mode needs no savepoints. If a statement fails anyway (a
// constraint only the database knows), Session::Attempt reports it, the fast
// unit of work ends without committing, and the push is redone in careful
// mode, each mutation under its own savepoint, committed a chunk at a time.
// Savepoints are not the default: each one that writes takes a subtransaction
// id, and a transaction with more than 64 of them slows every snapshot in the
// cluster. A transient failure fails the whole push, which the client
// retries whole; in fast mode nothing of it was committed, in careful mode
// the chunks committed before it replay as recorded.
HttpResponse SyncApi::Push(Ctx& ctx) {
  std::vector<core::FieldError> problems;
  const core::PushRequest request = core::PushRequest::Decode(api_.ParseBody(ctx), &problems);
  if (!problems.empty()) throw HttpError::Fields(problems);
  const std::string& client_id = request.client_id;
  const std::vector<Mutation>& mutations = request.mutations;
  api_.db().Read([&](Session& s) { api_.Authenticate(s, ctx); });
  // The generic resource of a table; nullptr for projects (their own rules).
  auto resource_for = [](const std::string& table) -> const core::TableSpec* {
    const core::TableSpec* spec = core::FindSpec(table);
    return spec != nullptr && spec->entity != core::Entity::kProject ? spec : nullptr;
  };
  // One mutation through the write rules of its REST route.
  auto apply = [&](Session& s, const Mutation& m) -> WriteOutcome {
    const core::TableSpec* spec = resource_for(m.table);
    if (spec == nullptr) return api_.writes().Project(s, ctx.user_id, m.op, m.id, m.fields);
    switch (m.op) {
      case MutationOp::kCreate: {
        json fields = m.fields;
        fields["id"] = m.id;
        return api_.writes().Create(s, *spec, ctx.user_id, fields);
      }
      case MutationOp::kUpdate:
        return api_.writes().Patch(s, *spec, ctx.user_id, m.id, m.fields);
      case MutationOp::kDelete: {
        WriteOutcome out = api_.writes().Delete(s, *spec, ctx.user_id, m.id);
        // Already gone: deleting twice is deleting once.
        if (out.rejected() && out.code == ErrorCode::kNotFound) out = WriteOutcome::Applied();
        return out;
      }
    }
    return WriteOutcome::Rejected(ErrorCode::kInvalidArgument, "unknown operation");
  };
  std::string ids = "{";
  for (const Mutation& m : mutations) ids += (ids.size() > 1 ? "," : "") + m.mutation_id;
  ids += "}";
  std::vector<PushResult> results;
  bool needs_savepoints = false;  // set by a fast-mode unit of work that was spoiled
  // One unit of work over mutations [first, last): their results are
  // appended to `results` once it commits.
  auto run = [&](bool careful, size_t first, size_t last) {
    const size_t kept = results.size();
    api_.db().Write([&](Session& s) {
      // The token again, in each unit: a push under way when its account
      // signed out everywhere (or changed its password) stops at the next
      // commit with 401 instead of writing on.
      api_.Authenticate(s, ctx);
      results.resize(kept);  // the unit of work may be retried from scratch
      needs_savepoints = false;
      std::map<std::string, std::string> roles;
      s.role_memo = &roles;
      std::map<std::string, std::string> seen;
      // One primary-key probe per mutation id. Not `mutation_id = ANY($2)`:
      // under a generic plan PostgreSQL may scan the client's every record
      // and test each against the whole array, so that a push cost grew
      // with the pushes before it (uuid_eq was a fifth of the machine's
      // CPU at 40,000 pushed mutations).
      for (const pqxx::row& row : s.Exec(
               api_.Stmt("SELECT r.mutation_id::text, r.response::text FROM unnest($2::uuid[]) "
                         "AS x(id) CROSS JOIN LATERAL (SELECT m.mutation_id, m.response FROM "
                         "sync_mutations m WHERE m.user_id = $3::uuid AND m.client_id = $1::uuid "
                         "AND m.mutation_id = x.id LIMIT 1) r"),
               {client_id, ids, ctx.user_id})) {
        seen[row[0].c_str()] = row[1].c_str();
      }
      // The records, inserted together at the end.
      std::string rec_ids = "{", rec_outcomes = "{";
      std::string rec_responses = "[";
      // The same id twice in one push applies once: the second replays the
      // first's result (its place in `results`).
      std::map<std::string, size_t> recorded;
      auto record = [&](const Mutation& m, PushResult result) {
        rec_ids += (rec_ids.size() > 1 ? "," : "") + m.mutation_id;
        rec_outcomes += std::string(rec_outcomes.size() > 1 ? "," : "") +
                        (result.outcome == PushResult::Outcome::kApplied ? "applied" : "rejected");
        recorded[m.mutation_id] = results.size();
        if (rec_responses.size() > 1) rec_responses += ",";
        result.AppendText(&rec_responses);
        results.push_back(std::move(result));
      };
      auto known = [&](const std::string& mutation_id) {
        return seen.count(mutation_id) != 0 || recorded.count(mutation_id) != 0;
      };
      // An outcome as the push reports it; a refusal carries the row as this
      // user may see it now.
      auto result_of = [&](const Mutation& m, const WriteOutcome& outcome) {
        if (!outcome.rejected()) return PushResult::Applied(m.mutation_id);
        const std::optional<std::string> current = VisibleRowText(s, m.table, m.id, ctx.user_id);
        return PushResult::Rejected(m.mutation_id, outcome.code, outcome.detail,
                                    current ? json::parse(*current) : json());
      };
      // A step that failed in fast mode: stop here; run() redoes the push
      // with savepoints (this unit of work does not commit).
      auto spoil = [&] {
        needs_savepoints = true;
        s.role_memo = nullptr;
      };
      for (size_t i = first; i < last;) {
        const Mutation& m = mutations[i];
        if (known(m.mutation_id)) {
          auto it = recorded.find(m.mutation_id);
          std::optional<PushResult> result =
              it != recorded.end() ? std::optional<PushResult>(results.at(it->second))
                                   : PushResult::FromJson(json::parse(seen.at(m.mutation_id)));
          if (!result) throw Error(ErrorCode::kInternal, "unreadable mutation record");
          result->replayed = true;
          if (result->outcome == PushResult::Outcome::kRejected) {
            // The row as it is now, not as it was when first refused: the
            // client restores its mirror from it.
            const std::optional<std::string> current =
                VisibleRowText(s, m.table, m.id, ctx.user_id);
            result->current = current ? json::parse(*current) : json();
          }
          results.push_back(std::move(*result));
          ++i;
          continue;
        }
        // A run of new creates of one resource: one INSERT (fast mode).
        const core::TableSpec* run_spec = resource_for(m.table);
        size_t end = i;
        std::set<std::string> run_ids;
        while (!careful && run_spec != nullptr && end < last &&
               mutations[end].op == MutationOp::kCreate && mutations[end].table == m.table &&
               !known(mutations[end].mutation_id) &&
               run_ids.insert(mutations[end].mutation_id).second &&
               run_ids.insert("row:" + mutations[end].id).second) {
          ++end;
        }
        if (end - i >= 2) {
          std::vector<json> bodies;
          for (size_t k = i; k < end; ++k) {
            json fields = mutations[k].fields;
            fields["id"] = mutations[k].id;
            bodies.push_back(std::move(fields));
          }
          std::vector<WriteOutcome> outcomes;
          if (s.Attempt(
                  [&] { outcomes = api_.writes().CreateMany(s, *run_spec, ctx.user_id, bodies); },
                  false)) {
            return spoil();
          }
          for (size_t k = i; k < end; ++k)
            record(mutations[k], result_of(mutations[k], outcomes[k - i]));
          i = end;
          continue;
        }
        ++i;
        WriteOutcome outcome;
        if (std::optional<Error> failed = s.Attempt([&] { outcome = apply(s, m); }, careful)) {
          if (!careful) return spoil();
          if (HttpStatusFor(failed->code()) >= 500) {
            throw Error(ErrorCode::kUnavailable, "push interrupted; retry it");
          }
          outcome = WriteOutcome::Rejected(failed->code(), failed->what());
        }
        record(m, result_of(m, outcome));
      }
      const std::optional<Error> failed = s.Attempt(
          [&] {
            s.Exec(
                api_.Stmt(
                    "INSERT INTO sync_mutations (client_id, mutation_id, user_id, outcome, "
                    "response) SELECT $1::uuid, m, $2::uuid, o, r FROM unnest($3::uuid[], "
                    "$4::text[], ARRAY(SELECT jsonb_array_elements($5::jsonb))) AS x(m, o, r)"),
                {client_id, ctx.user_id, rec_ids + "}", rec_outcomes + "}", rec_responses + "]"});
          },
          false);
      if (failed && !careful) return spoil();
      if (failed) throw *failed;
      s.role_memo = nullptr;
    });
  };
  run(false, 0, mutations.size());
  if (needs_savepoints) {
    // Careful mode commits every kCarefulChunk mutations, so no transaction
    // holds more savepoints than PostgreSQL caches per backend (64): each
    // mutation is recorded with its effect, so a push cut short after some
    // chunks and retried replays those and goes on.
    api_.metrics().Count("vemakin_sync_push_careful_total", "", 1);
    results.clear();
    for (size_t first = 0; first < mutations.size(); first += kCarefulChunk) {
      run(true, first, std::min(mutations.size(), first + kCarefulChunk));
    }
  }
  double applied = 0, refused = 0, replayed = 0;
  core::PushResponse response;
  for (const PushResult& r : results) {
    if (r.replayed) {
      ++replayed;
    } else if (r.outcome == PushResult::Outcome::kApplied) {
      ++applied;
    } else {
      ++refused;
    }
  }
  api_.metrics().Count("vemakin_sync_mutations_total", "outcome=\"applied\"", applied);
  api_.metrics().Count("vemakin_sync_mutations_total", "outcome=\"rejected\"", refused);
  api_.metrics().Count("vemakin_sync_mutations_total", "outcome=\"replayed\"", replayed);
  response.results = std::move(results);
  return TextResponse(200, response.ToText());
}

// ---------------------------------------------------------------- snapshot

namespace {

using Stage = core::SnapshotPosition::Stage;

core::SnapshotPosition At(Stage stage, std::string project = "",
                          const core::TableSpec* table = nullptr) {
  return {stage, std::move(project), table, ""};
}

// The first list table of a project (kMembers done) or of the user's own
// rows, after `table` (nullptr: from the start); nullptr when none is left.
const core::TableSpec* NextList(const core::TableSpec* table, bool in_project) {
  bool passed = table == nullptr;
  for (const core::TableSpec* t : core::SnapshotListSpecs()) {
    if (passed && t->InProject() == in_project) return t;
    if (t == table) passed = true;
  }
  return nullptr;
}

}  // namespace

// Every row the user may read, page by page in an order that keeps foreign
// keys valid (catalog, then per project: the project, its members, then its
// child tables in the model's order; then the user's own tables), each list
// on its own index. The first page's `cursor` is where the client pulls from
// once the snapshot is done (docs/sync-protocol.md explains why that misses
// nothing). ?project=ID gives one project (a membership gained after the
// client's cursor).
HttpResponse SyncApi::Snapshot(Ctx& ctx) {
  const long long limit = std::min<long long>(ParseCount(ctx, "limit", 5000, 1), 10000);
  std::optional<std::string> only;
  if (auto p = ctx.Query("project")) only = RequireUuid(*p, {"query", "project"});
  core::SnapshotPosition pos;
  if (auto after = ctx.Query("after"); after && !after->empty()) {
    std::optional<core::SnapshotPosition> decoded = core::SnapshotPosition::Decode(*after);
    if (!decoded) {
      throw HttpError::Field({"query", "after"}, "is not a snapshot position", "cursor");
    }
    pos = std::move(*decoded);
    if (only && pos.project != *only) {
      throw HttpError::Field({"query", "after"}, "belongs to another snapshot", "cursor");
    }
  } else if (only) {
    pos = At(Stage::kOneProject, *only);
  }
  const bool first_page = !ctx.Query("after") || ctx.Query("after")->empty();
  const core::SnapshotPosition initial = pos;
  const bool replicas = api_.options().replicas && !api_.options().replicas->empty();
  long long page_rows = 0;  // counted once, after the read (it may run twice)
  HttpResponse response = api_.ReadSyncSnapshot(ctx, initial.min_lsn, [&](Session& s) {
    pos = initial;  // this may run twice (a replica, then the primary)
    // Where the next pages must be read at or past: the first page's state
    // (later pages need no more than that).
    std::uint64_t next_lsn = initial.min_lsn;
    if (replicas && first_page) {
      next_lsn = std::max(
          next_lsn, core::ParseLsn(s.Exec(api_.Stmt(kStateLsnSql))[0][0].c_str()).value_or(0));
    }
    const core::PullPosition start =
        SnapshotStart(s, api_.Stmt(kXminSql)).WithCluster(TaggedPositions(ctx) ? ClusterId(s) : "");
    core::SnapshotPageWriter page;
    // The catalog as this snapshot sees it (a change just before it is in the
    // page), read at most once per page.
    std::shared_ptr<const CatalogRows> catalog_rows;
    auto catalog = [&]() -> const CatalogRows& {
      if (!catalog_rows) catalog_rows = catalog_.Rows(s);
      return *catalog_rows;
    };
    const core::TableSpec& ps = core::Spec(core::Entity::kProject);
    const core::TableSpec& ms = core::Spec(core::Entity::kProjectMember);
    auto enter_project = [&](const pqxx::result& r) {
      pos = At(Stage::kMembers, r[0][0].c_str());
      page.AddRows(ps.name, "[" + RowText(ps, r[0], 0) + "]", 1);
    };
    // After the last list of a project: the next project, or the end of a
    // one-project snapshot; after the last list of the user's own: done.
    auto after_lists = [&](bool in_project) {
      if (!in_project) return At(Stage::kDone);
      return only ? At(Stage::kDone) : At(Stage::kNextProject, pos.project);
    };
    const auto budget = static_cast<std::size_t>(api_.options().max_page_bytes);
    while (page.rows() < limit && page.bytes() < budget && pos.stage != Stage::kDone) {
      switch (pos.stage) {
        case Stage::kCatalog: {
          const CatalogRows& rows = catalog();
          page.AddRows("gear_categories", rows.categories.dump(),
                       static_cast<long long>(rows.categories.size()));
          page.AddRows("gear_brands", rows.brands.dump(),
                       static_cast<long long>(rows.brands.size()));
          page.AddRows("gear_catalog", rows.items.dump(),
                       static_cast<long long>(rows.items.size()));
          pos = At(Stage::kNextProject);
          break;
        }
        case Stage::kNextProject: {
          const pqxx::result r =
              s.Exec(api_.Stmt("SELECT " + ColumnList(ps, "t") + " FROM projects t WHERE t.id IN " +
                               kMemberProjects + " AND t.id > $2::uuid ORDER BY t.id LIMIT 1"),
                     {ctx.user_id,
                      pos.project.empty() ? "00000000-0000-0000-0000-000000000000" : pos.project});
          if (r.empty()) {
            const core::TableSpec* own = NextList(nullptr, false);
            pos = own ? At(Stage::kTable, "", own) : At(Stage::kDone);
          } else {
            enter_project(r);
          }
          break;
        }
        case Stage::kOneProject: {
          const pqxx::result r =
              s.Exec(api_.Stmt("SELECT " + ColumnList(ps, "t") + " FROM projects t WHERE t.id IN " +
                               kMemberProjects + " AND t.id = $2::uuid"),
                     {ctx.user_id, pos.project});
          if (r.empty()) throw HttpError::Detail(404, "project not found");
          enter_project(r);
          break;
        }
        case Stage::kMembers: {
          const pqxx::result r =
              s.Exec(api_.Stmt("SELECT " + ColumnList(ms, "t") +
                               " FROM project_members t WHERE t.project_id = $1::uuid AND "
                               "t.project_id IN (SELECT project_id FROM project_members WHERE "
                               "user_id = $2::uuid)"),
                     {pos.project, ctx.user_id});
          if (r.empty()) throw HttpError::Detail(404, "project not found");  // not a member
          std::string out = "[";
          for (pqxx::result::size_type i = 0; i < r.size(); ++i) {
            out += (i ? "," : "") + RowText(ms, r[i], 0);
          }
          page.AddRows(ms.name, out + "]", static_cast<long long>(r.size()));
          const core::TableSpec* first = NextList(nullptr, true);
          pos = first ? At(Stage::kTable, pos.project, first) : after_lists(true);
          break;
        }
        case Stage::kTable: {
          const bool in_project = pos.table->InProject();
          Page list;
          list.limit = limit - page.rows();
          list.max_bytes = static_cast<long long>(budget - page.bytes());
          if (!pos.cursor.empty()) list.cursor = pos.cursor;
          bool found = false;
          const std::string scope = in_project ? pos.project : ctx.user_id;
          const PageText p =
              ResourcePage(api_, s, *pos.table, scope, ctx.user_id, {}, list, &found);
          if (in_project && !found) throw HttpError::Detail(404, "project not found");
          page.AddRows(pos.table->name, p.items, p.count);
          if (p.has_more && p.next_cursor) {
            pos.cursor = *p.next_cursor;
          } else if (const core::TableSpec* next = NextList(pos.table, in_project)) {
            pos = At(Stage::kTable, pos.project, next);
          } else {
            pos = after_lists(in_project);
          }
          break;
        }
        case Stage::kDone:
          break;
      }
    }
    page_rows = page.rows();
    std::optional<long long> estimate;
    if (first_page) {
      // How many rows the whole snapshot holds, from the list counters (for
      // progress bars; the catalog and memberships make it approximate).
      const pqxx::result e = s.Exec(
          api_.Stmt("SELECT (SELECT coalesce(sum(shots + notes + tasks + 1), 0) FROM project_stats "
                    "WHERE project_id IN " +
                    std::string(kMemberProjects) +
                    ") + (SELECT coalesce(sum(equipment), 0) FROM user_stats WHERE user_id = "
                    "$1::uuid)"),
          {ctx.user_id});
      const CatalogRows& rows = catalog();
      estimate =
          e[0][0].as<long long>() +
          static_cast<long long>(rows.categories.size() + rows.brands.size() + rows.items.size());
    }
    pos.min_lsn = next_lsn;
    return TextResponse(200, page.Finish(start, estimate, pos));
  });
  api_.metrics().Count("vemakin_sync_snapshot_rows_total", "", static_cast<double>(page_rows));
  return response;
}

// ---------------------------------------------------------------- digest

// The order-independent digest (core/digest.h) of every synced table in this
// user's scope, read in one snapshot, with the cursor it reflects.
HttpResponse SyncApi::Digest(Ctx& ctx) {
  return api_.ReadAuthedSnapshot(ctx, [&](Session& s) {
    json tables = json::object();
    for (const core::TableSpec* table : core::MirroredSpecs()) {
      const core::TableSpec& spec = *table;
      const std::string where = *ScopeWhere(spec);
      core::TableDigest digest;
      // In key order, a bounded batch at a time: memory stays flat however
      // large the scope (the snapshot keeps every batch consistent).
      std::string key = "(";
      std::string after = "(";
      std::string order;
      for (size_t i = 0; i < spec.key.size(); ++i) {
        key += (i ? ", t." : "t.") + spec.key[i];
        after += (i ? ", " : "") + Placeholder(*spec.Find(spec.key[i]), static_cast<int>(i) + 4);
        order += (i ? ", t." : "t.") + spec.key[i];
      }
      key += ")";
      after += ")";
      // A batch also ends at the page byte budget (at least one row), so
      // big rows cannot make one batch hold a scope's worth of text.
      // The LIMIT applies first (an index range scan in key order), then the
      // sizes over those rows only: a window beside the LIMIT would read the
      // whole rest of the scope for every batch.
      auto in_order = [&](const char* alias) {
        std::string out;
        for (size_t i = 0; i < spec.key.size(); ++i) {
          out += (i ? ", " : "") + std::string(alias) + "." + spec.key[i];
        }
        return out;
      };
      auto batch = [&](const std::string& after_key) {
        return "SELECT " + ColumnList(spec, "q") +
               ", q.batch_rows FROM (SELECT l.*, coalesce(sum(" + RowBytesSql(spec, "l") +
               ") OVER (ORDER BY " + in_order("l") +
               " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS batch_before,"
               " count(*) OVER () AS batch_rows FROM (SELECT t.* FROM " +
               spec.name + " t WHERE " + where + after_key + " ORDER BY " + order +
               " LIMIT $2::bigint) l) q WHERE q.batch_before < $3::bigint ORDER BY " +
               in_order("q");
      };
      const Statement first = api_.Stmt(batch(""));
      const Statement next = api_.Stmt(batch(" AND " + key + " > " + after));
      Params params = {ctx.user_id, std::to_string(kDigestBatch),
                       std::to_string(api_.options().max_page_bytes)};
      for (bool more = true; more;) {
        const pqxx::result r = s.Exec(params.size() == 3 ? first : next, params);
        for (const pqxx::row& row : r) digest.Add(spec, json::parse(RowText(spec, row, 0)));
        // Cut by the row limit, or by the budget (fewer rows than were read).
        more = !r.empty() && (r.size() == static_cast<pqxx::result::size_type>(kDigestBatch) ||
                              r[0][static_cast<int>(spec.fields.size())].as<long long>() >
                                  static_cast<long long>(r.size()));
        if (more) {
          params.resize(3);
          const json last = RowJson(spec, r[r.size() - 1], 0);
          for (const std::string& k : spec.key) params.push_back(RawKey(last.at(k)));
        }
      }
      tables[spec.name] = digest.ToJson();
    }
    const bool exact =
        s.Exec(api_.Stmt("SELECT pg_snapshot_xmin(pg_current_snapshot()) = "
                         "pg_snapshot_xmax(pg_current_snapshot())"))[0][0]
            .as<bool>();
    return JsonResponse(200,
                        json{{"cursor", SnapshotStart(s, api_.Stmt(kXminSql))
                                            .WithCluster(TaggedPositions(ctx) ? ClusterId(s) : "")
                                            .ToString()},
                             {"exact", exact},
                             {"tables", tables}});
  });
}

// ---------------------------------------------------------------- identity

namespace {

// FNV-1a, 64 bits: a name, not a secret.
std::string Fnv1aHex(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<size_t>(i)] = kHex[h & 15];
  return out;
}

}  // namespace

const std::string& SyncApi::ClusterId(Session& s) {
  std::lock_guard<std::mutex> lock(cluster_mu_);
  if (cluster_id_) return *cluster_id_;
  // pg_control_system() is for superusers and pg_monitor: without it the
  // database and schema still tell two deployments apart, though not a dump
  // restored under the same names.
  std::string system;
  if (s.Exec(api_.Stmt("SELECT has_function_privilege('pg_control_system()', 'EXECUTE')"))[0][0]
          .as<bool>()) {
    system =
        s.Exec(api_.Stmt("SELECT system_identifier::text FROM pg_control_system()"))[0][0].c_str();
  }
  const pqxx::result r = s.Exec(api_.Stmt("SELECT current_database(), current_schema()"));
  cluster_id_ = Fnv1aHex(system + "/" + r[0][0].c_str() + "/" + r[0][1].c_str());
  return *cluster_id_;
}

// ---------------------------------------------------------------- routes

void SyncApi::RegisterRoutes(Router& router) {
  router.Add("POST", "/api/sync/push", this, &SyncApi::Push,
             "Apply a client's mutations, each at most once (docs/sync-protocol.md)");
  router.Add("GET", "/api/sync/pull", this, &SyncApi::Pull,
             "Changes after a cursor, in the one total order; ?wait=S long-polls "
             "(docs/sync-protocol.md)");
  router.Add("GET", "/api/sync/snapshot", this, &SyncApi::Snapshot,
             "Every row the user can read, in pages, with the cursor to pull from after");
  router.Add("GET", "/api/sync/digest", this, &SyncApi::Digest,
             "Order-independent digest of each synced table in the user's scope");
}

}  // namespace vemakin::server
