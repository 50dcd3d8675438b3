// Beast session state machine, per connection:
//
//   WaitFirstByte --(byte within idle/request timeout)--> ReadRequest
//   ReadRequest   --(headers+body within request_timeout)--> Respond
//   ReadRequest   --(limit exceeded / malformed)--> Respond error, then Close
//   Respond       --(keep-alive)--> WaitFirstByte
//   Respond       --(close)--> Close
//   any state     --(timeout / peer reset)--> Close
//
// Waiting for the first byte uses the idle timeout; from the first byte on, the
// whole request must arrive within request_timeout, which is what drops a
// slowloris client that trickles its headers.
#include "server/http_server.h"

#include <sodium.h>
#include <zlib.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/error.h"

namespace vemakin::server {
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

HttpResponse HttpResponse::Json(int status, const std::string& body) {
  HttpResponse r;
  r.status = status;
  r.body = body;
  return r;
}

std::pair<std::string, std::uint16_t> ParseListenAddress(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= listen.size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "listen address must be HOST:PORT, got '" + listen + "'");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    throw Error(ErrorCode::kInvalidArgument, "invalid port in listen address '" + listen + "'");
  }
  return {host, static_cast<std::uint16_t>(port)};
}

struct HttpServer::Impl {
  HttpServerOptions options;
  FramingLimits limits;  // from options
  HttpHandler handler;
  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::atomic<std::uint64_t> request_counter{0};
  std::string id_prefix;
  std::uint16_t bound_port = 0;
  std::atomic<int> open_connections{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> accept_pauses{0};
  std::atomic<std::uint64_t> refused_requests{0};  // answered here, before any route
  std::mutex address_mu;
  std::unordered_map<std::string, int> per_address;  // open connections per ClientKey()
  std::optional<net::steady_timer> accept_pause;
  bool running = false;
  std::mutex tls_mu;
  std::shared_ptr<net::ssl::context> tls;  // guarded by tls_mu; null = plain HTTP

  // The TLS context new connections get (null: plain HTTP).
  std::shared_ptr<net::ssl::context> TlsContext() {
    std::lock_guard<std::mutex> lock(tls_mu);
    return tls;
  }

  Impl(HttpServerOptions o, HttpHandler h)
      : options(std::move(o)),
        limits{options.max_body_bytes, options.max_header_bytes, options.max_url_bytes},
        handler(std::move(h)),
        ioc(std::max(1, options.io_threads)) {
    unsigned char rnd[4];
    randombytes_buf(rnd, sizeof rnd);
    char buf[9];
    std::snprintf(buf, sizeof buf, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
    id_prefix = buf;
  }

  std::string NextRequestId() {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s-%llu", id_prefix.c_str(),
                  static_cast<unsigned long long>(++request_counter));
    return buf;
  }

  void Accept();
  // Counts a new connection from `address`; false (counting nothing) past a cap.
  // `status` is then the refusal's status.
  bool Admit(const std::string& address, int* status);
  void Leave(const std::string& address);
};

namespace {

constexpr std::size_t kGzipMinBytes = 2048;

// A server context from PEM files: TLS 1.2 and 1.3 only (OpenSSL's default
// ciphers at Debian's security level), no renegotiation (a client could make
// the server redo handshakes at will), no compression. Throws
// Error(kInvalidArgument) naming what could not be used.
std::shared_ptr<net::ssl::context> LoadTls(const std::string& cert_file,
                                           const std::string& key_file) {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                                SSL_OP_CIPHER_SERVER_PREFERENCE);
  // An encrypted key is refused, never prompted for: OpenSSL would ask on
  // the terminal and block the start (or a SIGHUP reload).
  ctx->set_password_callback(
      [](std::size_t, net::ssl::context::password_purpose) { return std::string(); });
  beast::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    throw Error(ErrorCode::kInvalidArgument,
                "cannot use the TLS certificate " + cert_file + ": " + ec.message());
  }
  ctx->use_private_key_file(key_file, net::ssl::context::pem, ec);
  if (ec) {
    throw Error(ErrorCode::kInvalidArgument,
                "cannot use the TLS key " + key_file + ": " + ec.message());
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "the TLS key " + key_file + " does not belong to the certificate " + cert_file);
  }
  return ctx;
}

