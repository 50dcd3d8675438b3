// The sync routes (docs/sync-protocol.md): pull (with long poll), push,
// snapshot and digest.
#include <algorithm>
#include <map>
#include <set>

#include "core/digest.h"
#include "core/json_codec.h"
#include "server/api_internal.h"

namespace vemakin::server {

namespace {

constexpr long long kMaxWaitSeconds = 30;
// While a commit is in flight below the horizon, a parked pull re-checks this
// often instead of waiting for a notification that may already have fired.
constexpr std::chrono::milliseconds kHorizonRecheck{20};

// A pull cursor is "<txid>.<seq>", the position of the last change returned
// in the (txid, seq) order; "" or absent means the beginning.
std::pair<std::string, std::string> ParsePullCursor(const std::optional<std::string>& cursor) {
  if (!cursor || cursor->empty()) return {"0", "0"};
  const size_t dot = cursor->find('.');
  const std::string txid = cursor->substr(0, dot);
  const std::string seq = dot == std::string::npos ? "" : cursor->substr(dot + 1);
  auto digits = [](const std::string& v) {
    return !v.empty() && v.size() <= 19 && v.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(txid) || !digits(seq) || std::stoull(seq) > 9223372036854775807ULL) {
    throw HttpError::Field({"query", "cursor"}, "is not a sync cursor", "cursor");
  }
  return {txid, seq};
}

// (a.txid, a.seq) < (b.txid, b.seq) for decimal strings without leading zeros.
bool PositionBefore(const std::pair<std::string, std::string>& a,
                    const std::pair<std::string, std::string>& b) {
  auto less = [](const std::string& x, const std::string& y) {
    return x.size() != y.size() ? x.size() < y.size() : x < y;
  };
  if (a.first != b.first) return less(a.first, b.first);
  return less(a.second, b.second);
}

// The cursor a snapshot taken from now on reflects: every change of a
// transaction below the current snapshot's xmin has committed (or aborted),
// so pulling from (xmin - 1, max) gives everything a later read may miss.
std::string SnapshotCursor(Session& s, const Statement& stmt) {
  const unsigned long long xmin = s.Exec(stmt)[0][0].as<unsigned long long>();
  return std::to_string(xmin - 1) + ".9223372036854775807";
}

const char kXminSql[] = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text";

const char kMemberProjects[] = "(SELECT project_id FROM project_members WHERE user_id = $1::uuid)";

}  // namespace

// Changes after the cursor that this user may read, in the one total order.
// Only changes of transactions older than the oldest one still running are
// returned (see schema/postgres/0003_sync_tables.up.sql), so a slow writer's
// change is never skipped by a cursor that moved past a faster one.
//
// With ?wait=S (at most 30) and nothing to return, the request is parked
// without a worker or a connection until the change bell rings or S seconds
// pass, then runs again: the live channel of `vemakin sync --watch`.
HttpResponse Api::Impl::SyncPull(Ctx& ctx) {
  const auto [txid, seq] = ParsePullCursor(ctx.Query("cursor"));
  const long long limit = std::min<long long>(ParseCount(ctx, "limit", 1000, 1), 10000);
  const long long wait = std::min(ParseCount(ctx, "wait", 0, 0), kMaxWaitSeconds);
  // ?until=<position>: a long poll also ends once the cursor reaches it (a
  // sync waiting for changes committed before it began).
  std::optional<std::pair<std::string, std::string>> until;
  if (auto u = ctx.Query("until"); u && !u->empty()) until = ParsePullCursor(u);
  const auto now = std::chrono::steady_clock::now();
  const auto deadline = ctx.http.poll_deadline.time_since_epoch().count() != 0
                            ? ctx.http.poll_deadline
                            : now + std::chrono::seconds(wait);
  const std::uint64_t generation = options.bell ? options.bell->generation() : 0;
  // Changes exist that the horizon still holds back (their transaction, or an
  // older one anywhere in the cluster, is still open): a parked pull re-checks
  // soon, and the client is told ("pending").
  bool in_flight = false;
  bool reached = false;  // the cursor is at or past `until`
  size_t returned = 0;
  HttpResponse response = ReadAuthed(ctx, [&](Session& s) {
    const pqxx::result h = s.Exec(Stmt("SELECT txid::text, seq FROM sync_horizon"));
    const std::pair<std::string, std::string> horizon{h[0][0].c_str(), h[0][1].c_str()};
    if (horizon.first != "0" && PositionBefore({txid, seq}, horizon)) {
      throw HttpError(410, json{{"detail", "cursor is older than the change history; resync"},
                                {"horizon", horizon.first + "." + horizon.second}});
    }
    // One index range scan per scope (each member project, the user's own
    // rows, the global catalog), each from the cursor and at most limit + 1
    // long, merged: the cost follows the changes this user is behind on,
    // never the size of the log or other users' traffic.
    const pqxx::result r = s.Exec(
        Stmt("WITH h AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),"
             " picked AS ("
             " SELECT x.txid, x.seq FROM project_members m CROSS JOIN LATERAL ("
             "  SELECT c.txid, c.seq FROM sync_changes c WHERE c.project_id = m.project_id"
             "  AND (c.txid, c.seq) > ($2::xid8, $3::bigint) ORDER BY c.txid, c.seq"
             "  LIMIT $4::bigint) x WHERE m.user_id = $1::uuid"
             " UNION (SELECT c.txid, c.seq FROM sync_changes c WHERE c.user_id = $1::uuid"
             "  AND (c.txid, c.seq) > ($2::xid8, $3::bigint) ORDER BY c.txid, c.seq"
             "  LIMIT $4::bigint)"
             " UNION (SELECT c.txid, c.seq FROM sync_changes c WHERE c.project_id IS NULL"
             "  AND c.user_id IS NULL AND (c.txid, c.seq) > ($2::xid8, $3::bigint)"
             "  ORDER BY c.txid, c.seq LIMIT $4::bigint))"
             " , found AS (SELECT c.* FROM picked p"
             "  JOIN sync_changes c ON c.txid = p.txid AND c.seq = p.seq"
             "  WHERE c.txid < (SELECT xmin FROM h) ORDER BY c.txid, c.seq LIMIT $4::bigint)"
             " SELECT (SELECT xmin FROM h)::text, f.txid::text, f.seq, f.table_name, f.row_id,"
             " f.op, f.data::text FROM (SELECT 1) one LEFT JOIN found f ON true"
             " ORDER BY f.txid, f.seq"),
        {ctx.user_id, txid, seq, std::to_string(limit + 1)});
    std::string out = "{\"changes\":[";
    std::pair<std::string, std::string> position{txid, seq};
    // Rows: one with NULLs when there is no change, else one per change.
    const pqxx::result::size_type found = r[0][1].is_null() ? 0 : r.size();
    const pqxx::result::size_type n =
        std::min<pqxx::result::size_type>(found, static_cast<pqxx::result::size_type>(limit));
    for (pqxx::result::size_type i = 0; i < n; ++i) {
      const pqxx::row row = r[i];
      if (i) out += ",";
      out += "{\"table\":";
      core::AppendJsonString(row[3].c_str(), &out);
      out += ",\"id\":";
      core::AppendJsonString(row[4].c_str(), &out);
      out += ",\"op\":";
      core::AppendJsonString(row[5].c_str(), &out);
      out += ",\"data\":";
      out += row[6].is_null() ? "null" : row[6].c_str();
      out += "}";
      position = {row[1].c_str(), row[2].c_str()};
    }
    returned = n;
    if (found <= n) {
      // Everything of this user's below the horizon has been returned: the
      // cursor may skip to the horizon over other users' changes, so that a
      // quiet client's next pull (and the compaction horizon) need not care
      // about them.
      const std::pair<std::string, std::string> skip{
          std::to_string(r[0][0].as<unsigned long long>() - 1), "9223372036854775807"};
      if (PositionBefore(position, skip)) position = skip;
    }
    const std::string cursor = position.first == "0" && position.second == "0"
                                   ? ""
                                   : position.first + "." + position.second;
    reached = until && !PositionBefore(position, *until);
    // The newest committed change (one entry at the end of the primary key):
    // a client that started a sync pulls until its cursor reaches it, so it
    // waits for changes committed before it asked, not for later traffic.
    const pqxx::result latest =
        s.Exec(Stmt("SELECT txid::text || '.' || seq, "
                    "txid >= pg_snapshot_xmin(pg_current_snapshot()) "
                    "FROM sync_changes ORDER BY txid DESC, seq DESC LIMIT 1"));
    in_flight = found <= n && !latest.empty() && latest[0][1].as<bool>();
    out += "],\"cursor\":";
    core::AppendJsonString(cursor, &out);
    out += std::string(",\"has_more\":") + (found > n ? "true" : "false");
    out += std::string(",\"pending\":") + (in_flight ? "true" : "false");
    out += ",\"latest\":";
    core::AppendJsonString(latest.empty() ? "" : latest[0][0].c_str(), &out);
    out += "}";
    return TextResponse(200, out);
  });
  metrics.Count("vemakin_sync_changes_pulled_total", "", static_cast<double>(returned));
  if (returned > 0 || reached || !options.bell || now >= deadline) return response;
  metrics.Count("vemakin_sync_pulls_parked_total", "", 1);
  // Nothing yet: park until the bell rings (or the horizon may have moved).
  auto request = std::make_shared<HttpRequest>(ctx.http);
  request->poll_deadline = deadline;
  const auto wake_at = in_flight ? std::min(deadline, now + kHorizonRecheck) : deadline;
  ChangeBell* bell = options.bell;
  auto again = handle_again;
  HttpResponse parked;
  parked.defer = [bell, generation, wake_at, request, again](HttpResponse::Resume resume) {
    bell->Wait(generation, wake_at, [request, again, resume] {
      request->received_at = std::chrono::steady_clock::now();
      resume([request, again] { return again(*request); });
    });
  };
  return parked;
}

std::optional<std::string> Api::Impl::VisibleRowText(Session& s, const std::string& table,
                                                     const std::string& id,
                                                     const std::string& user_id) {
  const core::TableSpec* spec = nullptr;
  std::string where;
  for (const core::TableSpec* t : core::AllSpecs()) {
    if (t->name == table) spec = t;
  }
  if (spec == nullptr) return std::nullopt;
  if (table == "projects") {
    where = "t.id IN " + std::string(kMemberProjects);
  } else if (table == "equipment") {
    where = "t.user_id = $1::uuid";
  } else {
    where = "t.project_id IN " + std::string(kMemberProjects);
  }
  const pqxx::result r = s.Exec(Stmt("SELECT " + ColumnList(*spec, "t") + " FROM " + table +
                                     " t WHERE t.id = $2::uuid AND " + where),
                                {user_id, id});
  if (r.empty()) return std::nullopt;
  return RowText(*spec, r[0], 0);
}

namespace {

struct PushMutation {
  std::string mutation_id;
  std::string table;
  std::string op;
  std::string id;
  json fields;
};

std::vector<PushMutation> ParsePush(const json& body, std::string* client_id) {
  std::vector<core::FieldError> errors;
  if (!body.is_object()) throw HttpError::Field({"body"}, "must be a JSON object", "type");
  const json client = body.value("client_id", json());
  if (!client.is_string() || !core::IsValidUuid(client.get<std::string>())) {
    errors.push_back({{"body", "client_id"}, "must be a UUID", "type"});
  } else {
    *client_id = core::NormalizeUuid(client.get<std::string>());
  }
  const json list = body.value("mutations", json());
  if (!list.is_array() || list.size() > 1000) {
    errors.push_back({{"body", "mutations"}, "must be an array of at most 1000 mutations", "type"});
    throw HttpError::Fields(errors);
  }
  static const std::set<std::string> kTables = {"projects", "shots", "notes", "postprod_tasks",
                                                "equipment"};
  std::vector<PushMutation> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const json& m = list[i];
    const std::string at = std::to_string(i);
    auto text = [&](const char* key) -> std::string {
      const json v = m.is_object() ? m.value(key, json()) : json();
      return v.is_string() ? v.get<std::string>() : "";
    };
    PushMutation pm{text("mutation_id"), text("table"), text("op"), text("id"),
                    m.is_object() ? m.value("fields", json::object()) : json()};
    if (!core::IsValidUuid(pm.mutation_id)) {
      errors.push_back({{"body", "mutations", at, "mutation_id"}, "must be a UUID", "type"});
    }
    if (!kTables.count(pm.table)) {
      errors.push_back(
          {{"body", "mutations", at, "table"}, "is not a table a client writes", "enum"});
    }
    if (pm.op != "create" && pm.op != "update" && pm.op != "delete") {
      errors.push_back(
          {{"body", "mutations", at, "op"}, "must be create, update or delete", "enum"});
    }
    if (!core::IsValidUuid(pm.id)) {
      errors.push_back({{"body", "mutations", at, "id"}, "must be a UUID", "type"});
    }
    if (!pm.fields.is_object()) {
      errors.push_back({{"body", "mutations", at, "fields"}, "must be a JSON object", "type"});
    }
    pm.mutation_id = core::NormalizeUuid(pm.mutation_id);
    pm.id = core::NormalizeUuid(pm.id);
    out.push_back(std::move(pm));
  }
  if (!errors.empty()) throw HttpError::Fields(errors);
  return out;
}

}  // namespace

