// Who a request came from when it came through a reverse proxy (HAProxy,
// nginx): the address a trusted proxy put in X-Forwarded-For or in RFC 7239's
// Forwarded header, read only when the TCP peer is one of the configured
// trusted proxies (`--trusted-proxy CIDR`). Rate limits, the per-address
// connection cap and the loopback-only admin route use the result, so they
// see the real client behind a proxy and a client cannot choose its address
// by sending the header itself.
//
// The list is read from the right (the hop nearest to us) leftwards, skipping
// addresses that are themselves trusted proxies: the first untrusted address
// is the client (a client may prepend anything to the list, but nothing it
// writes lands to the right of what our own proxies appended). An entry that
// is no address ("unknown", an obfuscated name, garbage) ends the walk: the
// hop that handed it over is taken as the client. Only one header is read, the
// one configured: a proxy appends to one of them, and the other would be the
// client's own words.
//
// Pure; thread-safe once built.
#ifndef VEMAKIN_SERVER_FORWARDED_H_
#define VEMAKIN_SERVER_FORWARDED_H_

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "server/http_request.h"

namespace vemakin::server {

// The header a trusted proxy states the client's address in.
enum class ProxyHeader { kXForwardedFor, kForwarded };

// "x-forwarded-for" | "forwarded" (any case); throws Error(kInvalidArgument).
ProxyHeader ParseProxyHeader(const std::string& name);

class TrustedProxies {
 public:
  TrustedProxies() = default;  // trusts nobody: the TCP peer is the client
  // `cidrs`: "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or
  // /128). Throws Error(kInvalidArgument) naming the first malformed entry.
  TrustedProxies(const std::vector<std::string>& cidrs, ProxyHeader header);

  bool empty() const { return networks_.empty(); }
  // True when `address` (text, as the listener saw it) is a trusted proxy.
  // An IPv4-mapped IPv6 address is compared as its IPv4 address.
  bool Contains(const std::string& address) const;

  // The client of a request received from `peer` with `request`'s headers:
  // `peer` itself unless it is trusted (see the file comment).
  std::string ClientAddress(const std::string& peer, const HttpRequest& request) const;

 private:
  struct Network {
    std::array<unsigned char, 16> bytes{};  // IPv4 as its mapped IPv6 form
    int prefix = 0;                         // of the 128 bits
  };
  static std::optional<std::array<unsigned char, 16>> Bytes(const std::string& address);
  bool ContainsBytes(const std::array<unsigned char, 16>& bytes) const;

  std::vector<Network> networks_;
  ProxyHeader header_ = ProxyHeader::kXForwardedFor;
};

// The addresses a header lists, in order, as written: X-Forwarded-For's
// comma-separated entries, or Forwarded's `for=` values with the quotes,
// the brackets of an IPv6 address and any port taken off. An element of
// Forwarded without `for=` yields "" (no address). Several header lines are
// one list, in order.
std::vector<std::string> ForwardedAddresses(const HttpRequest& request, ProxyHeader header);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_FORWARDED_H_