// True when the request's Accept-Encoding lists gzip (without q=0).
bool AcceptsGzip(const HttpRequest& request) {
  const std::string accept = request.Header("Accept-Encoding");
  const size_t at = accept.find("gzip");
  if (at == std::string::npos) return false;
  const size_t end = accept.find(',', at);
  const std::string item = accept.substr(at, end == std::string::npos ? end : end - at);
  return item.find("q=0") == std::string::npos || item.find("q=0.") != std::string::npos;
}

// gzip of `in` (zlib level 4: most of level 9's ratio on JSON at a third of
// its cost). False when zlib fails, and the body is then sent as it is.
bool GzipCompress(const std::string& in, std::string* out) {
  z_stream z{};
  if (deflateInit2(&z, 4, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  out->resize(deflateBound(&z, static_cast<uLong>(in.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out->data());
  z.avail_out = static_cast<uInt>(out->size());
  const int rc = deflate(&z, Z_FINISH);
  out->resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END;
}

std::string ErrorBody(const std::string& detail) {
  return nlohmann::json{{"detail", detail}}.dump();
}

// Stream: beast::tcp_stream (plain HTTP) or TlsStream (HTTPS: the TLS
// handshake first, within request_timeout, then the same state machine).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;

 public:
  // The connection was admitted (HttpServer::Impl::Admit) for `remote`.
  // With TLS, `tls` is the context the stream was made with, kept alive with it.
  Session(Stream stream, std::string remote, HttpServer::Impl& server,
          std::shared_ptr<net::ssl::context> tls = nullptr)
      : stream_(std::move(stream)),
        server_(server),
        remote_(std::move(remote)),
        tls_(std::move(tls)) {}
  ~Session() { server_.Leave(remote_); }

  void Run() {
    if constexpr (kTls) {
      Lowest().expires_after(server_.options.request_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->WaitFirstByte(self->server_.options.request_timeout);
                              });
    } else {
      WaitFirstByte(server_.options.request_timeout);
    }
  }

 private:
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void WaitFirstByte(std::chrono::milliseconds timeout) {
    if (buffer_.size() > 0) {  // pipelined bytes already buffered
      ReadRequest();
      return;
    }
    Lowest().expires_after(timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->Close();
                              self->buffer_.commit(n);
                              self->ReadRequest();
                            });
  }

  void ReadRequest() {
    parser_.emplace();
    ApplyLimits(server_.limits, &*parser_);
    Lowest().expires_after(server_.options.request_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  static bool IsDisconnect(const beast::error_code& ec) {
    return ec == http::error::end_of_stream || ec == beast::error::timeout ||
           ec == net::ssl::error::stream_truncated || ec == net::error::operation_aborted ||
           ec == net::error::connection_reset || ec == net::error::eof ||
           ec == net::error::broken_pipe;
  }

  void ReplyReadError(const beast::error_code& ec) {
    const FramingError refusal = RefusalFor(ec);
    Reply(MakeError(refusal.status, refusal.detail), false);
  }

  void OnHeader(beast::error_code ec) {
    start_ = std::chrono::steady_clock::now();
    if (IsDisconnect(ec)) return Close();
    if (ec) return ReplyReadError(ec);
    if (auto refusal = CheckHead(parser_->get(), server_.limits)) {
      return Reply(MakeError(refusal->status, refusal->detail), false);
    }
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(stream_, *cont,
                        [self = shared_from_this(), cont](beast::error_code wec, size_t) {
                          if (wec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (IsDisconnect(ec)) return Close();
    if (ec) return ReplyReadError(ec);
    auto req = parser_->release();
    const bool keep_alive = req.keep_alive();
    const unsigned version = req.version();
    auto request = std::make_shared<HttpRequest>();
    if (auto refusal = DecodeMessage(std::move(req), server_.limits, request.get())) {
      return Reply(MakeError(refusal->status, refusal->detail), false);
    }
    request->peer_address = remote_;
    request->remote_address = server_.options.trusted_proxies.ClientAddress(remote_, *request);
    request->request_id = server_.NextRequestId();
    request->received_at = std::chrono::steady_clock::now();
    Execute(request, keep_alive, version,
            [self = shared_from_this(), request] { return self->server_.handler(*request); });
  }

  // Runs `work` on a worker (or here when there is no pool) and replies with
  // its response. A response with `defer` set is not sent: the handler parked
  // the request (a long poll) and continues it later through `resume`.
  void Execute(const std::shared_ptr<HttpRequest>& request, bool keep_alive, unsigned version,
               std::function<HttpResponse()> work) {
    auto run = [self = shared_from_this(), request, keep_alive, version, work = std::move(work)] {
      HttpResponse response;
      try {
        response = work();
      } catch (const std::exception& e) {
        self->server_.options.logger->Log(
            LogLevel::kError, "http", "handler failed",
            {{"request_id", request->request_id}, {"error", e.what()}});
        response = HttpResponse::Json(500, ErrorBody("internal server error"));
      }
      if (response.defer) {
        // A parked request must not be cut by the read deadline meanwhile.
        net::post(self->stream_.get_executor(), [self] { self->Lowest().expires_never(); });
        auto defer = std::move(response.defer);
        defer([self, request, keep_alive, version](std::function<HttpResponse()> next) {
          net::post(self->stream_.get_executor(),
                    [self, request, keep_alive, version, next = std::move(next)]() mutable {
                      self->Execute(request, keep_alive, version, std::move(next));
                    });
        });
        return;
      }
      auto res = std::make_shared<http::response<http::string_body>>(
          self->Build(std::move(response), request->request_id, version, AcceptsGzip(*request)));
      net::post(self->stream_.get_executor(),
                [self, res, keep_alive] { self->Reply(std::move(*res), keep_alive); });
    };
    if (server_.options.workers == nullptr) return run();
    // No request waits for a worker longer than queue_timeout: still queued
    // then, it is answered 503 (the pool's timeout, seen from the queue).
    auto expire = [self = shared_from_this(), request, keep_alive, version] {
      net::post(self->stream_.get_executor(), [self, request, keep_alive, version] {
        self->ReplyBusy(request->request_id, version, keep_alive);
      });
    };
    if (!server_.options.workers->TrySubmit(
            run, std::chrono::steady_clock::now() + server_.options.queue_timeout,
            std::move(expire))) {
      ReplyBusy(request->request_id, version, keep_alive);
    }
  }

  void ReplyBusy(const std::string& request_id, unsigned version, bool keep_alive) {
    HttpResponse busy = HttpResponse::Json(503, ErrorBody("server busy; retry shortly"));
    busy.headers.emplace_back("Retry-After", "1");
    Reply(Build(std::move(busy), request_id, version), keep_alive);
  }

  http::response<http::string_body> Build(HttpResponse r, const std::string& request_id,
                                          unsigned version, bool gzip = false) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "vemakin");
    res.set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res.set(k, v);
    res.set("X-Request-Id", request_id);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
            .count();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", ms);
    res.set("X-Request-Time", buf);
    // Large bodies (sync snapshots and pulls) travel gzip-compressed when the
    // client accepts it: their keys and timestamps repeat row after row.
    std::string compressed;
    if (gzip && r.body.size() >= kGzipMinBytes && GzipCompress(r.body, &compressed)) {
      res.set(http::field::content_encoding, "gzip");
      res.set(http::field::vary, "Accept-Encoding");
      res.body() = std::move(compressed);
    } else {
      res.body() = std::move(r.body);
    }
    res.prepare_payload();
    return res;
  }

  // A request the listener refuses itself (malformed, oversized, too slow):
  // no route sees it, so it is counted here.
  http::response<http::string_body> MakeError(int status, const std::string& detail) {
    ++server_.refused_requests;
    return Build(HttpResponse::Json(status, ErrorBody(detail)), server_.NextRequestId(), 11);
  }

  void Reply(http::response<http::string_body> res, bool keep_alive) {
    res.keep_alive(keep_alive);
    response_ = std::move(res);
    Lowest().expires_after(server_.options.request_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        if (ec) return self->Close();
                        if (!keep_alive) return self->LingeringClose();
                        self->WaitFirstByte(self->server_.options.idle_timeout);
                      });
  }

  // After refusing a request whose body may still be arriving (413, 400),
  // stop sending and read (and drop) what the client still sends, up to a cap
  // and a deadline, before closing: closing with unread data would reset the
  // connection and could destroy the error response before the client reads it.
  void LingeringClose() {
    if constexpr (kTls) {
      // close_notify, then the socket; what the client still sends is lost
      // with the TLS session anyway.
      Lowest().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = shared_from_this()](beast::error_code) { self->Close(); });
      return;
    }
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    Lowest().expires_after(std::chrono::seconds(2));
    Drain(0);
  }

  void Drain(std::size_t drained) {
    static constexpr std::size_t kMaxDrain = 16 << 20;
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(64 << 10),
                            [self = shared_from_this(), drained](beast::error_code ec, size_t n) {
                              if (ec || drained + n > kMaxDrain) return self->Close();
                              self->Drain(drained + n);
                            });
  }

  void Close() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().close();
  }

  Stream stream_;
  HttpServer::Impl& server_;
  const std::string remote_;
  std::shared_ptr<net::ssl::context> tls_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

