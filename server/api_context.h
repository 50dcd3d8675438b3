// What every part of the API shares (internal to server/api*.cc): the
// request as a handler sees it (`Ctx`), the HTTP error a handler throws to
// the boundary in api.cc (`HttpError`), the request and response helpers
// (body, paging, UUIDs, envelopes, a write's outcome as a response), and
// `ApiContext`: the options, the database, the metrics, the generated
// statements and the write rules, with authentication. Each concept of the
// API (accounts, projects, resources, catalog, bulk reads, sync, operations)
// is a unit in its own file that takes an ApiContext and registers its routes
// on the Router (server/api_router.h); api.cc wires them together.
#ifndef VEMAKIN_SERVER_API_CONTEXT_H_
#define VEMAKIN_SERVER_API_CONTEXT_H_

#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/error.h"
#include "core/list_order.h"
#include "core/model.h"
#include "core/validation.h"
#include "server/api.h"
#include "server/db.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/writes.h"

namespace vemakin::server {

using nlohmann::json;

// An error with its HTTP status and JSON body. Derives from Error so that Db's
// error mapping passes it through unchanged.
class HttpError : public Error {
 public:
  HttpError(int status, json body, ErrorCode code = ErrorCode::kInvalidArgument)
      : Error(code, body.dump()), status_(status), body_(std::move(body)) {}
  static HttpError Detail(int status, const std::string& detail) {
    return HttpError(status, json{{"detail", detail}});
  }
  static HttpError Fields(const std::vector<core::FieldError>& errors) {
    return HttpError(422, json{{"detail", core::FieldErrorsToJson(errors)}});
  }
  static HttpError Field(std::vector<std::string> loc, const std::string& msg,
                         const std::string& type = "value") {
    return Fields({{std::move(loc), msg, type}});
  }
  // 429 with {"detail", "retry_after"} and a Retry-After header (seconds).
  static HttpError TooMany(const std::string& detail, int retry_after) {
    if (retry_after < 1) retry_after = 1;
    HttpError e(429, json{{"detail", detail}, {"retry_after", retry_after}},
                ErrorCode::kUnavailable);
    e.headers.emplace_back("Retry-After", std::to_string(retry_after));
    return e;
  }
  int status() const { return status_; }
  const json& body() const { return body_; }
  std::vector<std::pair<std::string, std::string>> headers;

 private:
  int status_;
  json body_;
};

// One request as its handler sees it (made by the Router; used by one thread).
struct Ctx {
  const HttpRequest& http;
  std::vector<std::string> path;  // the {…} segments of the matched pattern, in order
  std::map<std::string, std::string> query;
  std::string user_id;     // set by Authenticate
  std::string token_hash;  // bytea hex parameter of the bearer token

  std::optional<std::string> Query(const std::string& key) const {
    auto it = query.find(key);
    return it == query.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
};

struct Page {
  long long skip = 0;
  long long limit = 100;
  std::optional<std::string> cursor;  // as received; decoded against the list's keys
  // The page ends early (has_more, fewer than `limit` items) once its rows
  // hold this many bytes; 0 = ApiOptions::max_page_bytes. The first row is
  // always returned, so a page always moves forward.
  long long max_bytes = 0;
};

// A page rendered straight to JSON text (the list hot path).
struct PageText {
  std::string items = "[]";  // a JSON array
  long long count = 0;       // of items
  long long total = 0;
  bool has_more = false;
  std::optional<std::string> next_cursor;
};

// ---------------------------------------------------------------- helpers
// Pure functions of their arguments (thread-safe); the parsers throw
// HttpError (400 or 422) for input they refuse.

HttpResponse JsonResponse(int status, const json& body);
HttpResponse TextResponse(int status, std::string json_text);
// A write's outcome as a REST response: `done` is the status of success (201
// for a create: 200 when it was a repeat; 204: no body); a rejection throws
// HttpError with the code's status and the detail.
HttpResponse Respond(const WriteOutcome& outcome, int done);
// The list envelope {items, total, skip, limit, has_more, next_cursor}.
std::string EnvelopeText(const PageText& page_text, const Page& page);
json Envelope(json items, long long total, const Page& page, bool has_more,
              std::optional<std::string> next_cursor);
// The normalised UUID, else 422 at `loc`.
std::string RequireUuid(const std::string& value, const std::vector<std::string>& loc);
// skip, limit (at most 1000) and cursor of the query string.
Page ParsePage(const Ctx& ctx);
// The integer query parameter `key` (>= min), `fallback` when absent; else
// 422. A value above `max` is 422 when `clamp` is false, else `max`; decimal
// digits only (no sign but '-', no exponent, no spaces).
long long ParseCount(const Ctx& ctx, const std::string& key, long long fallback, long long min,
                     long long max = std::numeric_limits<long long>::max(), bool clamp = true);

// A paged SELECT over `spec` (alias t) from `from` matching `where`
// (core::BuildPageSql in PostgreSQL's spelling); its parameters follow the
// caller's own, numbered from `first_param`. 422 when page.cursor is not a
// cursor of `keys`.
struct PagedSelect {
  std::string sql;
  Params params;
};
PagedSelect BuildPage(const core::TableSpec& spec, const std::string& from,
                      const std::string& where, const std::vector<core::OrderKey>& keys,
                      const Page& page, int first_param);

// ---------------------------------------------------------------- ApiContext

// The services every unit of the API uses. Thread-safe: the statement cache
// is guarded by a mutex, everything else is read-only after construction.
class ApiContext {
 public:
  // `db` and `metrics` must outlive the ApiContext. A null options.logger
  // becomes DefaultLogger().
  ApiContext(ApiOptions options, Db& db, Metrics& metrics);
  ApiContext(const ApiContext&) = delete;
  ApiContext& operator=(const ApiContext&) = delete;

