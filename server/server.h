// vemakin-server as a library: the options of SPEC.md section 2 and the
// object that serves them. The foundation serves GET /health (liveness plus a
// database round trip); the REST API of issue #3 plugs into the same router.
// Thread-safety: Start/Stop from one owner thread.
#ifndef VEMAKIN_SERVER_SERVER_H_
#define VEMAKIN_SERVER_SERVER_H_

#include <chrono>
#include <memory>
#include <string>

#include "core/log.h"
#include "server/http_server.h"

namespace vemakin::server {

struct ServerOptions {
  std::string database_url;               // libpq URL or key=value string; "" = PG* variables
  std::string listen = "127.0.0.1:8000";  // HOST:PORT; port 0 picks a free one
  int threads = 2;                        // I/O threads
  std::chrono::seconds connect_timeout{10};
  std::chrono::milliseconds statement_timeout{30000};
  std::size_t max_body_bytes = 1 << 20;
  std::shared_ptr<Logger> logger;  // null = DefaultLogger()
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and serves in background threads. Throws Error on a bad address or a
  // taken port.
  void Start();
  void Stop();
  std::uint16_t port() const;

 private:
  HttpResponse Handle(const HttpRequest& request);
  HttpResponse Health();

  struct State;
  ServerOptions options_;
  std::unique_ptr<State> state_;
  std::unique_ptr<HttpServer> http_;
};

// The libpq connection string for `url` with connect_timeout and the session's
// statement_timeout/TimeZone appended (as libpq `options`).
std::string WithConnectionSettings(const std::string& url, std::chrono::seconds connect_timeout,
                                   std::chrono::milliseconds statement_timeout);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_SERVER_H_
