// Fuzz target: HTTP request framing, the listener's first line of defence
// (server/http_request.h driven as server/http_server.cc drives it: Beast's
// parser under our caps, the head checks, the body decoding, then the query
// and path decoding of the router), over up to four pipelined requests. Small
// caps let the fuzzer reach them. Beyond not crashing it proves: every
// refusal is a 4xx the listener documents; an accepted request never exceeds
// the URL or body caps (also once a gzip body is inflated); an accepted head
// never carries ambiguous framing (two Content-Length headers, Content-Length
// with Transfer-Encoding, a coding other than chunked); and the path never
// keeps its query.
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include "server/http_request.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace http = boost::beast::http;
using vemakin::fuzz::Check;
using vemakin::server::FramingError;

constexpr vemakin::server::FramingLimits kLimits{4096, 2048, 512};

void CheckRefusal(const FramingError& refusal) {
  const int s = refusal.status;
  Check(s == 400 || s == 413 || s == 414 || s == 415 || s == 431, "refusals are documented 4xx");
  Check(!refusal.detail.empty(), "a refusal says why");
}

// Parses one request off the front of `rest`; false when the connection
// would close (or wait for bytes that never come) after it.
bool OneRequest(std::string_view* rest) {
  vemakin::server::RequestParser parser;
  vemakin::server::ApplyLimits(kLimits, &parser);
  boost::system::error_code ec;
  while (!parser.is_header_done()) {
    const size_t used = parser.put(boost::asio::buffer(rest->data(), rest->size()), ec);
    rest->remove_prefix(used);
    if (ec == http::error::need_more) return false;  // the read deadline would end it
    if (ec) {
      CheckRefusal(vemakin::server::RefusalFor(ec));
      return false;
    }
    if (used == 0) return false;
  }
  if (auto refusal = vemakin::server::CheckHead(parser.get(), kLimits)) {
    CheckRefusal(*refusal);
    return false;
  }
  int lengths = 0, codings = 0;
  for (const auto& field : parser.get()) {
    if (field.name() == http::field::content_length) ++lengths;
    if (field.name() == http::field::transfer_encoding) {
      ++codings;
      Check(boost::beast::iequals(field.value(), "chunked"), "only chunked is accepted");
    }
  }
  Check(lengths <= 1 && codings <= 1 && lengths + codings <= 1, "framing is unambiguous");
  Check(parser.get().target().size() <= kLimits.max_url_bytes, "the URL cap holds");
  parser.eager(true);
  while (!parser.is_done()) {
    const size_t used = parser.put(boost::asio::buffer(rest->data(), rest->size()), ec);
    rest->remove_prefix(used);
    if (ec == http::error::need_more) return false;
    if (ec) {
      CheckRefusal(vemakin::server::RefusalFor(ec));
      return false;
    }
    if (used == 0) return false;
  }
  auto message = parser.release();
  const bool keep_alive = message.keep_alive();
  vemakin::server::HttpRequest request;
  if (auto refusal = vemakin::server::DecodeMessage(std::move(message), kLimits, &request)) {
    CheckRefusal(*refusal);
    return false;
  }
  Check(request.body.size() <= kLimits.max_body_bytes, "the body cap holds, inflated too");
  Check(request.path.find('?') == std::string::npos, "the path has no query");
  Check(request.path.size() + request.query.size() <= request.target.size(), "path+query fit");
  for (const auto& [key, value] : vemakin::server::ParseQuery(request.query)) {
    Check(key.size() + value.size() <= request.query.size(), "decoding never grows the query");
  }
  Check(vemakin::server::PercentDecode(request.path).size() <= request.path.size(),
        "decoding never grows the path");
  return keep_alive;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < 4 && !rest.empty(); ++i) {
    if (!OneRequest(&rest)) break;
  }
  return 0;
}