bool HttpServer::Impl::Admit(const std::string& address, int* status) {
  const std::string key = ClientKey(address);  // an IPv6 /64 counts as one client
  std::lock_guard<std::mutex> lock(address_mu);
  if (open_connections.load() >= options.max_connections) {
    *status = 503;
    return false;
  }
  if (options.trusted_proxies.Contains(address)) {
    ++open_connections;  // a proxy's connections carry many clients
    return true;
  }
  int& mine = per_address[key];
  if (mine >= options.max_connections_per_address) {
    if (mine == 0) per_address.erase(key);
    *status = 429;
    return false;
  }
  ++mine;
  ++open_connections;
  return true;
}

void HttpServer::Impl::Leave(const std::string& address) {
  if (options.trusted_proxies.Contains(address)) {
    --open_connections;
    return;
  }
  const std::string key = ClientKey(address);
  std::lock_guard<std::mutex> lock(address_mu);
  auto it = per_address.find(key);
  if (it != per_address.end() && --it->second <= 0) per_address.erase(it);
  --open_connections;
}

namespace {

// Answers a connection refused past a cap with a short canned response, written
// without waiting (a full socket buffer just loses it), and closes it: the
// refusal costs no session, no buffer and no timer.
void Refuse(tcp::socket& socket, int status) {
  const std::string detail = status == 429 ? "too many connections from this address"
                                           : "too many connections; retry shortly";
  const std::string body = ErrorBody(detail);
  const std::string reply = "HTTP/1.1 " + std::to_string(status) +
                            (status == 429 ? " Too Many Requests" : " Service Unavailable") +
                            "\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                            "Connection: close\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
  beast::error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(net::buffer(reply), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

bool OutOfDescriptors(const beast::error_code& ec) {
  return ec == net::error::no_descriptors || ec.value() == ENFILE ||
         ec == net::error::no_buffer_space || ec == net::error::no_memory;
}

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
    if (OutOfDescriptors(ec)) {
      // The pending connection stays in the backlog; retrying at once would
      // spin on the same failure. Pause, and let connections close meanwhile.
      ++accept_pauses;
      options.logger->Log(LogLevel::kWarning, "http", "out of file descriptors; pausing accept",
                          {{"error", ec.message()}, {"open_connections", open_connections.load()}});
      accept_pause->expires_after(std::chrono::milliseconds(100));
      accept_pause->async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && acceptor->is_open()) Accept();
      });
      return;
    }
    if (!ec) {
      beast::error_code opt_ec;
      const auto ep = socket.remote_endpoint(opt_ec);
      const std::string remote = opt_ec ? std::string() : ep.address().to_string();
      int status = 0;
      if (!Admit(remote, &status)) {
        ++refused;
        Refuse(socket, status);
      } else {
        socket.set_option(tcp::no_delay(true), opt_ec);
        if (std::shared_ptr<net::ssl::context> context = TlsContext()) {
          std::make_shared<Session<TlsStream>>(TlsStream(std::move(socket), *context), remote,
                                               *this, context)
              ->Run();
        } else {
          std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), remote,
                                                       *this)
              ->Run();
        }
      }
    }
    Accept();
  });
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler) {
  if (!options.logger) options.logger = DefaultLogger();
  if (sodium_init() < 0) throw Error(ErrorCode::kInternal, "libsodium failed to initialise");
  std::shared_ptr<net::ssl::context> tls;
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    tls = LoadTls(options.tls_cert_file, options.tls_key_file);
  }
  impl_ = std::make_unique<Impl>(std::move(options), std::move(handler));
  impl_->tls = std::move(tls);
}

