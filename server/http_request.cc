// Request decoding (http_request.h). Beast's parser does the byte-level work
// under our caps; the rules here are the ones Beast leaves to the server,
// each a way a front proxy and this server could disagree about where a
// request ends.
#include "server/http_request.h"

#include <zlib.h>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

namespace vemakin::server {
namespace beast = boost::beast;
namespace http = boost::beast::http;

std::string HttpRequest::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return v;
  }
  return {};
}

void ApplyLimits(const FramingLimits& limits, RequestParser* parser) {
  parser->header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser->body_limit(limits.max_body_bytes);
}

FramingError RefusalFor(const boost::system::error_code& ec) {
  if (ec == http::error::body_limit) return {413, "request body too large"};
  if (ec == http::error::header_limit) return {431, "request headers too large"};
  if (ec == http::error::bad_content_length || ec == http::error::bad_transfer_encoding) {
    return {400, "ambiguous or invalid message framing"};
  }
  return {400, "malformed HTTP request"};
}

namespace {

beast::string_view TrimWhitespace(beast::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<FramingError> CheckHead(const http::request_header<http::fields>& head,
                                      const FramingLimits& limits) {
  if (head.target().size() > limits.max_url_bytes) return FramingError{414, "URL too long"};
  int content_lengths = 0, transfer_encodings = 0;
  bool only_chunked = true;
  for (const auto& field : head) {
    if (field.name() == http::field::content_length) ++content_lengths;
    if (field.name() == http::field::transfer_encoding) {
      ++transfer_encodings;
      if (!beast::iequals(TrimWhitespace(field.value()), "chunked")) only_chunked = false;
    }
  }
  if (content_lengths > 1 || (content_lengths > 0 && transfer_encodings > 0)) {
    return FramingError{400, "ambiguous message framing"};
  }
  // Beast reads a request whose last coding is not chunked as having no
  // body, so its bytes would be parsed as the next request: refused, as are
  // codings stacked on chunked (none is supported).
  if (transfer_encodings > 1 || !only_chunked) {
    return FramingError{400, "unsupported Transfer-Encoding (only chunked is accepted)"};
  }
  // HTTP/1.0 has no transfer codings (RFC 9112 6.1): a proxy of that version
  // would frame the body differently.
  if (transfer_encodings > 0 && head.version() < 11) {
    return FramingError{400, "Transfer-Encoding in an HTTP/1.0 request"};
  }
  const auto encoding = head[http::field::content_encoding];
  if (!encoding.empty() && !beast::iequals(encoding, "identity") &&
      !beast::iequals(encoding, "gzip")) {
    return FramingError{415, "request bodies may only be gzip-compressed"};
  }
  return std::nullopt;
}

std::optional<FramingError> DecodeMessage(http::request<http::string_body>&& message,
                                          const FramingLimits& limits, HttpRequest* out) {
  out->method = std::string(message.method_string());
  out->target = std::string(message.target());
  const size_t q = out->target.find('?');
  out->path = out->target.substr(0, q);
  out->query = q == std::string::npos ? "" : out->target.substr(q + 1);
  out->headers.clear();
  for (const auto& field : message) {
    out->headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out->body = std::move(message.body());
  if (beast::iequals(message[http::field::content_encoding], "gzip")) {
    // Inflated here, never beyond the body cap: a decompression bomb gets
    // 413 after at most max_body_bytes of output.
    std::string inflated;
    const int rc = GzipInflate(out->body, limits.max_body_bytes, &inflated);
    if (rc > 0) return FramingError{413, "request body too large once decompressed"};
    if (rc < 0) return FramingError{400, "malformed gzip request body"};
    out->body = std::move(inflated);
  }
  return std::nullopt;
}

int GzipInflate(const std::string& in, std::size_t cap, std::string* out) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return -1;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char chunk[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return -1;
    }
    out->append(chunk, sizeof chunk - z.avail_out);
    if (out->size() > cap) {
      inflateEnd(&z);
      return 1;
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {  // truncated input
      inflateEnd(&z);
      return -1;
    }
  }
  inflateEnd(&z);
  return 0;
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentDecode(const std::string& in) {
  std::string out;
  out.reserve(in.size());
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

std::string ClientKey(const std::string& address) {
  boost::system::error_code ec;
  const boost::asio::ip::address a = boost::asio::ip::make_address(address, ec);
  if (ec) return address;
  if (a.is_v4()) return a.to_string();
  const boost::asio::ip::address_v6 v6 = a.to_v6();
  if (v6.is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  }
  boost::asio::ip::address_v6::bytes_type bytes = v6.to_bytes();
  for (size_t i = 8; i < bytes.size(); ++i) bytes[i] = 0;
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

}  // namespace vemakin::server
