// The REST API of SPEC.md section 2 on top of Db. One unit per concept owns
// and registers its routes: accounts (server/api_accounts.h), projects and
// members (api_projects.h), the generic resources (api_resources.h), the
// catalog with its cache (api_catalog.h), bulk reads (api_bulk.h), sync
// (api_sync.h) and the operational routes (api_ops.h, api_openapi.h); they
// share an ApiContext (api_context.h) and one Router (api_router.h).
// `Handle` is the HttpServer's handler: it runs on a worker thread, never
// throws, and maps every failure to a JSON error with the right status
// (the HTTP boundary of STYLE.md's error rules).
// Thread-safe.
#ifndef VEMAKIN_SERVER_API_H_
#define VEMAKIN_SERVER_API_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "server/auth.h"
#include "server/change_bell.h"
#include "server/db.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/read_replicas.h"

namespace vemakin::server {

struct ApiOptions {
  std::chrono::hours token_ttl{24 * 30};
  int max_concurrent_hashes = 2;
  std::chrono::milliseconds slow_request{1000};
  int max_json_depth = 64;
  std::string cors_origin = "*";  // Access-Control-Allow-Origin; "" = no CORS headers
  // A request that waited longer than this for a worker gets 503 (the pool
  // timeout: waiting for a worker is waiting for a connection).
  std::chrono::milliseconds queue_timeout{30000};
  // /metrics logs a warning when the horizon lag (the oldest open writing
  // transaction) is at least this old.
  std::chrono::seconds horizon_warning{30};
  // Wakes long-polling pulls (sync --watch); null = pulls never wait.
  ChangeBell* bell = nullptr;
  // Read replicas for pulls and snapshots (server/read_replicas.h); null or
  // empty = everything reads the primary.
  ReadReplicas* replicas = nullptr;
  // Bytes of rows one page may carry (lists, bulk reads, snapshots, pulls):
  // past it the page ends early and says so (has_more). Measured as
  // PostgreSQL's size of the stored rows, close to their JSON size.
  long long max_page_bytes = 4 << 20;
  // Pulls parked at once, in all (past it: 503) and per user (past it: 429).
  int max_parked_pulls = 20000;
  int max_parked_pulls_per_user = 32;
  std::shared_ptr<Logger> logger;
};

class Api {
 public:
  // `db` and `metrics` must outlive the Api. Touches neither: the catalog
  // cache loads on first use.
  Api(ApiOptions options, Db& db, Metrics& metrics);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  HttpResponse Handle(const HttpRequest& request);
  // The listener's open connections for /admin/pool-status (set by the
  // Server before it serves).
  void SetConnectionGauge(std::function<int()> open_connections);
  // The OpenAPI document (also served at /openapi.json).
  std::string OpenApiJson() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_API_H_
