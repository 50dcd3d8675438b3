// Internal to the API implementation (api.cc, api_resources.cc): the request
// context, the HTTP error type, routing, and helpers shared by the handlers.
#ifndef VEMAKIN_SERVER_API_INTERNAL_H_
#define VEMAKIN_SERVER_API_INTERNAL_H_

#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/model.h"
#include "core/validation.h"
#include "server/api.h"
#include "server/rows.h"
#include "server/sql_builder.h"
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
  int status() const { return status_; }
  const json& body() const { return body_; }
  std::vector<std::pair<std::string, std::string>> headers;

 private:
  int status_;
  json body_;
};

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
};

// A resource whose rows live in one table (shots, notes, tasks, inventory).
struct ResourceDef {
  std::string name;  // "shots"
  std::string path;  // "/api/shots"
  const core::TableSpec* spec;
  bool project_scoped;  // else owned by the user (user_id)
  std::string counter;  // column of project_stats / user_stats
  std::vector<std::string> filters;
  std::vector<OrderKey> order;  // ends with id
};

// A write's outcome as a REST response (api_resources.cc): `done` is the
// status of success (201 for a create: 200 when it was a repeat; 204: no
// body); a rejection throws HttpError to the HTTP boundary.
HttpResponse Respond(const WriteOutcome& outcome, int done);
HttpResponse JsonResponse(int status, const json& body);
HttpResponse TextResponse(int status, std::string json_text);

// A page rendered straight to JSON text (the list hot path).
struct PageText {
  std::string items = "[]";  // a JSON array
  long long count = 0;       // of items
  long long total = 0;
  bool has_more = false;
  std::optional<std::string> next_cursor;
};
std::string EnvelopeText(const PageText& page_text, const Page& page);
json ParseBody(const Ctx& ctx, int max_depth);
std::string RequireUuid(const std::string& value, const std::vector<std::string>& loc);
Page ParsePage(const Ctx& ctx);
// The integer query parameter `key` (>= min), `fallback` when absent; else 422.
long long ParseCount(const Ctx& ctx, const std::string& key, long long fallback, long long min);
json Envelope(json items, long long total, const Page& page, bool has_more,
              std::optional<std::string> next_cursor);
struct Api::Impl {
  using Handler = std::function<HttpResponse(Impl&, Ctx&)>;
  struct Route {
    std::string method;
    std::string pattern;  // "/api/shots/{id}": also the metrics label
    std::vector<std::string> segments;
    Handler handler;
    std::string summary;  // for /openapi.json
  };

  Impl(ApiOptions o, Db& d, Metrics& m);

  ApiOptions options;
  Db& db;
  Metrics& metrics;
  PasswordHasher hasher;
  RateLimiter login_per_email{10, std::chrono::seconds(900)};
  RateLimiter login_per_address{60, std::chrono::seconds(60)};
  RateLimiter register_per_address{30, std::chrono::seconds(3600)};
  std::vector<Route> routes;
  std::vector<ResourceDef> resources;
  std::function<int()> open_connections;

  // Generated statements, cached by SQL text; the write rules (server/writes.h) use it.
  Writes writes{[this](const std::string& sql) -> const Statement& { return Stmt(sql); }};
  std::mutex statements_mu;
  std::map<std::string, Statement> statements;
  const Statement& Stmt(const std::string& sql);

  // Catalog cache (loaded once; read-only after).
  std::mutex catalog_mu;
  bool catalog_loaded = false;
  json catalog_categories, catalog_brands, catalog_items;  // arrays, in list order
  void EnsureCatalog();

  void AddRoute(const std::string& method, const std::string& pattern, Handler h,
                const std::string& summary);
  // A route served by one of the Impl's own handlers.
  void AddMethodRoute(const char* method, const char* pattern, HttpResponse (Impl::*fn)(Ctx&),
                      const char* summary) {
    AddRoute(
        method, pattern, [fn](Impl& impl, Ctx& ctx) { return (impl.*fn)(ctx); }, summary);
  }
  void RegisterRoutes();
  void RegisterResourceRoutes();
  HttpResponse Dispatch(const HttpRequest& request, std::string* route_label);
  // The rows of `table` (a sync table name) the user can read with this id:
  // its API JSON text, nullopt when there is none (rejected pushes return it).
  std::optional<std::string> VisibleRowText(Session& s, const std::string& table,
                                            const std::string& id, const std::string& user_id);

  // Sets ctx.user_id from the bearer token or throws 401.
  void Authenticate(Session& s, Ctx& ctx);
  HttpResponse ReadAuthed(Ctx& ctx, const std::function<HttpResponse(Session&)>& fn);
  HttpResponse WriteAuthed(Ctx& ctx, const std::function<HttpResponse(Session&)>& fn);

  // Membership role of the user in the project, nullopt when not a member.
  std::optional<std::string> Role(Session& s, const std::string& project_id,
                                  const std::string& user_id) {
    return writes.Role(s, project_id, user_id);
  }

  // Handlers (api.cc).
  HttpResponse Register(Ctx& ctx);
  HttpResponse Login(Ctx& ctx);
  HttpResponse Logout(Ctx& ctx);
  HttpResponse GetMe(Ctx& ctx);
  HttpResponse PatchMe(Ctx& ctx);
  HttpResponse CatalogCategories(Ctx& ctx);
  HttpResponse CatalogBrands(Ctx& ctx);
  HttpResponse CatalogItems(Ctx& ctx);
  HttpResponse CatalogItem(Ctx& ctx);
  HttpResponse BulkInitial(Ctx& ctx);
  HttpResponse BulkProject(Ctx& ctx);
  HttpResponse SyncPull(Ctx& ctx);
  HttpResponse SyncSnapshot(Ctx& ctx);
  HttpResponse SyncDigest(Ctx& ctx);
  // Runs the whole request again (a parked long poll, resumed).
  std::function<HttpResponse(const HttpRequest&)> handle_again;
  HttpResponse Health(Ctx& ctx);
  HttpResponse PoolStatus(Ctx& ctx);
  HttpResponse MetricsText(Ctx& ctx);
  json OpenApi() const;

  // Resources (api_resources.cc).
  HttpResponse ListResource(const ResourceDef& def, Ctx& ctx);
  HttpResponse CreateResource(const ResourceDef& def, Ctx& ctx);
  HttpResponse GetResource(const ResourceDef& def, Ctx& ctx);
  HttpResponse PatchResource(const ResourceDef& def, Ctx& ctx);
  HttpResponse DeleteResource(const ResourceDef& def, Ctx& ctx);
  HttpResponse SyncPush(Ctx& ctx);
  // One page of a resource, for lists and bulk reads.
  PageText ResourcePage(Session& s, const ResourceDef& def, const std::string& scope_id,
                        const std::string& user_id,
                        const std::map<std::string, std::string>& filters, const Page& page,
                        bool* found);
  HttpResponse ListProjects(Ctx& ctx);
  json ProjectsPage(Session& s, const std::string& user_id, const Page& page);
  HttpResponse CreateProject(Ctx& ctx);
  HttpResponse GetProject(Ctx& ctx);
  HttpResponse PatchProject(Ctx& ctx);
  HttpResponse DeleteProject(Ctx& ctx);
  HttpResponse ListMembers(Ctx& ctx);
  HttpResponse AddMember(Ctx& ctx);
  HttpResponse RemoveMember(Ctx& ctx);
  const ResourceDef& Resource(const std::string& name) const;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_API_INTERNAL_H_
