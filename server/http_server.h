// The HTTP/1.1 listener (SPEC.md "HTTP listener"): Boost.Beast on Boost.Asio,
// asynchronous accept/read/write so an idle keep-alive connection costs a
// socket and a buffer, never a thread. Every read has a deadline (headers and
// body together), the parser caps header and body size, ambiguous framing is
// refused by Beast's parser, and responses carry X-Request-Id and
// X-Request-Time.
//
// Framing is checked once the headers are in, before any body byte is read
// (server/http_request.h): two Content-Length headers, Content-Length with
// Transfer-Encoding, or a Transfer-Encoding other than chunked are refused
// (400); a compressed body is accepted only as gzip (sync pushes) and
// inflated up to the same cap: a decompression bomb gets 413 after at most
// max_body_bytes of output, other encodings get 415. Bodies over the cap get
// 413 whether announced by Content-Length or discovered while reading
// chunks. The handler runs on the WorkerPool given in the options, never on
// an I/O thread, so a slow database never stalls accepting or reading.
//
// With a certificate and key (HttpServerOptions::tls_cert_file) every
// connection is HTTPS: Boost.Asio's SSL stream over OpenSSL, the handshake
// within request_timeout, TLS 1.2 or 1.3.
//
// Connections are capped in total and per client address (past a cap the
// listener answers 503/429 and closes); when the process runs out of file
// descriptors, accepting pauses for 100 ms (logged, counted) instead of
// spinning on the failing accept.
//
// Thread-safety: Start/Stop from one owner thread; the handler is called
// concurrently from `io_threads` threads.
#ifndef VEMAKIN_SERVER_HTTP_SERVER_H_
#define VEMAKIN_SERVER_HTTP_SERVER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/log.h"
#include "server/forwarded.h"
#include "server/http_request.h"
#include "server/worker_pool.h"

namespace vemakin::server {

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set by a handler that answers later (a long poll). The server calls it
  // once, instead of replying, with `resume`: resume(work) runs `work` on a
  // worker and replies with its response (which may defer again).
  using Resume = std::function<void(std::function<HttpResponse()>)>;
  std::function<void(Resume)> defer;

  static HttpResponse Json(int status, const std::string& body);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;  // 0 = any free port (see HttpServer::port())
  int io_threads = 2;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  std::size_t max_url_bytes = 4096;
  std::chrono::milliseconds request_timeout{15000};  // headers + body of one request
  std::chrono::milliseconds idle_timeout{75000};     // between keep-alive requests
  int listen_backlog = 1024;
  // Open connections allowed in all and from one client address; a connection
  // past either is answered 503 (all) or 429 (one address) and closed at once.
  int max_connections = 20000;
  int max_connections_per_address = 512;
  // Reverse proxies whose X-Forwarded-For/Forwarded header names the client
  // (server/forwarded.h). A trusted proxy's connections carry many clients,
  // so the per-address cap does not apply to them.
  TrustedProxies trusted_proxies;
  // Where handlers run. Null = on the I/O thread (only for handlers that never
  // block). When the pool's queue is full, or a request is still queued after
  // queue_timeout, the request gets 503 + Retry-After.
  WorkerPool* workers = nullptr;
  std::chrono::milliseconds queue_timeout{30000};
  // HTTPS: a PEM certificate chain and its private key (both, or neither for
  // plain HTTP). TLS 1.2 and 1.3 only; ReloadTls() reads them again.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::shared_ptr<Logger> logger;  // null = DefaultLogger()
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds (without SO_REUSEPORT: a second server on the port fails here) and
  // starts the I/O threads. Throws Error(kUnavailable) when the address is taken.
  void Start();
  // Closes the listener and every connection, joins the threads. Idempotent.
  void Stop();
  // Reads the certificate and key files again (a renewed certificate, on
  // SIGHUP): connections accepted from now on use them, open ones keep
  // theirs. Throws Error(kInvalidArgument), keeping the old ones, when the new
  // files cannot be used. No-op without TLS. Thread-safe.
  void ReloadTls();
  bool tls() const;
  // The bound port (useful with port 0).
  std::uint16_t port() const;
  // Connections currently open (idle keep-alive ones included).
  int open_connections() const;
  // Connections refused past a cap, and times accepting paused because the
  // process ran out of file descriptors (EMFILE/ENFILE), since start.
  std::uint64_t refused_connections() const;
  std::uint64_t accept_pauses() const;
  // Requests answered by the listener itself, before routing (400, 413, 414,
  // 415, 431: malformed or too large), since start.
  std::uint64_t refused_requests() const;

  struct Impl;  // opaque: defined in http_server.cc, shared with its sessions

 private:
  std::unique_ptr<Impl> impl_;
};

// "HOST:PORT" -> (host, port); throws Error(kInvalidArgument) when malformed.
std::pair<std::string, std::uint16_t> ParseListenAddress(const std::string& listen);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_HTTP_SERVER_H_
