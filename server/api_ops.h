// The operational routes of the API: /health (liveness and a database round
// trip), /admin/pool-status (the connection pool, loopback only), /metrics
// (Prometheus text) and /openapi.json (the document server/api_openapi.h
// builds from the route table). They are for operators and load balancers,
// not for clients of the data.
#ifndef VEMAKIN_SERVER_API_OPS_H_
#define VEMAKIN_SERVER_API_OPS_H_

#include <functional>

#include "server/api_context.h"
#include "server/api_router.h"

namespace vemakin::server {

// Thread-safe once serving; SetConnectionGauge must be called before.
class OpsApi {
 public:
  // `api` and `router` must outlive the OpsApi; /openapi.json describes the
  // routes `router` holds when it is asked.
  OpsApi(ApiContext& api, const Router& router) : api_(api), router_(router) {}
  OpsApi(const OpsApi&) = delete;
  OpsApi& operator=(const OpsApi&) = delete;

  // /health, /admin/pool-status, /metrics, /openapi.json.
  void RegisterRoutes(Router& router);
  // The listener's open connections, for /admin/pool-status (0 when unset).
  // Not synchronised: call before the server starts serving.
  void SetConnectionGauge(std::function<int()> open_connections) {
    open_connections_ = std::move(open_connections);
  }

 private:
  HttpResponse Health(Ctx& ctx);
  HttpResponse Pool(Ctx& ctx);
  HttpResponse MetricsText(Ctx& ctx);
  HttpResponse OpenApi(Ctx& ctx);

  ApiContext& api_;
  const Router& router_;
  std::function<int()> open_connections_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_API_OPS_H_