namespace {

// Thrown inside a fast-mode push when the transaction can no longer be
// trusted (a statement failed): the push is redone in careful mode.
struct NeedsSavepoints {};

}  // namespace

// Applies pushed mutations in order, each at most once, in ONE transaction
// (one commit, one WAL flush, for up to 1,000 mutations), with the records in
// sync_mutations committing together with the effects. A repeat (a retry
// after a lost response) returns the recorded outcome without applying
// anything. A mutation the server refuses (validation, role, unknown row, id
// clash) is recorded as rejected with the reason and the row's current state
// as this user may see it (`current`, null when none), so the client can
// restore it; it never blocks the ones after it.
//
// Refusals are found before a mutation writes anything (validation, roles,
// ON CONFLICT DO NOTHING), so the fast mode needs no savepoints. If a
// statement fails anyway (a constraint only the database knows), the whole
// push is redone in careful mode, each mutation under its own savepoint.
// Savepoints are not the default: each one that writes takes a subtransaction
// id, and a transaction with more than 64 of them slows every snapshot in the
// cluster. A transient failure fails the whole push, which the client
// retries whole; nothing of it was committed.
HttpResponse Api::Impl::SyncPush(Ctx& ctx) {
  const json body = ParseBody(ctx, options.max_json_depth);
  std::string client_id;
  const std::vector<PushMutation> mutations = ParsePush(body, &client_id);
  db.Read([&](Session& s) { Authenticate(s, ctx); });
  auto resource_for = [&](const std::string& table) -> const ResourceDef* {
    if (table == "shots") return &Resource("shots");
    if (table == "notes") return &Resource("notes");
    if (table == "postprod_tasks") return &Resource("postprod");
    if (table == "equipment") return &Resource("inventory");
    return nullptr;  // projects
  };
  std::string ids = "{";
  for (const PushMutation& m : mutations) ids += (ids.size() > 1 ? "," : "") + m.mutation_id;
  ids += "}";
  json results;
  auto run = [&](bool careful) {
    db.Write([&](Session& s) {
      results = json::array();  // the unit of work may be retried from scratch
      std::map<std::string, std::string> roles;
      s.role_memo = &roles;
      std::map<std::string, std::string> seen;
      for (const pqxx::row& row :
           s.Exec(Stmt("SELECT mutation_id::text, response::text FROM sync_mutations "
                       "WHERE client_id = $1::uuid AND mutation_id = ANY($2::uuid[])"),
                  {client_id, ids})) {
        seen[row[0].c_str()] = row[1].c_str();
      }
      // The records, inserted together at the end (which also proves, in fast
      // mode, that no statement before failed).
      std::string rec_ids = "{", rec_outcomes = "{";
      json rec_responses = json::array();
      auto record = [&](const PushMutation& m, json result) {
        rec_ids += (rec_ids.size() > 1 ? "," : "") + m.mutation_id;
        rec_outcomes +=
            (rec_outcomes.size() > 1 ? "," : "") + result.at("status").get<std::string>();
        rec_responses.push_back(result);
        seen[m.mutation_id] = result.dump();  // the same id twice in one push: once
        results.push_back(std::move(result));
      };
      auto rejected = [&](const PushMutation& m, int status, const json& detail) {
        const std::optional<std::string> current = VisibleRowText(s, m.table, m.id, ctx.user_id);
        return json{{"mutation_id", m.mutation_id},
                    {"status", "rejected"},
                    {"http_status", status},
                    {"detail", detail},
                    {"current", current ? json::parse(*current) : json()}};
      };
      for (size_t i = 0; i < mutations.size();) {
        const PushMutation& m = mutations[i];
        if (auto it = seen.find(m.mutation_id); it != seen.end()) {
          json result = json::parse(it->second);
          result["replayed"] = true;
          results.push_back(std::move(result));
          ++i;
          continue;
        }
        // A run of new creates of one resource: one INSERT (fast mode).
        const ResourceDef* run_def = resource_for(m.table);
        size_t end = i;
        std::set<std::string> run_ids;
        while (!careful && run_def != nullptr && end < mutations.size() &&
               mutations[end].op == "create" && mutations[end].table == m.table &&
               !seen.count(mutations[end].mutation_id) &&
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
          std::vector<std::optional<HttpError>> outcome;
          try {
            ApplyCreates(s, *run_def, ctx.user_id, bodies, &outcome);
          } catch (const HttpError&) {
            throw NeedsSavepoints{};
          } catch (const pqxx::broken_connection&) {
            throw;
          } catch (const std::exception&) {
            throw NeedsSavepoints{};
          }
          for (size_t k = i; k < end; ++k) {
            const std::optional<HttpError>& e = outcome[k - i];
            record(mutations[k],
                   e ? rejected(mutations[k], e->status(), e->body().value("detail", json()))
                     : json{{"mutation_id", mutations[k].mutation_id}, {"status", "applied"}});
          }
          i = end;
          continue;
        }
        ++i;
        int status = 0;
        json detail;
        if (careful) s.tx().exec0("SAVEPOINT mutation");
        try {
          const ResourceDef* def = resource_for(m.table);
          if (def == nullptr) {
            ApplyProject(s, ctx.user_id, m.op, m.id, m.fields);
          } else if (m.op == "create") {
            json fields = m.fields;
            fields["id"] = m.id;
            ApplyCreate(s, *def, ctx.user_id, fields);
          } else if (m.op == "update") {
            ApplyPatch(s, *def, ctx.user_id, m.id, m.fields);
          } else {
            try {
              ApplyDelete(s, *def, ctx.user_id, m.id);
            } catch (const HttpError& e) {
              if (e.status() != 404) throw;  // already gone: deleting twice is deleting once
            }
          }
          if (careful) s.tx().exec0("RELEASE SAVEPOINT mutation");
        } catch (const HttpError& e) {
          status = e.status();
          detail = e.body().value("detail", json());
        } catch (const pqxx::broken_connection&) {
          throw;
        } catch (const Error& e) {
          if (!careful) throw NeedsSavepoints{};
          status = StatusFor(e.code());
          detail = e.what();
        } catch (const pqxx::sql_error&) {
          if (!careful) throw NeedsSavepoints{};
          try {
            RethrowAsError(*options.logger);
          } catch (const Error& e) {
            status = StatusFor(e.code());
            detail = status >= 500 ? json("internal error") : json(e.what());
          }
        }
        if (status >= 500) throw Error(ErrorCode::kUnavailable, "push interrupted; retry it");
        if (status != 0) {
          // Refused: nothing of it stays; record why and what the row is now.
          if (careful) s.tx().exec0("ROLLBACK TO SAVEPOINT mutation");
          record(m, rejected(m, status, detail));
        } else {
          record(m, {{"mutation_id", m.mutation_id}, {"status", "applied"}});
        }
      }
      try {
        s.Exec(Stmt("INSERT INTO sync_mutations (client_id, mutation_id, user_id, outcome, "
                    "response) SELECT $1::uuid, m, $2::uuid, o, r FROM unnest($3::uuid[], "
                    "$4::text[], ARRAY(SELECT jsonb_array_elements($5::jsonb))) AS x(m, o, r)"),
               {client_id, ctx.user_id, rec_ids + "}", rec_outcomes + "}", rec_responses.dump()});
      } catch (const pqxx::sql_error&) {
        if (!careful) throw NeedsSavepoints{};
        throw;
      }
      s.role_memo = nullptr;
    });
  };
  try {
    run(false);
  } catch (const NeedsSavepoints&) {
    metrics.Count("vemakin_sync_push_careful_total", "", 1);
    run(true);
  }
  double applied = 0, refused = 0, replayed = 0;
  for (const json& r : results) {
    if (r.value("replayed", false)) {
      ++replayed;
    } else if (r.value("status", "") == "applied") {
      ++applied;
    } else {
      ++refused;
    }
  }
  metrics.Count("vemakin_sync_mutations_total", "outcome=\"applied\"", applied);
  metrics.Count("vemakin_sync_mutations_total", "outcome=\"rejected\"", refused);
  metrics.Count("vemakin_sync_mutations_total", "outcome=\"replayed\"", replayed);
  return JsonResponse(200, json{{"results", std::move(results)}});
}