void HttpServer::ReloadTls() {
  if (impl_->options.tls_cert_file.empty()) return;
  std::shared_ptr<net::ssl::context> fresh =
      LoadTls(impl_->options.tls_cert_file, impl_->options.tls_key_file);
  std::lock_guard<std::mutex> lock(impl_->tls_mu);
  impl_->tls = std::move(fresh);  // connections already open keep theirs
}

bool HttpServer::tls() const { return impl_->TlsContext() != nullptr; }

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Start() {
  if (impl_->running) return;
  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->options.host, ec);
  if (ec) throw Error(ErrorCode::kInvalidArgument, "invalid listen host: " + impl_->options.host);
  const tcp::endpoint endpoint(address, impl_->options.port);
  impl_->acceptor.emplace(impl_->ioc);
  impl_->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(endpoint, ec);
  if (!ec) impl_->acceptor->listen(impl_->options.listen_backlog, ec);
  if (ec) {
    impl_->acceptor.reset();
    throw Error(ErrorCode::kUnavailable, "cannot listen on " + impl_->options.host + ":" +
                                             std::to_string(impl_->options.port) + ": " +
                                             ec.message());
  }
  impl_->bound_port = impl_->acceptor->local_endpoint().port();
  impl_->accept_pause.emplace(impl_->ioc);
  impl_->running = true;
  impl_->Accept();
  for (int i = 0; i < std::max(1, impl_->options.io_threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  }
  impl_->options.logger->Log(LogLevel::kInfo, "http", "listening",
                             {{"host", impl_->options.host}, {"port", impl_->bound_port}});
}

void HttpServer::Stop() {
  if (!impl_ || !impl_->running) return;
  net::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor->close(ec);
    impl_->accept_pause->cancel();
  });
  impl_->ioc.stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->running = false;
}

std::uint16_t HttpServer::port() const { return impl_->bound_port; }

int HttpServer::open_connections() const { return impl_->open_connections.load(); }

std::uint64_t HttpServer::refused_connections() const { return impl_->refused.load(); }

std::uint64_t HttpServer::accept_pauses() const { return impl_->accept_pauses.load(); }
std::uint64_t HttpServer::refused_requests() const { return impl_->refused_requests.load(); }

}  // namespace vemakin::server
