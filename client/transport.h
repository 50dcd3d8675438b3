// Internal to the client library: one request/response exchange with the
// sync server. The sync session (sync.cc) speaks JSON through this interface;
// HttpTransport is the real one (cpp-httplib, gzip'd pushes, one keep-alive
// connection), tests script their own.
#ifndef VEMAKIN_CLIENT_TRANSPORT_H_
#define VEMAKIN_CLIENT_TRANSPORT_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace vemakin::client {

struct TransportRequest {
  std::string base;                    // "http://host:port", no trailing slash
  std::string method;                  // "GET" or "POST"
  std::string path;                    // with its query string
  std::string body;                    // JSON text (sent for POST)
  std::optional<std::string> bearer;   // the sign-in token, if any
  bool gzip = false;                   // send the body gzip'd
  std::chrono::seconds extra_wait{0};  // a long poll: read this much longer
};

struct TransportResponse {
  int status = 0;
  std::string body;              // decoded (decompressed) body text
  long long bytes_sent = 0;      // request body as it crossed the wire
  long long bytes_received = 0;  // response body as it crossed the wire
};

// Thread-safety: Exchange may be called from several threads (the snapshot
// prefetch thread and the applying thread); implementations serialise.
class Transport {
 public:
  virtual ~Transport() = default;
  // Any HTTP status is a response; a server that cannot be reached throws
  // Error(kUnavailable).
  virtual TransportResponse Exchange(const TransportRequest& request) = 0;
  // From any thread: the exchange in progress, if any, and every later one
  // until Resume() fail at once with Error(kUnavailable) (a watch stopping
  // while parked in a long poll). Transports that cannot cut short ignore it.
  virtual void Cancel() {}
  virtual void Resume() {}
  // Readies Cancel() (which then never throws nor blocks); may throw.
  virtual void PrepareCancel() {}
};

// cpp-httplib over one keep-alive connection (a TLS handshake per snapshot
// page would dominate on a real network); `timeout` bounds connecting,
// writing and reading. For https:// servers the certificate and host name
// are verified against `ca_file` (PEM) or, when empty, the system's
// certificate authorities.
std::unique_ptr<Transport> NewHttpTransport(std::chrono::seconds timeout,
                                            const std::string& ca_file = "");

}  // namespace vemakin::client

#endif  // VEMAKIN_CLIENT_TRANSPORT_H_
