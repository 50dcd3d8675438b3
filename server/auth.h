// Credentials, with libsodium doing all the cryptography:
//  - passwords: argon2id via crypto_pwhash_str (t=2, 19 MiB: OWASP's minimum),
//    at most `max_concurrent_hashes` running at once so a login flood cannot
//    exhaust memory, and only a few callers waiting (the others get
//    kUnavailable at once, not after tying up a worker);
//  - tokens: 256 random bits (randombytes_buf), given to the client once as
//    base64url and stored only as their SHA-256;
//  - a fixed-window rate limiter (with an optional backoff) for sign-ins,
//    registrations, password changes and member additions (keyed by
//    ClientKey(), server/http_request.h).
// Thread-safe.
#ifndef VEMAKIN_SERVER_AUTH_H_
#define VEMAKIN_SERVER_AUTH_H_

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace vemakin::server {

class PasswordHasher {
 public:
  // At most `max_concurrent` hashes run at once and at most `max_waiting`
  // callers wait for one (each blocks a worker thread meanwhile), so a flood
  // of sign-ins or password changes cannot take every worker.
  PasswordHasher(int max_concurrent, int max_waiting, std::chrono::milliseconds max_wait);
  // Throws Error(kUnavailable) when `max_waiting` callers already wait, or no
  // hashing slot frees up within max_wait.
  std::string Hash(const std::string& password);
  // Constant-time verification (libsodium). A null `hash` verifies against a
  // fixed dummy hash so an unknown email costs as much as a wrong password.
  bool Verify(const std::string* hash, const std::string& password);

 private:
  class Slot;
  std::mutex mu_;
  std::condition_variable cv_;
  int free_;
  int waiting_ = 0;
  int max_waiting_;
  std::chrono::milliseconds max_wait_;
  std::string dummy_hash_;
};

// A fresh opaque token: 32 random bytes, base64url without padding (43 chars).
std::string NewToken();
// SHA-256 of the token as a PostgreSQL bytea literal in hex form ("\x…").
std::string TokenHashParam(const std::string& token);

// Counts events per key in fixed windows. With a backoff, every `limit`
// events since the key's last Reset() (a success) double the length of its
// next window (up to `max_window`), so a key that keeps failing gets half as
// many attempts per hour each time, however thinly it spreads them.
class RateLimiter {
 public:
  RateLimiter(int limit, std::chrono::seconds window,
              std::chrono::seconds max_window = std::chrono::seconds(0))
      : limit_(limit), window_(window), max_window_(std::max(window, max_window)) {}
  // Counts an attempt and says whether it is within the limit.
  bool Allow(const std::string& key);
  // For limits on failures, counted before the outcome is known so that
  // attempts in flight at once cannot exceed the limit: false (counting
  // nothing) when the key has used up its window, else counts one. Refund()
  // gives it back when the attempt turns out not to count.
  bool Reserve(const std::string& key);
  void Refund(const std::string& key);
  // A Reserve()d unit that is given back (Refund) when it goes out of scope
  // unless Keep() was called: an attempt that ended before it could count
  // (a 503 while waiting to hash) costs nothing. Empty (false) when nothing
  // was reserved. Movable, not copyable; use only while the limiter lives.
  class Reservation {
   public:
    Reservation() = default;
    Reservation(RateLimiter* limiter, std::string key) : limiter_(limiter), key_(std::move(key)) {}
    ~Reservation() { GiveBack(); }
    Reservation(Reservation&& other) noexcept { *this = std::move(other); }
    Reservation& operator=(Reservation&& other) noexcept {
      if (this != &other) {
        GiveBack();
        limiter_ = std::exchange(other.limiter_, nullptr);
        key_ = std::move(other.key_);
        kept_ = other.kept_;
      }
      return *this;
    }
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    explicit operator bool() const { return limiter_ != nullptr; }
    void Keep() { kept_ = true; }

   private:
    void GiveBack() {
      if (limiter_ && !kept_) limiter_->Refund(key_);
      limiter_ = nullptr;
    }
    RateLimiter* limiter_ = nullptr;
    std::string key_;
    bool kept_ = false;
  };
  // Reserve() as a Reservation: empty when the key has used up its window.
  Reservation TryReserve(const std::string& key) {
    return Reserve(key) ? Reservation(this, key) : Reservation();
  }

  // Seconds until the key's window resets (for Retry-After).
  int RetryAfter(const std::string& key);
  void Reset(const std::string& key);
  // Replaces the steady clock (tests of windows and backoff).
  void TestOnlySetClock(std::function<std::chrono::steady_clock::time_point()> now) {
    now_ = std::move(now);
  }

 private:
  struct Window {
    std::chrono::steady_clock::time_point start;
    std::chrono::seconds length{0};
    int count = 0;  // in this window
    int total = 0;  // since the last Reset(): drives the backoff
  };
  // The key's window, restarted when it expired; `mu_` held.
  Window& Current(const std::string& key, std::chrono::steady_clock::time_point now);

  int limit_;
  std::chrono::seconds window_;
  std::chrono::seconds max_window_;
  std::function<std::chrono::steady_clock::time_point()> now_ = std::chrono::steady_clock::now;
  std::mutex mu_;
  std::unordered_map<std::string, Window> windows_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_AUTH_H_
