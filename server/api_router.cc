// Route matching (api_router.h): path segments against each pattern in
// order, percent-decoded path parameters and query string, CORS preflights,
// and 404/405 for what no route serves.
#include "server/api_router.h"

#include <map>
#include <utility>

namespace vemakin::server {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(const std::string& query) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    size_t amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    const std::string pair = query.substr(start, amp - start);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      const std::string key = PercentDecode(pair.substr(0, eq));
      const std::string value = eq == std::string::npos ? "" : PercentDecode(pair.substr(eq + 1));
      out.emplace(key, value);  // the first occurrence wins
    }
    start = amp + 1;
  }
  return out;
}

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
      r.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
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