  const ApiOptions& options() const { return options_; }
  Db& db() const { return db_; }
  Metrics& metrics() const { return metrics_; }
  // The write rules (server/writes.h), over this context's statements.
  const Writes& writes() const { return writes_; }

  // The named statement of a generated SQL text, cached by text (names are
  // stable for the life of the process, so each connection prepares it once).
  const Statement& Stmt(const std::string& sql);

  // Lists known to have held a row over 4 KB (migration 0012's flags, which
  // are never cleared, so remembering one is always right), keyed
  // "<counter>:<scope id>": their pages go straight to the sized statement.
  // At most kMaxBigLists are remembered; the others are asked each time.
  bool KnownBigList(const std::string& key) const;
  void RememberBigList(const std::string& key);
  static constexpr std::size_t kMaxBigLists = 100000;

  // The request body as JSON, nested at most options().max_json_depth; 400
  // when it is absent or not JSON.
  json ParseBody(const Ctx& ctx) const;

  // Sets ctx.user_id and ctx.token_hash from the bearer token, or throws 401
  // (with WWW-Authenticate). Refreshes the token's last use at most every 10
  // minutes.
  void Authenticate(Session& s, Ctx& ctx);
  // Authenticate in two halves: the check (true when the last-use stamp is
  // due), and the stamp.
  bool CheckToken(Session& s, Ctx& ctx);
  void StampToken(Session& s, const Ctx& ctx);
  // `fn` in one unit of work (Db::Read / Db::Write) after Authenticate.
  // ReadAuthed in one read-only snapshot (Db::ReadSnapshot); the token's
  // last-use stamp, when due, follows in a statement of its own.
  HttpResponse ReadAuthedSnapshot(Ctx& ctx, const std::function<HttpResponse(Session&)>& fn,
                                  Db* on = nullptr);  // null = the primary
  // ReadAuthedSnapshot for a sync read (a pull, a snapshot page) on a read
  // replica that has replayed the request's X-Vemakin-Min-Lsn and
  // `floor_lsn` (server/read_replicas.h), else on the primary. `fn` may run
  // twice (a replica that had not replayed the token or membership it
  // needs, or failed): it must start from nothing each time. With replicas
  // configured the response carries X-Vemakin-Lsn.
  HttpResponse ReadSyncSnapshot(Ctx& ctx, std::uint64_t floor_lsn,
                                const std::function<HttpResponse(Session&)>& fn);
  // Adds X-Vemakin-Lsn, the WAL position read after the last write this
  // thread committed (Db::TakeCommitLsn), when replicas are configured.
  void AddWriteLsn(HttpResponse& response);
  HttpResponse ReadAuthed(Ctx& ctx, const std::function<HttpResponse(Session&)>& fn);
  HttpResponse WriteAuthed(Ctx& ctx, const std::function<HttpResponse(Session&)>& fn);

 private:
  ApiOptions options_;
  Db& db_;
  Metrics& metrics_;
  std::mutex statements_mu_;
  std::map<std::string, Statement> statements_;  // guarded by statements_mu_
  mutable std::mutex big_lists_mu_;
  std::unordered_set<std::string> big_lists_;  // guarded by big_lists_mu_
  Writes writes_{[this](const std::string& sql) -> const Statement& { return Stmt(sql); }};
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_API_CONTEXT_H_