// ---------------------------------------------------------------- snapshot

namespace {

// Where a snapshot continues: "<stage>~<project>~<list cursor>". Stages: c
// catalog, p the member project after <project>, P <project> itself (a
// one-project snapshot), m its members, s/t/n its shots/tasks/notes, e the
// inventory, x done.
struct SnapshotPos {
  char stage = 'c';
  std::string project;
  std::string cursor;

  std::string Encode() const { return std::string(1, stage) + "~" + project + "~" + cursor; }
  static SnapshotPos Decode(const std::string& token) {
    SnapshotPos pos;
    const size_t a = token.find('~');
    const size_t b = a == std::string::npos ? a : token.find('~', a + 1);
    if (token.size() > 2048 || a != 1 || b == std::string::npos ||
        std::string("cpPmstne").find(token[0]) == std::string::npos) {
      throw HttpError::Field({"query", "after"}, "is not a snapshot position", "cursor");
    }
    pos.stage = token[0];
    pos.project = token.substr(2, b - 2);
    pos.cursor = token.substr(b + 1);
    if (!pos.project.empty() && !core::IsValidUuid(pos.project)) {
      throw HttpError::Field({"query", "after"}, "is not a snapshot position", "cursor");
    }
    if (pos.project.empty() && std::string("Pmstn").find(pos.stage) != std::string::npos) {
      throw HttpError::Field({"query", "after"}, "is not a snapshot position", "cursor");
    }
    return pos;
  }
};

}  // namespace

