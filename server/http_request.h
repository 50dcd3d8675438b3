// An HTTP request as the API's handlers see it, and how one is decoded from
// the wire: the framing rules of SPEC.md "HTTP listener" (header and body
// caps, URL length, ambiguous framing, transfer and content codings) as pure
// functions over a Boost.Beast parser, apart from the sockets and timers of
// server/http_server.cc, so the fuzz target tests/fuzz/fuzz_http_request.cc
// drives exactly the code the listener runs. Also the percent-decoding of
// paths and query strings. Pure; thread-safe.
#ifndef VEMAKIN_SERVER_HTTP_REQUEST_H_
#define VEMAKIN_SERVER_HTTP_REQUEST_H_

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vemakin::server {

struct HttpRequest {
  std::string method;  // "GET", ...
  std::string target;  // path + query as received
  std::string path;    // decoded path without the query
  std::string query;   // raw query string without '?'
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The client: the TCP peer, or behind a trusted proxy the address it
  // forwarded (server/forwarded.h). peer_address is always the TCP peer.
  std::string remote_address;
  std::string peer_address;
  std::string request_id;
  std::chrono::steady_clock::time_point received_at;  // when the request was fully read
  // Set on a parked long poll when it is resumed: when its wait ends.
  std::chrono::steady_clock::time_point poll_deadline{};
  // Set on a parked long poll that re-checks a held-back horizon: the delay
  // of its last re-check (doubled each time, from 20 ms to 1 s).
  std::chrono::milliseconds horizon_recheck{0};

  // Case-insensitive header lookup; empty when absent.
  std::string Header(const std::string& name) const;
};

// The caps a request is read under (HttpServerOptions carries them).
struct FramingLimits {
  std::size_t max_body_bytes = 1 << 20;  // also once a gzip body is inflated
  std::size_t max_header_bytes = 16 << 10;
  std::size_t max_url_bytes = 4096;
};

// Why a request is refused before any handler sees it: the status and the
// JSON error's detail (safe to show).
struct FramingError {
  int status = 400;
  std::string detail;
};

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Sets the parser's header and body caps.
void ApplyLimits(const FramingLimits& limits, RequestParser* parser);

// The refusal for a parse failure `ec` (one that is not the peer going away):
// 413 past the body cap, 431 past the header cap, else 400.
FramingError RefusalFor(const boost::system::error_code& ec);

// Checks a request head once its headers are in, before any body byte is
// read: a URL over the cap (414); two Content-Length headers, Content-Length
// with Transfer-Encoding, or a Transfer-Encoding other than exactly
// "chunked" (400: a body Beast would take for absent could be smuggled in as
// the next request); a Content-Encoding other than identity or gzip (415).
// nullopt = read the body.
std::optional<FramingError> CheckHead(
    const boost::beast::http::request_header<boost::beast::http::fields>& head,
    const FramingLimits& limits);

// The complete message as an HttpRequest (target split into path and query,
// headers copied, a gzip body inflated up to max_body_bytes: 413 past it,
// 400 when it is not gzip). remote_address, request_id and received_at are
// left for the caller.
std::optional<FramingError> DecodeMessage(
    boost::beast::http::request<boost::beast::http::string_body>&& message,
    const FramingLimits& limits, HttpRequest* out);

// Inflates a gzip body into `out`, stopping at `cap` bytes of output.
// 0 = done, 1 = larger than `cap`, -1 = not valid gzip.
int GzipInflate(const std::string& in, std::size_t cap, std::string* out);

// application/x-www-form-urlencoded decoding: '+' is a space, "%hh" a byte;
// a '%' not followed by two hex digits stays as it is.
std::string PercentDecode(const std::string& in);
// "a=1&b=%20" -> {a: "1", b: " "}; a key given twice keeps its first value,
// a key without '=' has the value "".
std::map<std::string, std::string> ParseQuery(const std::string& query);

// The key a client address is limited by: the address itself, except that
// IPv6 addresses count by their /64 (what one host or one subscriber gets:
// 2^64 addresses must not mean 2^64 budgets) and IPv4-mapped IPv6 addresses
// as the IPv4 address. Text that is no address is its own key.
std::string ClientKey(const std::string& address);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_HTTP_REQUEST_H_
