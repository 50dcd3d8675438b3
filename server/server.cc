#include "server/server.h"

#include <mutex>
#include <optional>
#include <pqxx/pqxx>

#include "core/error.h"

namespace vemakin::server {

std::string WithConnectionSettings(const std::string& url, std::chrono::seconds connect_timeout,
                                   std::chrono::milliseconds statement_timeout) {
  const std::string options =
      "-c statement_timeout=" + std::to_string(statement_timeout.count()) + " -c TimeZone=UTC";
  const std::string timeout = std::to_string(connect_timeout.count());
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    // URL form: settings go in the query string, percent-encoded.
    std::string encoded;
    for (char c : options) {
      if (c == ' ') {
        encoded += "%20";
      } else if (c == '=') {
        encoded += "%3D";
      } else {
        encoded += c;
      }
    }
    const char sep = url.find('?') == std::string::npos ? '?' : '&';
    return url + sep + "connect_timeout=" + timeout + "&options=" + encoded;
  }
  return url + (url.empty() ? "" : " ") + "connect_timeout=" + timeout + " options='" + options +
         "'";
}

// One connection for health checks, reopened after a failure. The pool of
// issue #3 replaces it.
struct Server::State {
  std::mutex mu;
  std::optional<pqxx::connection> conn;
};

Server::Server(ServerOptions options) : options_(std::move(options)), state_(new State) {
  if (!options_.logger) options_.logger = DefaultLogger();
  const auto [host, port] = ParseListenAddress(options_.listen);
  HttpServerOptions http;
  http.host = host;
  http.port = port;
  http.io_threads = options_.threads;
  http.max_body_bytes = options_.max_body_bytes;
  http.logger = options_.logger;
  http_ = std::make_unique<HttpServer>(http, [this](const HttpRequest& r) { return Handle(r); });
}

Server::~Server() { Stop(); }

void Server::Start() { http_->Start(); }
void Server::Stop() {
  if (http_) http_->Stop();
}
std::uint16_t Server::port() const { return http_->port(); }

HttpResponse Server::Handle(const HttpRequest& request) {
  if (request.path == "/health") {
    if (request.method != "GET" && request.method != "HEAD") {
      HttpResponse r = HttpResponse::Json(405, R"({"detail":"method not allowed"})");
      r.headers.emplace_back("Allow", "GET, HEAD");
      return r;
    }
    return Health();
  }
  return HttpResponse::Json(404, R"({"detail":"not found"})");
}

HttpResponse Server::Health() {
  std::lock_guard<std::mutex> lock(state_->mu);
  try {
    if (!state_->conn || !state_->conn->is_open()) {
      state_->conn.emplace(WithConnectionSettings(options_.database_url, options_.connect_timeout,
                                                  options_.statement_timeout));
    }
    pqxx::nontransaction tx(*state_->conn);
    tx.exec("SELECT 1");
    return HttpResponse::Json(200, R"({"status":"ok","database":"ok"})");
  } catch (const std::exception& e) {
    state_->conn.reset();
    options_.logger->Log(LogLevel::kWarning, "db", "health check failed", {{"error", e.what()}});
    return HttpResponse::Json(503, R"({"status":"unavailable","database":"unreachable"})");
  }
}

}  // namespace vemakin::server