// Every row the user may read, page by page in an order that keeps foreign
// keys valid (catalog, then per project: the project, its members, shots,
// tasks, notes; then the inventory), each list on its own index. The first
// page's `cursor` is where the client pulls from once the snapshot is done
// (docs/sync-protocol.md explains why that misses nothing). ?project=ID gives
// one project (a membership gained after the client's cursor).
HttpResponse Api::Impl::SyncSnapshot(Ctx& ctx) {
  const long long limit = std::min<long long>(ParseCount(ctx, "limit", 5000, 1), 10000);
  std::optional<std::string> only;
  if (auto p = ctx.Query("project")) only = RequireUuid(*p, {"query", "project"});
  SnapshotPos pos;
  if (auto after = ctx.Query("after"); after && !after->empty()) {
    pos = SnapshotPos::Decode(*after);
    if (only && pos.project != *only) {
      throw HttpError::Field({"query", "after"}, "belongs to another snapshot", "cursor");
    }
  } else if (only) {
    pos = {'P', *only, ""};
  }
  const bool first_page = !ctx.Query("after") || ctx.Query("after")->empty();
  EnsureCatalog();
  return ReadAuthed(ctx, [&](Session& s) {
    const std::string start = SnapshotCursor(s, Stmt(kXminSql));
    std::string tables;  // [{"table": ..., "rows": [...]}, ...]
    long long rows = 0;
    auto emit = [&](const std::string& table, const std::string& rows_array, long long n) {
      if (n == 0) return;
      tables += std::string(tables.empty() ? "" : ",") + "{\"table\":\"" + table +
                "\",\"rows\":" + rows_array + "}";
      rows += n;
    };
    const core::TableSpec& ps = core::Spec(core::Entity::kProject);
    const core::TableSpec& ms = core::Spec(core::Entity::kProjectMember);
    auto enter_project = [&](const pqxx::result& r) {
      pos = {'m', r[0][0].c_str(), ""};
      emit("projects", "[" + RowText(ps, r[0], 0) + "]", 1);
    };
    while (rows < limit && pos.stage != 'x') {
      switch (pos.stage) {
        case 'c': {
          emit("gear_categories", catalog_categories.dump(),
               static_cast<long long>(catalog_categories.size()));
          emit("gear_brands", catalog_brands.dump(), static_cast<long long>(catalog_brands.size()));
          emit("gear_catalog", catalog_items.dump(), static_cast<long long>(catalog_items.size()));
          pos = {'p', "", ""};
          break;
        }
        case 'p': {
          const pqxx::result r =
              s.Exec(Stmt("SELECT " + ColumnList(ps, "t") + " FROM projects t WHERE t.id IN " +
                          kMemberProjects + " AND t.id > $2::uuid ORDER BY t.id LIMIT 1"),
                     {ctx.user_id,
                      pos.project.empty() ? "00000000-0000-0000-0000-000000000000" : pos.project});
          if (r.empty()) {
            pos = {'e', "", ""};
          } else {
            enter_project(r);
          }
          break;
        }
        case 'P': {
          const pqxx::result r =
              s.Exec(Stmt("SELECT " + ColumnList(ps, "t") + " FROM projects t WHERE t.id IN " +
                          kMemberProjects + " AND t.id = $2::uuid"),
                     {ctx.user_id, pos.project});
          if (r.empty()) throw HttpError::Detail(404, "project not found");
          enter_project(r);
          break;
        }
        case 'm': {
          const pqxx::result r =
              s.Exec(Stmt("SELECT " + ColumnList(ms, "t") +
                          " FROM project_members t WHERE t.project_id = $1::uuid"),
                     {pos.project});
          std::string out = "[";
          for (pqxx::result::size_type i = 0; i < r.size(); ++i) {
            out += (i ? "," : "") + RowText(ms, r[i], 0);
          }
          emit("project_members", out + "]", static_cast<long long>(r.size()));
          pos = {'s', pos.project, ""};
          break;
        }
        case 's':
        case 't':
        case 'n':
        case 'e': {
          static const std::map<char, std::pair<const char*, const char*>> kLists = {
              {'s', {"shots", "shots"}},
              {'t', {"postprod", "postprod_tasks"}},
              {'n', {"notes", "notes"}},
              {'e', {"inventory", "equipment"}}};
          const auto& [resource, table] = kLists.at(pos.stage);
          Page page;
          page.limit = limit - rows;
          if (!pos.cursor.empty()) page.cursor = pos.cursor;
          bool found = false;
          const std::string scope = pos.stage == 'e' ? ctx.user_id : pos.project;
          const PageText p =
              ResourcePage(s, Resource(resource), scope, ctx.user_id, {}, page, &found);
          emit(table, p.items, p.count);
          if (p.has_more && p.next_cursor) {
            pos.cursor = *p.next_cursor;
          } else if (pos.stage == 'e') {
            pos = {'x', "", ""};
          } else if (pos.stage == 'n') {
            pos = only ? SnapshotPos{'x', "", ""} : SnapshotPos{'p', pos.project, ""};
          } else {
            pos = {pos.stage == 's' ? 't' : 'n', pos.project, ""};
          }
          break;
        }
        default:
          pos = {'x', "", ""};
      }
    }
    metrics.Count("vemakin_sync_snapshot_rows_total", "", static_cast<double>(rows));
    std::string out = "{\"cursor\":\"" + start + "\",";
    if (first_page) {
      // How many rows the whole snapshot holds, from the list counters (for
      // progress bars; the catalog and memberships make it approximate).
      const pqxx::result e = s.Exec(
          Stmt("SELECT (SELECT coalesce(sum(shots + notes + tasks + 1), 0) FROM project_stats "
               "WHERE project_id IN " +
               std::string(kMemberProjects) +
               ") + (SELECT coalesce(sum(equipment), 0) FROM user_stats WHERE user_id = "
               "$1::uuid)"),
          {ctx.user_id});
      out += "\"estimate\":" +
             std::to_string(e[0][0].as<long long>() +
                            static_cast<long long>(catalog_categories.size() +
                                                   catalog_brands.size() + catalog_items.size())) +
             ",";
    }
    out += "\"tables\":[" + tables + "],\"next\":";
    if (pos.stage == 'x') {
      out += "null";
    } else {
      core::AppendJsonString(pos.Encode(), &out);
    }
    return TextResponse(200, out + "}");
  });
}

