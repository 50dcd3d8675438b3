// The Api: its units wired together and the one HTTP error boundary.
// Api::Handle runs every request through the Router and turns whatever a
// handler throws into a JSON error with its status (STYLE.md's error rules),
// then records the request's metrics and log line.
#include "server/api.h"

#include <optional>

#include "server/api_accounts.h"
#include "server/api_bulk.h"
#include "server/api_catalog.h"
#include "server/api_context.h"
#include "server/api_openapi.h"
#include "server/api_ops.h"
#include "server/api_projects.h"
#include "server/api_resources.h"
#include "server/api_router.h"
#include "server/api_sync.h"

namespace vemakin::server {

namespace {

// The method as a metrics label: made-up methods share one ("other"), so a
// client cannot grow /metrics without bound (routes already do: "unmatched").
const std::string& MethodLabel(const std::string& method) {
  static const std::string kKnown[] = {"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"};
  static const std::string kOther = "other";
  for (const std::string& m : kKnown) {
    if (m == method) return m;
  }
  return kOther;
}

}  // namespace

// The shared context, the route table and one unit per concept, each of
// which registers its routes once, here.
struct Api::Impl {
  Impl(ApiOptions options, Db& db, Metrics& metrics,
       std::function<HttpResponse(const HttpRequest&)> handle_again)
      : context(std::move(options), db, metrics),
        accounts(context),
        catalog(context),
        bulk(context, catalog),
        sync(context, catalog, std::move(handle_again)),
        ops(context, router),
        resources(context),
        projects(context) {
    // Matching scans the routes in this order; no two patterns match the
    // same path, so the order only affects how soon a route is found.
    accounts.RegisterRoutes(router);
    catalog.RegisterRoutes(router);
    bulk.RegisterRoutes(router);
    sync.RegisterRoutes(router);
    ops.RegisterRoutes(router);
    resources.RegisterRoutes(router);
    projects.RegisterRoutes(router);
  }

  ApiContext context;
  Router router;
  AccountsApi accounts;
  CatalogApi catalog;
  BulkApi bulk;
  SyncApi sync;
  OpsApi ops;
  ResourcesApi resources;
  ProjectsApi projects;
};

Api::Api(ApiOptions options, Db& db, Metrics& metrics)
    : impl_(
          std::make_unique<Impl>(std::move(options), db, metrics,
                                 [this](const HttpRequest& request) { return Handle(request); })) {}

Api::~Api() = default;

void Api::SetConnectionGauge(std::function<int()> open_connections) {
  impl_->ops.SetConnectionGauge(std::move(open_connections));
}

std::string Api::OpenApiJson() const { return OpenApiDocument(impl_->router).dump(); }

HttpResponse Api::Handle(const HttpRequest& request) {
  const ApiOptions& options = impl_->context.options();
  const auto start = std::chrono::steady_clock::now();
  std::string route = "unmatched";
  HttpResponse response;
  try {
    std::optional<AcquireDeadline> budget;
    if (request.received_at.time_since_epoch().count() != 0) {
      if (start - request.received_at > options.queue_timeout) {
        throw Error(ErrorCode::kUnavailable, "server busy; retry shortly");
      }
      // Time spent queued for a worker counts against the pool timeout.
      budget.emplace(request.received_at + options.queue_timeout);
    }
    Db::TakeCommitLsn();  // nothing of an earlier request on this thread
    response = impl_->router.Dispatch(request, &route);
  } catch (const HttpError& e) {
    response = JsonResponse(e.status(), e.body());
    response.headers = e.headers;
  } catch (const Error& e) {
    const int status = HttpStatusFor(e.code());
    if (status >= 500 && e.code() != ErrorCode::kUnavailable &&
        e.code() != ErrorCode::kDeadlineExceeded && e.code() != ErrorCode::kAborted) {
      response = JsonResponse(status, json{{"detail", "internal server error"}});
    } else if (status == 422) {
      response = JsonResponse(422, json{{"detail", json::array({{{"loc", json::array({"body"})},
                                                                 {"msg", e.what()},
                                                                 {"type", "value"}}})}});
    } else {
      response = JsonResponse(status, json{{"detail", e.what()}});
    }
    if (status == 503) response.headers.emplace_back("Retry-After", "1");
  } catch (const std::exception& e) {
    options.logger->Log(LogLevel::kError, "http", "unhandled error",
                        {{"request_id", request.request_id}, {"error", e.what()}});
    response = JsonResponse(500, json{{"detail", "internal server error"}});
  }
  if (request.method != "GET" && request.method != "HEAD" && request.method != "OPTIONS" &&
      response.status < 300 && !response.defer) {
    // Its writes have committed: where the client's next read must reach
    // (a no-op without read replicas).
    impl_->context.AddWriteLsn(response);
  }
  if (!options.cors_origin.empty()) {
    response.headers.emplace_back("Access-Control-Allow-Origin", options.cors_origin);
    response.headers.emplace_back("Access-Control-Expose-Headers",
                                  "X-Request-Id, X-Request-Time, X-Vemakin-Lsn");
  }
  if (response.defer) return response;  // parked: counted and logged when it answers
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  impl_->context.metrics().RecordRequest(MethodLabel(request.method), route, response.status,
                                         seconds);
  Logger& log = *options.logger;
  const bool slow = seconds * 1000 >= options.slow_request.count();
  const LogLevel level = slow ? LogLevel::kWarning : LogLevel::kInfo;
  if (log.Enabled(level)) {
    nlohmann::json fields{{"request_id", request.request_id},
                          {"method", request.method},
                          {"route", route},
                          {"status", response.status},
                          {"duration_ms", seconds * 1000},
                          {"remote", request.remote_address}};
    if (request.peer_address != request.remote_address) {
      fields["proxy"] = request.peer_address;
    }
    log.Log(level, "http", slow ? "slow request" : "request", fields);
  }
  return response;
}

}  // namespace vemakin::server
