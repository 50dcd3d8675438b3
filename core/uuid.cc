#include "core/uuid.h"

#include <sys/random.h>

#include <cstring>
#include <mutex>

namespace vemakin::core {

std::string NewUuid() {
  static std::mutex mu;
  static unsigned char pool[4096];
  static size_t used = sizeof pool;
  unsigned char b[16];
  {
    std::lock_guard<std::mutex> lock(mu);
    if (used + sizeof b > sizeof pool) {
      size_t filled = 0;
      while (filled < sizeof pool) {
        const ssize_t n = getrandom(pool + filled, sizeof pool - filled, 0);
        if (n > 0) filled += static_cast<size_t>(n);  // EINTR: try again
      }
      used = 0;
    }
    std::memcpy(b, pool + used, sizeof b);
    std::memset(pool + used, 0, sizeof b);  // an id handed out is not kept
    used += sizeof b;
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 15]);
  }
  return out;
}

}  // namespace vemakin::core
