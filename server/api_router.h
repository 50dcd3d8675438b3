// The API's route table: each unit of the API (server/api_*.cc) adds its
// routes once, at construction; api.cc's Api::Handle dispatches every request
// through it. A route is a method and a pattern ("/api/shots/{id}"), whose
// {…} segments become Ctx::path; the pattern is also the request's metrics
// label, and the routes with their summaries are what /openapi.json describes
// (server/api_openapi.h).
#ifndef VEMAKIN_SERVER_API_ROUTER_H_
#define VEMAKIN_SERVER_API_ROUTER_H_

#include <functional>
#include <string>
#include <vector>

#include "core/model.h"
#include "server/api_context.h"
#include "server/http_server.h"

namespace vemakin::server {

// Thread-safety: Add only while the Api is being built; afterwards the table
// is read-only and Dispatch may run on any number of threads.
class Router {
 public:
  using Handler = std::function<HttpResponse(Ctx&)>;
  struct Route {
    std::string method;
    std::string pattern;  // "/api/shots/{id}": also the metrics label
    std::vector<std::string> segments;
    Handler handler;
    std::string summary;  // for /openapi.json
    // The table of a generic resource route (server/api_resources.h): its
    // list's query parameters and its body's schema in /openapi.json.
    const core::TableSpec* resource = nullptr;
  };

  Router() = default;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Routes are matched in the order they were added.
  void Add(const std::string& method, const std::string& pattern, Handler handler,
           const std::string& summary, const core::TableSpec* resource = nullptr);
  // A route served by a member function of `unit`, which must outlive the Router.
  template <typename Unit>
  void Add(const std::string& method, const std::string& pattern, Unit* unit,
           HttpResponse (Unit::*fn)(Ctx&), const std::string& summary) {
    Add(
        method, pattern, [unit, fn](Ctx& ctx) { return (unit->*fn)(ctx); }, summary);
  }

  // Runs the handler of the route matching the request's path and method and
  // sets *route_label to its pattern ("unmatched" when no path matches). An
  // OPTIONS request to a known path is a CORS preflight (204 with the path's
  // methods). Throws HttpError 404 for an unknown path, 405 for a known path
  // without that method, and whatever the handler throws.
  HttpResponse Dispatch(const HttpRequest& request, std::string* route_label) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_API_ROUTER_H_
