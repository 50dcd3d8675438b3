// Route matching (api_router.h): path segments against each pattern in
// order, percent-decoded path parameters and query string, CORS preflights,
// and 404/405 for what no route serves.
#include "server/api_router.h"

#include <map>
#include <utility>

namespace vemakin::server {
namespace {

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

}  // namespace

void Router::Add(const std::string& method, const std::string& pattern, Handler handler,
                 const std::string& summary, const core::TableSpec* resource) {
  routes_.push_back({method, pattern, Split(pattern), std::move(handler), summary, resource});
}

HttpResponse Router::Dispatch(const HttpRequest& request, std::string* route_label) const {
  const std::vector<std::string> segments = Split(request.path);
  bool path_matched = false;
  std::vector<std::string> allowed;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::vector<std::string> params;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const std::string& p = route.segments[i];
      if (!p.empty() && p.front() == '{') {
        if (segments[i].empty()) match = false;
        params.push_back(PercentDecode(segments[i]));
      } else if (p != segments[i]) {
        match = false;
      }
    }
    if (!match) continue;
    path_matched = true;
    *route_label = route.pattern;
    allowed.push_back(route.method);
    if (route.method != request.method) continue;
    Ctx ctx{request, std::move(params), ParseQuery(request.query), "", ""};
    return route.handler(ctx);
  }
  if (path_matched) {
    if (request.method == "OPTIONS") {  // CORS preflight
      HttpResponse r;
      r.status = 204;
      std::string methods;
      for (const std::string& m : allowed) methods += (methods.empty() ? "" : ", ") + m;
      r.headers.emplace_back("Access-Control-Allow-Methods", methods + ", OPTIONS");
      r.headers.emplace_back("Access-Control-Allow-Headers",
                             "Authorization, Content-Type, X-Vemakin-Min-Lsn");
      r.headers.emplace_back("Access-Control-Max-Age", "600");
      return r;
    }
    HttpError e = HttpError::Detail(405, "method not allowed");
    throw e;
  }
  *route_label = "unmatched";
  throw HttpError::Detail(404, "not found");
}

}  // namespace vemakin::server
