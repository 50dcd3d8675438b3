// The operational routes (api_ops.h).
#include "server/api_ops.h"

#include <string>

#include "server/api_openapi.h"

namespace vemakin::server {
namespace {

bool IsLoopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address.rfind("::ffff:127.", 0) == 0;
}

// A request from this host: a loopback client, and not one that a proxy on
// this host relayed. A relayed request arrives from loopback too; behind a
// trusted proxy remote_address already is the real client, and a forwarding
// header from a peer we do not trust means a proxy nobody told us about.
bool IsLocal(const HttpRequest& request) {
  // A proxy's "loopback" is its own host's: the peer must be this host too.
  if (!IsLoopback(request.remote_address) || !IsLoopback(request.peer_address)) return false;
  if (request.peer_address != request.remote_address) return true;  // a local trusted proxy
  return request.Header("X-Forwarded-For").empty() && request.Header("Forwarded").empty() &&
         request.Header("X-Real-IP").empty();
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
  if (!IsLocal(ctx.http)) throw HttpError::Detail(404, "not found");
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

// The horizon lag: the age of the oldest transaction in the cluster that
// holds an xid. Pulls return changes only below it (the one total order), so
// while it stays open every client waits for whatever committed after it
// began; `idle_in_transaction_session_timeout` bounds it (docs/sync-protocol.md).
HttpResponse OpsApi::MetricsText(Ctx&) {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = api_.metrics().RenderPrometheus();
  try {
    double lag = 0;
    api_.db().Read([&](Session& s) {
      lag =
          s.Exec(api_.Stmt("SELECT coalesce(extract(epoch FROM now() - min(xact_start)), 0)"
                           "::float8 FROM pg_stat_activity WHERE backend_xid IS NOT NULL"))[0][0]
              .as<double>();
    });
    r.body +=
        "# HELP vemakin_sync_horizon_lag_seconds Age of the oldest open writing transaction "
        "in the cluster; changes committed after it began wait for it\n"
        "# TYPE vemakin_sync_horizon_lag_seconds gauge\n"
        "vemakin_sync_horizon_lag_seconds " +
        std::to_string(lag) + "\n";
    if (lag >= static_cast<double>(api_.options().horizon_warning.count())) {
      api_.options().logger->Log(
          LogLevel::kWarning, "sync",
          "a transaction open this long holds every client's changes back; set "
          "idle_in_transaction_session_timeout",
          {{"horizon_lag_s", lag}});
    }
  } catch (const Error&) {
    // The database is unreachable: /health says so; the other metrics still render.
  }
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
