// What the libFuzzer targets of tests/fuzz/ share: an invariant check that
// crashes loudly (libFuzzer saves the input that broke it), and a reader
// that takes selector bytes off the front of an input. Each target states
// what it proves about its decoder beyond "does not crash".
#ifndef VEMAKIN_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define VEMAKIN_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace vemakin::fuzz {

// Aborts with `what` when `ok` is false: a broken invariant is a crash.
inline void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

// The fuzzer's bytes, read from the front.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size)
      : rest_(reinterpret_cast<const char*>(data), size) {}
  // One selector byte (0 when the input is empty).
  std::uint8_t Byte() {
    if (rest_.empty()) return 0;
    const auto b = static_cast<std::uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }
  // Everything not yet taken.
  std::string_view Rest() const { return rest_; }

 private:
  std::string_view rest_;
};

}  // namespace vemakin::fuzz

#endif  // VEMAKIN_TESTS_FUZZ_FUZZ_SUPPORT_H_
