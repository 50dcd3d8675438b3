// The operational routes (api_ops.h).
#include "server/api_ops.h"

#include <string>

#include "server/api_openapi.h"

namespace vemakin::server {
namespace {

bool IsLoopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address.rfind("::ffff:127.", 0) == 0;
}

}  // namespace

HttpResponse OpsApi::Health(Ctx&) {
  try {
    api_.db().Read([&](Session& s) { s.Exec(api_.Stmt("SELECT 1")); });
    return JsonResponse(200, json{{"status", "ok"}, {"database", "ok"}});
  } catch (const Error&) {
    return JsonResponse(503, json{{"status", "unavailable"}, {"database", "unreachable"}});
  }
}

// Loopback only: the pool's state is for operators (a sidecar, a port-forward,
// the admin tool on the host), and the model has no admin role to check.
HttpResponse OpsApi::Pool(Ctx& ctx) {
  if (!IsLoopback(ctx.http.remote_address)) throw HttpError::Detail(404, "not found");
  const PoolStatus st = api_.db().pool().Status();
  return JsonResponse(200,
                      json{{"size", st.size},
                           {"checked_in", st.checked_in},
                           {"checked_out", st.checked_out},
                           {"overflow", st.overflow},
                           {"max_overflow", api_.db().pool().options().max_overflow},
                           {"waiters", st.waiters},
                           {"opened", st.opened},
                           {"invalidated", st.invalidated},
                           {"timeouts", st.timeouts},
                           {"open_http_connections", open_connections_ ? open_connections_() : 0}});
}

HttpResponse OpsApi::MetricsText(Ctx&) {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = api_.metrics().RenderPrometheus();
  return r;
}

HttpResponse OpsApi::OpenApi(Ctx&) { return JsonResponse(200, OpenApiDocument(router_)); }

void OpsApi::RegisterRoutes(Router& router) {
  router.Add("GET", "/health", this, &OpsApi::Health, "Liveness and database check");
  router.Add("GET", "/admin/pool-status", this, &OpsApi::Pool,
             "Connection pool state (loopback only)");
  router.Add("GET", "/metrics", this, &OpsApi::MetricsText, "Prometheus metrics");
  router.Add("GET", "/openapi.json", this, &OpsApi::OpenApi, "This API described (OpenAPI 3.0)");
}

}  // namespace vemakin::server
