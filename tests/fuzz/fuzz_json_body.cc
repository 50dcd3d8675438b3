// Fuzz target: the untrusted JSON body parser (core::ParseUntrustedJson),
// which every request body and every push goes through before anything else.
// Beyond not crashing (nlohmann parses recursively: the nesting cap must hold
// before it sees the text), it proves: nothing deeper than the cap is ever
// accepted; no raw NUL byte is accepted (nlohmann's lexer would stop there and
// leave the rest unread); and an accepted document survives dump and re-parse
// unchanged, so what the server stores is what it was sent.
#include <nlohmann/json.hpp>

#include "core/json_codec.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

constexpr int kMaxDepth = 64;  // the server's ApiOptions default

// Depth of an accepted value; recursion is bounded by the cap under test.
int Depth(const nlohmann::json& v) {
  int deepest = 0;
  if (v.is_object() || v.is_array()) {
    for (const auto& child : v) deepest = std::max(deepest, Depth(child));
    return deepest + 1;
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using vemakin::fuzz::Check;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const std::optional<nlohmann::json> v =
      vemakin::core::ParseUntrustedJson(text, kMaxDepth, &error);
  if (!v) {
    Check(!error.empty(), "a refusal says why");
    return 0;
  }
  Check(text.find('\0') == std::string_view::npos, "no raw NUL byte is accepted");
  Check(Depth(*v) <= kMaxDepth, "nothing deeper than the cap is accepted");
  const std::string dumped = v->dump();
  std::string again_error;
  const auto again = vemakin::core::ParseUntrustedJson(dumped, kMaxDepth, &again_error);
  Check(again.has_value(), "a dumped document parses again");
  Check(*again == *v, "dump and re-parse give the same document");
  return 0;
}
