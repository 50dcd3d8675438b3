// The HTTP transport: the one place cpp-httplib and zlib are used, and where
// httplib's errors become vemakin::Error.
#include "client/transport.h"

#include <fcntl.h>
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/sync_protocol.h"

namespace vemakin::client {

namespace {

// `text` gzip'd at zlib's fastest level (most of the gain on JSON), or nullopt.
std::optional<std::string> Gzip(const std::string& text) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return std::nullopt;
  }
  std::string out(deflateBound(&z, static_cast<uLong>(text.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

// SIGPIPE, which a write to a socket the peer (or a cancel) closed raises
// on the writing thread, is held blocked while this object lives and any
// such signal it raised is discarded, so a host application keeps its own
// disposition and is never killed by it (libpq's pattern). OpenSSL writes
// with plain write(), without MSG_NOSIGNAL, so every httplib call that can
// write (requests, TLS shutdowns in stop() and in the client's destructor)
// runs under one.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe, &old_);
  }
  ~SigpipeGuard() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    if (!was_pending_) {
      const timespec none{0, 0};
      while (sigtimedwait(&pipe, nullptr, &none) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t old_;
  bool was_pending_ = false;
};

class HttpTransport : public Transport {
 public:
  HttpTransport(std::chrono::seconds timeout, std::string ca_file)
      : timeout_(timeout), ca_file_(std::move(ca_file)) {}

  ~HttpTransport() override {
    {
      std::lock_guard<std::mutex> lock(cancel_mu_);
      quit_ = true;
    }
    cancel_cv_.notify_all();
    if (canceller_.joinable()) canceller_.join();
    const SigpipeGuard guard;  // the client's TLS shutdown writes
    http_.reset();
  }

  void PrepareCancel() override {
    std::lock_guard<std::mutex> lock(cancel_mu_);
    if (!canceller_.joinable()) canceller_ = std::thread([this] { CancelLoop(); });
  }

  // Never blocks, never throws: httplib's stop() waits for a connection
  // attempt in progress (up to the connect timeout), so the transport's own
  // thread (started by PrepareCancel) calls it. A socket created after the
  // flag is set never connects (the socket-options hook below), so no
  // request slips past a cancel.
  void Cancel() override {
    cancelled_ = true;
    {
      std::lock_guard<std::mutex> lock(cancel_mu_);
      cancel_requested_ = true;
    }
    cancel_cv_.notify_all();
  }
  void Resume() override {
    std::lock_guard<std::mutex> lock(cancel_mu_);
    cancelled_ = false;
    cancel_requested_ = false;  // a stop still queued must not cut the next request
  }

  TransportResponse Exchange(const TransportRequest& request) override {
    httplib::Headers headers = {{"Accept-Encoding", "gzip"}};
    if (request.bearer) headers.emplace("Authorization", "Bearer " + *request.bearer);
    std::string text = request.body;
    if (request.gzip) {
      if (std::optional<std::string> gz = Gzip(text)) {
        text = std::move(*gz);
        headers.emplace("Content-Encoding", "gzip");
      }
    }
    TransportResponse out;
    if (request.method != "GET") out.bytes_sent = static_cast<long long>(text.size());
    // A request that fails on a reused connection (the server closed it
    // meanwhile) is sent once more on a new one; that is safe for every call
    // the sync client makes (pulls and snapshots read, pushes are idempotent
    // by mutation id, sign-ins just mint a token).
    std::lock_guard<std::mutex> lock(mu_);
    // Read replicas: ask for a state at least as new as any this session
    // has seen or written (core/sync_protocol.h); positions of another
    // server are not comparable.
    if (lsn_base_ != request.base) {
      lsn_base_ = request.base;
      min_lsn_ = 0;
    }
    if (min_lsn_ > 0) headers.emplace(core::kMinLsnHeader, core::FormatLsn(min_lsn_));
    if (cancelled_) throw Error(ErrorCode::kUnavailable, "cancelled");
    const SigpipeGuard guard;
    httplib::Result r = Send(request, headers, text);
    if (!r && reused_ && !cancelled_) {
      {
        std::lock_guard<std::mutex> client_lock(client_mu_);
        http_.reset();
      }
      r = Send(request, headers, text);
    }
    if (!r && cancelled_) throw Error(ErrorCode::kUnavailable, "cancelled");
    if (!r) {
      throw Error(ErrorCode::kUnavailable, "cannot reach the server at " + request.base + ": " +
                                               httplib::to_string(r.error()));
    }
    // The body as it crossed the wire (compressed), not as decoded here.
    const std::string wire = r->get_header_value("Content-Length");
    const bool compressed = r->has_header("Content-Encoding") && !wire.empty();
    out.bytes_received = compressed ? std::stoll(wire) : static_cast<long long>(r->body.size());
    out.status = r->status;
    if (auto lsn = core::ParseLsn(r->get_header_value(core::kLsnHeader))) {
      min_lsn_ = std::max(min_lsn_, *lsn);
    }
    out.body = std::move(r->body);
    return out;
  }

 private:
  httplib::Result Send(const TransportRequest& request, const httplib::Headers& headers,
                       const std::string& text) {
    reused_ = http_ != nullptr && base_ == request.base;
    if (!reused_) {
      auto fresh = std::make_unique<httplib::Client>(request.base);
      // Runs on every new socket before it connects: once cancelled, the
      // descriptor is replaced by /dev/null's, so connect() fails at once
      // (a socket merely shut would still send its SYN, and a TLS handshake
      // on it would spin). httplib closes it as its own.
      fresh->set_socket_options([this](socket_t sock) {
        if (!cancelled_) return;
        const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd >= 0) {
          ::dup2(null_fd, sock);
          ::close(null_fd);
        }
      });
      {
        std::lock_guard<std::mutex> client_lock(client_mu_);
        http_ = std::move(fresh);
      }
      base_ = request.base;
      http_->set_keep_alive(true);
      // Connecting takes milliseconds or never happens (a network that
      // drops SYNs); capped so that a stopped watch or an offline sync gives
      // up within 10 s whatever the request timeout.
      http_->set_connection_timeout(std::min(timeout_, std::chrono::seconds(10)));
      http_->set_write_timeout(timeout_);
      if (request.base.rfind("https://", 0) == 0) {
        http_->enable_server_certificate_verification(true);
        if (!ca_file_.empty()) http_->set_ca_cert_path(ca_file_);
      }
    }
    http_->set_read_timeout(timeout_ + request.extra_wait);
    return request.method == "GET"
               ? http_->Get(request.path.c_str(), headers)
               : http_->Post(request.path.c_str(), headers, text, "application/json");
  }

  void CancelLoop() {
    // This thread only ever writes through httplib's stop(): SIGPIPE stays
    // blocked here, and whatever it raises is discarded when the thread ends.
    const SigpipeGuard guard;
    std::unique_lock<std::mutex> lock(cancel_mu_);
    for (;;) {
      cancel_cv_.wait(lock, [this] { return cancel_requested_ || quit_; });
      if (quit_) return;
      cancel_requested_ = false;
      lock.unlock();
      {
        // Not when the watch has resumed meanwhile: it would cut the next
        // request instead.
        std::lock_guard<std::mutex> client_lock(client_mu_);
        if (http_ && cancelled_) http_->stop();  // httplib: shuts a request in flight
      }
      // Discard what the stop raised (blocked here), so it never reaches a
      // thread of the application.
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      const timespec none{0, 0};
      while (sigtimedwait(&pipe, nullptr, &none) == SIGPIPE) {
      }
      lock.lock();
    }
  }

  const std::chrono::seconds timeout_;
  const std::string ca_file_;
  std::mutex mu_;  // one exchange at a time
  // Guards the http_ pointer itself (not its use): Cancel() reaches the
  // client from another thread while an exchange holds mu_.
  std::mutex client_mu_;
  std::unique_ptr<httplib::Client> http_;
  std::atomic<bool> cancelled_{false};
  // The canceller thread (started by the first Cancel()).
  std::mutex cancel_mu_;
  std::condition_variable cancel_cv_;
  bool cancel_requested_ = false;
  bool quit_ = false;
  std::thread canceller_;
  std::string base_;
  bool reused_ = false;
  std::string lsn_base_;
  std::uint64_t min_lsn_ = 0;  // the highest X-Vemakin-Lsn from lsn_base_
};

}  // namespace

std::unique_ptr<Transport> NewHttpTransport(std::chrono::seconds timeout,
                                            const std::string& ca_file) {
  return std::make_unique<HttpTransport>(timeout, ca_file);
}

}  // namespace vemakin::client
