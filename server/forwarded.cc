#include "server/forwarded.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/string.hpp>

#include "core/error.h"

namespace vemakin::server {

namespace {

std::string Trim(const std::string& s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

// "[2001:db8::1]:443" -> "2001:db8::1"; "192.0.2.1:80" -> "192.0.2.1"; a bare
// IPv6 address (several colons) stays as it is.
std::string WithoutPort(const std::string& s) {
  if (!s.empty() && s[0] == '[') {
    const size_t close = s.find(']');
    return close == std::string::npos ? s : s.substr(1, close - 1);
  }
  const size_t colon = s.find(':');
  if (colon != std::string::npos && s.find(':', colon + 1) == std::string::npos) {
    return s.substr(0, colon);
  }
  return s;
}

// Splits `s` at `sep` outside double quotes (a quoted-string may hold either
// separator); a backslash inside quotes escapes the next character.
std::vector<std::string> SplitOutsideQuotes(const std::string& s, char sep) {
  std::vector<std::string> parts(1);
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted && c == '\\' && i + 1 < s.size()) {
      parts.back() += c;
      parts.back() += s[++i];
    } else if (c == '"') {
      quoted = !quoted;
      parts.back() += c;
    } else if (c == sep && !quoted) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

std::vector<std::string> SplitOn(const std::string& s, char sep) {
  std::vector<std::string> parts(1);
  for (char c : s) {
    if (c == sep) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

std::string Unquote(const std::string& v) {
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return v;
  std::string out;
  for (size_t i = 1; i + 1 < v.size(); ++i) {
    if (v[i] == '\\' && i + 2 < v.size()) ++i;
    out += v[i];
  }
  return out;
}

// The `for=` value of one Forwarded element, or "" when it has none.
std::string ForwardedFor(const std::string& element) {
  for (const std::string& pair : SplitOutsideQuotes(element, ';')) {
    const std::string p = Trim(pair);
    const size_t eq = p.find('=');
    if (eq == std::string::npos) continue;
    if (boost::beast::iequals(Trim(p.substr(0, eq)), "for")) {
      return WithoutPort(Unquote(Trim(p.substr(eq + 1))));
    }
  }
  return "";
}

// The address in its canonical text, an IPv4-mapped IPv6 address as IPv4.
std::string Canonical(const std::string& address) {
  boost::system::error_code ec;
  const boost::asio::ip::address a = boost::asio::ip::make_address(address, ec);
  if (ec) return address;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

}  // namespace

ProxyHeader ParseProxyHeader(const std::string& name) {
  if (boost::beast::iequals(name, "x-forwarded-for")) return ProxyHeader::kXForwardedFor;
  if (boost::beast::iequals(name, "forwarded")) return ProxyHeader::kForwarded;
  throw Error(ErrorCode::kInvalidArgument,
              "proxy header must be x-forwarded-for or forwarded, not '" + name + "'");
}

std::optional<std::array<unsigned char, 16>> TrustedProxies::Bytes(const std::string& address) {
  boost::system::error_code ec;
  const boost::asio::ip::address a = boost::asio::ip::make_address(address, ec);
  if (ec) return std::nullopt;
  if (a.is_v4()) {
    return boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, a.to_v4()).to_bytes();
  }
  if (!a.to_v6().scope_id()) return a.to_v6().to_bytes();
  return std::nullopt;  // a zone index names a link, not a host
}

TrustedProxies::TrustedProxies(const std::vector<std::string>& cidrs, ProxyHeader header)
    : header_(header) {
  for (const std::string& entry : cidrs) {
    const std::string text = Trim(entry);
    const size_t slash = text.find('/');
    const std::string host = text.substr(0, slash);
    const auto bytes = Bytes(host);
    const bool v4 = host.find(':') == std::string::npos;
    int prefix = v4 ? 32 : 128;
    bool ok = bytes.has_value();
    if (ok && slash != std::string::npos) {
      const std::string bits = text.substr(slash + 1);
      ok = !bits.empty() && bits.size() <= 3 &&
           bits.find_first_not_of("0123456789") == std::string::npos && std::stoi(bits) <= prefix;
      if (ok) prefix = std::stoi(bits);
    }
    if (!ok) {
      throw Error(ErrorCode::kInvalidArgument,
                  "trusted proxy '" + entry + "' is not an address or a CIDR network");
    }
    Network n;
    n.bytes = *bytes;
    n.prefix = v4 ? prefix + 96 : prefix;
    // Host bits set below the prefix would make the entry mean less than it
    // says ("10.1.2.3/8"); keep only the network part.
    for (int bit = n.prefix; bit < 128; ++bit) {
      n.bytes[bit / 8] &= static_cast<unsigned char>(~(0x80 >> (bit % 8)));
    }
    networks_.push_back(n);
  }
}

bool TrustedProxies::ContainsBytes(const std::array<unsigned char, 16>& bytes) const {
  for (const Network& n : networks_) {
    bool match = true;
    for (int bit = 0; bit < n.prefix && match; bit += 8) {
      const int take = std::min(8, n.prefix - bit);
      const unsigned char mask = static_cast<unsigned char>(0xff << (8 - take));
      match = (bytes[bit / 8] & mask) == n.bytes[bit / 8];
    }
    if (match) return true;
  }
  return false;
}

bool TrustedProxies::Contains(const std::string& address) const {
  if (networks_.empty()) return false;
  const auto bytes = Bytes(address);
  return bytes && ContainsBytes(*bytes);
}

std::string TrustedProxies::ClientAddress(const std::string& peer,
                                          const HttpRequest& request) const {
  if (!Contains(peer)) return peer;
  std::string client = peer;
  const std::vector<std::string> hops = ForwardedAddresses(request, header_);
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    const auto bytes = Bytes(*it);
    if (!bytes) break;  // the hop that sent this is the last one we can vouch for
    client = Canonical(*it);
    if (!ContainsBytes(*bytes)) break;
  }
  return client;
}

std::vector<std::string> ForwardedAddresses(const HttpRequest& request, ProxyHeader header) {
  const char* name = header == ProxyHeader::kForwarded ? "Forwarded" : "X-Forwarded-For";
  std::vector<std::string> out;
  for (const auto& [key, value] : request.headers) {
    if (!boost::beast::iequals(key, name)) continue;
    // X-Forwarded-For has no quoting: a client's stray quote must not hide
    // the entries proxies append after it.
    const std::vector<std::string> parts =
        header == ProxyHeader::kForwarded ? SplitOutsideQuotes(value, ',') : SplitOn(value, ',');
    for (const std::string& part : parts) {
      const std::string item = Trim(part);
      if (item.empty()) continue;
      out.push_back(header == ProxyHeader::kForwarded ? ForwardedFor(item) : WithoutPort(item));
    }
  }
  return out;
}

}  // namespace vemakin::server
