// The request helpers and the shared services of the API (api_context.h):
// JSON bodies, paging parameters and page queries, envelopes, a write's outcome as a REST
// response, the generated-statement cache and bearer-token authentication.
#include "server/api_context.h"

#include <algorithm>
#include <cctype>
#include <variant>

#include "core/json_codec.h"
#include "core/sync_protocol.h"
#include "core/uuid.h"
#include "server/auth.h"
#include "server/sql_builder.h"

namespace vemakin::server {

// ---------------------------------------------------------------- helpers

HttpResponse JsonResponse(int status, const json& body) {
  return HttpResponse::Json(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

HttpResponse TextResponse(int status, std::string json_text) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(json_text);
  return r;
}

HttpResponse Respond(const WriteOutcome& outcome, int done) {
  if (outcome.rejected()) {
    throw HttpError(HttpStatusFor(outcome.code), json{{"detail", outcome.detail}}, outcome.code);
  }
  if (done == 204) {
    HttpResponse r;
    r.status = 204;
    r.body.clear();
    return r;
  }
  const int status = done == 201 && outcome.kind != WriteOutcome::Kind::kCreated ? 200 : done;
  return JsonResponse(status, outcome.row);
}

std::string EnvelopeText(const PageText& p, const Page& page) {
  std::string out;
  out.reserve(p.items.size() + 160);  // the page's rows are copied once
  out += "{\"items\":";
  out += p.items;
  out += ",\"total\":" + std::to_string(p.total) + ",\"skip\":" + std::to_string(page.skip) +
         ",\"limit\":" + std::to_string(page.limit) +
         ",\"has_more\":" + (p.has_more ? "true" : "false") + ",\"next_cursor\":";
  if (p.next_cursor) {
    core::AppendJsonString(*p.next_cursor, &out);
  } else {
    out += "null";
  }
  out += "}";
  return out;
}

json Envelope(json items, long long total, const Page& page, bool has_more,
              std::optional<std::string> next_cursor) {
  return json{{"items", std::move(items)},
              {"total", total},
              {"skip", page.skip},
              {"limit", page.limit},
              {"has_more", has_more},
              {"next_cursor", next_cursor ? json(*next_cursor) : json(nullptr)}};
}

std::string RequireUuid(const std::string& value, const std::vector<std::string>& loc) {
  if (!core::IsValidUuid(value)) throw HttpError::Field(loc, "must be a UUID", "type");
  return core::NormalizeUuid(value);
}

long long ParseCount(const Ctx& ctx, const std::string& key, long long fallback, long long min,
                     long long max, bool clamp) {
  const std::optional<std::string> v = ctx.Query(key);
  if (!v) return fallback;
  // Digits only: std::stoll would also take leading spaces and a '+'.
  const size_t digits = !v->empty() && (*v)[0] == '-' ? 1 : 0;
  if (v->size() == digits || v->find_first_not_of("0123456789", digits) != std::string::npos) {
    throw HttpError::Field({"query", key}, "must be an integer", "type");
  }
  long long n = 0;
  bool too_big = false;
  try {
    n = std::stoll(*v);
  } catch (const std::out_of_range&) {
    too_big = true;  // beyond 64 bits either way: a negative one is below min
    n = digits ? std::numeric_limits<long long>::min() : std::numeric_limits<long long>::max();
  }
  if (n < min) {
    throw HttpError::Field({"query", key}, "must be at least " + std::to_string(min), "range");
  }
  if (n > max || too_big) {
    if (clamp) return max;
    throw HttpError::Field({"query", key}, "must be at most " + std::to_string(max), "range");
  }
  return n;
}

Page ParsePage(const Ctx& ctx) {
  Page page;
  page.skip = ParseCount(ctx, "skip", 0, 0, core::kMaxSkip, false);
  page.limit = ParseCount(ctx, "limit", 100, 1, 1000);
  if (std::optional<std::string> c = ctx.Query("cursor"); c && !c->empty()) {
    if (page.skip != 0) {
      throw HttpError::Field({"query", "skip"}, "cannot be combined with cursor", "conflict");
    }
    page.cursor = *c;
  }
  return page;
}

namespace {

// PostgreSQL's spelling of a page query (core/list_order.h builds it).
const core::SqlDialect& Postgres() {
  static const core::SqlDialect dialect{
      Placeholder, [](int n) { return "$" + std::to_string(n) + "::bigint"; }, true};
  return dialect;
}

}  // namespace

PagedSelect BuildPage(const core::TableSpec& spec, const std::string& from,
                      const std::string& where, const std::vector<core::OrderKey>& keys,
                      const Page& page, int first_param) {
  const std::optional<core::PageSql> built = core::BuildPageSql(
      spec, from, where, keys, {page.skip, page.limit, page.cursor}, first_param, Postgres());
  if (!built) {
    throw HttpError::Field({"query", "cursor"}, "is not a cursor of this list", "cursor");
  }
  PagedSelect out{built->sql, {}};
  for (const core::SqlParam& p : built->params) {
    out.params.push_back(std::holds_alternative<long long>(p)
                             ? std::to_string(std::get<long long>(p))
                             : std::get<std::string>(p));
  }
  return out;
}

// ---------------------------------------------------------------- ApiContext

ApiContext::ApiContext(ApiOptions options, Db& db, Metrics& metrics)
    : options_(std::move(options)), db_(db), metrics_(metrics) {
  if (!options_.logger) options_.logger = DefaultLogger();
}

const Statement& ApiContext::Stmt(const std::string& sql) {
  std::lock_guard<std::mutex> lock(statements_mu_);
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    const std::string name = "v" + std::to_string(statements_.size());
    it = statements_.emplace(sql, Statement{name, sql}).first;
  }
  return it->second;
}

bool ApiContext::KnownBigList(const std::string& key) const {
  std::lock_guard<std::mutex> lock(big_lists_mu_);
  return big_lists_.count(key) > 0;
}

void ApiContext::RememberBigList(const std::string& key) {
  std::lock_guard<std::mutex> lock(big_lists_mu_);
  if (big_lists_.size() < kMaxBigLists) big_lists_.insert(key);
}

json ApiContext::ParseBody(const Ctx& ctx) const {
  std::string error;
  if (ctx.http.body.empty()) throw HttpError::Detail(400, "a JSON body is required");
  std::optional<json> body =
      core::ParseUntrustedJson(ctx.http.body, options_.max_json_depth, &error);
  if (!body) throw HttpError::Detail(400, error);
  return std::move(*body);
}

void ApiContext::Authenticate(Session& s, Ctx& ctx) {
  if (CheckToken(s, ctx)) StampToken(s, ctx);
}

void ApiContext::StampToken(Session& s, const Ctx& ctx) {
  s.Exec(Stmt("UPDATE api_tokens SET last_used_at = now() WHERE token_hash = $1::bytea"),
         {ctx.token_hash});
}

bool ApiContext::CheckToken(Session& s, Ctx& ctx) {
  const std::string header = ctx.http.Header("Authorization");
  const std::string prefix = "Bearer ";
  if (header.size() <= prefix.size() ||
      !std::equal(prefix.begin(), prefix.end(), header.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    HttpError e = HttpError::Detail(401, "not authenticated");
    e.headers.emplace_back("WWW-Authenticate", "Bearer");
    throw e;
  }
  ctx.token_hash = TokenHashParam(header.substr(prefix.size()));
  const pqxx::result r = s.Exec(
      Stmt("SELECT user_id, last_used_at IS NULL OR last_used_at < now() - interval '10 minutes' "
           "FROM api_tokens WHERE token_hash = $1::bytea AND expires_at > now()"),
      {ctx.token_hash});
  if (r.empty()) {
    HttpError e = HttpError::Detail(401, "invalid or expired token");
    e.headers.emplace_back("WWW-Authenticate", "Bearer");
    throw e;
  }
  ctx.user_id = r[0][0].c_str();
  return r[0][1].as<bool>();  // last_used_at is refreshed at most every 10 minutes
}

HttpResponse ApiContext::ReadAuthedSnapshot(Ctx& ctx,
                                            const std::function<HttpResponse(Session&)>& fn,
                                            Db* on) {
  HttpResponse out;
  bool stamp = false;
  const bool lsn = options_.replicas && !options_.replicas->empty();
  (on ? *on : db_).ReadSnapshot([&](Session& s) {
    stamp = CheckToken(s, ctx);
    out = fn(s);
    if (lsn) {
      // Read after the snapshot's statements: at or past what they saw.
      const pqxx::result r = s.Exec(Stmt(kStateLsnSql));
      out.headers.emplace_back(core::kLsnHeader, r[0][0].c_str());
    }
  });
  // After the snapshot, in a statement of its own: a write inside it would
  // give the read an xid, holding every other client's pulls back while it
  // runs. Once in ten minutes per token.
  if (stamp) {
    try {
      db_.Read([&](Session& s) { StampToken(s, ctx); });
    } catch (const Error&) {
      // The answer is read; a missed stamp is taken at the next request.
    }
  }
  return out;
}

HttpResponse ApiContext::ReadSyncSnapshot(Ctx& ctx, std::uint64_t floor_lsn,
                                          const std::function<HttpResponse(Session&)>& fn) {
  ReadReplicas* replicas = options_.replicas;
  if (replicas == nullptr || replicas->empty()) return ReadAuthedSnapshot(ctx, fn);
  std::uint64_t min_lsn = floor_lsn;
  const std::string token = ctx.http.Header(core::kMinLsnHeader);
  if (!token.empty()) {
    const std::optional<std::uint64_t> asked = core::ParseLsn(token);
    if (!asked)
      throw HttpError::Detail(400, std::string(core::kMinLsnHeader) + " is not a WAL position");
    min_lsn = std::max(min_lsn, *asked);
  }
  Db* replica = replicas->Pick(min_lsn);
  if (options_.logger->Enabled(LogLevel::kDebug)) {
    options_.logger->Log(LogLevel::kDebug, "db", "sync read routed",
                         {{"request_id", ctx.http.request_id},
                          {"min_lsn", core::FormatLsn(min_lsn)},
                          {"to", replica ? "replica" : "primary"}});
  }
  if (replica) {
    try {
      HttpResponse out = ReadAuthedSnapshot(ctx, fn, replica);
      replicas->CountRead();
      return out;
    } catch (const HttpError& e) {
      // A token made, or a membership granted, after what the replica has
      // replayed: the primary knows. Other answers stand.
      if (e.status() != 401 && e.status() != 404) throw;
    } catch (const Error& e) {
      // Unreachable, out of connections, a query cancelled by replay (a
      // recovery conflict), or one it cannot run yet (a migration it has not
      // replayed: kInternal): the primary serves it.
      if (e.code() == ErrorCode::kUnavailable || e.code() == ErrorCode::kInternal) {
        replicas->MarkDown(replica);
      }
      if (e.code() != ErrorCode::kUnavailable && e.code() != ErrorCode::kAborted &&
          e.code() != ErrorCode::kInternal && e.code() != ErrorCode::kDeadlineExceeded) {
        throw;
      }
    }
    replicas->CountFallback();
  }
  return ReadAuthedSnapshot(ctx, fn);
}

void ApiContext::AddWriteLsn(HttpResponse& response) {
  const std::uint64_t lsn = Db::TakeCommitLsn();  // read on the write's own connection
  if (options_.replicas == nullptr || options_.replicas->empty() || lsn == 0) return;
  response.headers.emplace_back(core::kLsnHeader, core::FormatLsn(lsn));
}

HttpResponse ApiContext::ReadAuthed(Ctx& ctx, const std::function<HttpResponse(Session&)>& fn) {
  HttpResponse out;
  db_.Read([&](Session& s) {
    Authenticate(s, ctx);
    out = fn(s);
  });
  return out;
}

HttpResponse ApiContext::WriteAuthed(Ctx& ctx, const std::function<HttpResponse(Session&)>& fn) {
  HttpResponse out;
  db_.Write([&](Session& s) {
    Authenticate(s, ctx);
    out = fn(s);
  });
  return out;
}

}  // namespace vemakin::server
