#include "server/auth.h"

#include <sodium.h>

#include <algorithm>

#include "core/error.h"

namespace vemakin::server {
namespace {

constexpr unsigned long long kOpsLimit = 2;
constexpr size_t kMemLimit = 19u * 1024 * 1024;

}  // namespace

// Holds one of the limited hashing slots for its lifetime.
class PasswordHasher::Slot {
 public:
  explicit Slot(PasswordHasher& h) : h_(h) {
    std::unique_lock<std::mutex> lock(h_.mu_);
    if (h_.free_ == 0 && h_.waiting_ >= h_.max_waiting_) {
      throw Error(ErrorCode::kUnavailable, "too many sign-ins at once; retry shortly");
    }
    ++h_.waiting_;
    const bool got = h_.cv_.wait_for(lock, h_.max_wait_, [&] { return h_.free_ > 0; });
    --h_.waiting_;
    if (!got) throw Error(ErrorCode::kUnavailable, "too many sign-ins at once; retry shortly");
    --h_.free_;
  }
  ~Slot() {
    {
      std::lock_guard<std::mutex> lock(h_.mu_);
      ++h_.free_;
    }
    h_.cv_.notify_one();
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

 private:
  PasswordHasher& h_;
};

PasswordHasher::PasswordHasher(int max_concurrent, int max_waiting,
                               std::chrono::milliseconds max_wait)
    : free_(max_concurrent < 1 ? 1 : max_concurrent),
      max_waiting_(std::max(0, max_waiting)),
      max_wait_(max_wait) {
  if (sodium_init() < 0) throw Error(ErrorCode::kInternal, "libsodium failed to initialise");
  dummy_hash_ = Hash("vemakin dummy password for unknown accounts");
}

std::string PasswordHasher::Hash(const std::string& password) {
  Slot slot(*this);
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), kOpsLimit, kMemLimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw Error(ErrorCode::kUnavailable, "out of memory while hashing");
  }
  return out;
}

bool PasswordHasher::Verify(const std::string* hash, const std::string& password) {
  Slot slot(*this);
  const std::string& h = hash ? *hash : dummy_hash_;
  const bool ok = crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
  return ok && hash != nullptr;
}

std::string NewToken() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

std::string TokenHashParam(const std::string& token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string("\\x") + hex;
}

RateLimiter::Window& RateLimiter::Current(const std::string& key,
                                          std::chrono::steady_clock::time_point now) {
  if (windows_.size() > 100000) {  // bound memory: forget expired windows
    for (auto it = windows_.begin(); it != windows_.end();) {
      it = now - it->second.start >= it->second.length ? windows_.erase(it) : std::next(it);
    }
  }
  Window& w = windows_[key];
  if (w.length.count() == 0) {  // new
    w.start = now;
    w.length = window_;
  } else if (now - w.start >= w.length) {
    // The backoff: each `limit` events since the last Reset() double the
    // next window, whether or not one window was used up (spreading the
    // attempts thinly does not escape it).
    w.length = window_;
    for (int n = w.total / std::max(1, limit_); n > 0 && w.length < max_window_; --n) {
      w.length *= 2;
    }
    w.length = std::min(w.length, max_window_);
    w.start = now;
    w.count = 0;
  }
  return w;
}

bool RateLimiter::Allow(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Window& w = Current(key, now_());
  ++w.count;
  ++w.total;
  return w.count <= limit_;
}

bool RateLimiter::Reserve(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Window& w = Current(key, now_());
  if (w.count >= limit_) return false;
  ++w.count;
  ++w.total;
  return true;
}

void RateLimiter::Refund(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = windows_.find(key);
  if (it != windows_.end() && it->second.count > 0) {
    --it->second.count;
    --it->second.total;
  }
}

int RateLimiter::RetryAfter(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = now_();
  auto it = windows_.find(key);
  if (it == windows_.end()) return 0;
  const auto left = it->second.length - (now - it->second.start);
  return std::max(
      1, static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(left).count()) + 1);
}

void RateLimiter::Reset(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  windows_.erase(key);
}

}  // namespace vemakin::server