// ---------------------------------------------------------------- digest

// The order-independent digest (core/digest.h) of every synced table in this
// user's scope, read in one snapshot, with the cursor it reflects.
HttpResponse Api::Impl::SyncDigest(Ctx& ctx) {
  return ReadAuthed(ctx, [&](Session& s) {
    json tables = json::object();
    for (const core::TableSpec* table : core::AllSpecs()) {
      const core::TableSpec& spec = *table;
      std::string where;
      if (spec.name == "projects") {
        where = "t.id IN " + std::string(kMemberProjects);
      } else if (spec.name == "project_members" || spec.name == "shots" || spec.name == "notes" ||
                 spec.name == "postprod_tasks") {
        where = "t.project_id IN " + std::string(kMemberProjects);
      } else if (spec.name == "equipment") {
        where = "t.user_id = $1::uuid";
      } else if (spec.name.rfind("gear_", 0) == 0) {
        where = "$1::uuid IS NOT NULL";
      } else {
        continue;  // users, tokens: not synced
      }
      core::TableDigest digest;
      const pqxx::result r = s.Exec(
          Stmt("SELECT " + ColumnList(spec, "t") + " FROM " + spec.name + " t WHERE " + where),
          {ctx.user_id});
      for (const pqxx::row& row : r) digest.Add(spec, json::parse(RowText(spec, row, 0)));
      tables[spec.name] = digest.ToJson();
    }
    return JsonResponse(200,
                        json{{"cursor", SnapshotCursor(s, Stmt(kXminSql))}, {"tables", tables}});
  });
}

}  // namespace vemakin::server
