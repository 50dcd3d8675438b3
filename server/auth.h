// Credentials, with libsodium doing all the cryptography:
//  - passwords: argon2id via crypto_pwhash_str (t=2, 19 MiB: OWASP's minimum),
//    at most `max_concurrent_hashes` running at once so a login flood cannot
//    exhaust memory (the others wait, then get kUnavailable);
//  - tokens: 256 random bits (randombytes_buf), given to the client once as
//    base64url and stored only as their SHA-256;
//  - a fixed-window rate limiter for login and registration attempts.
// Thread-safe.
#ifndef VEMAKIN_SERVER_AUTH_H_
#define VEMAKIN_SERVER_AUTH_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <unordered_map>

namespace vemakin::server {

class PasswordHasher {
 public:
  PasswordHasher(int max_concurrent, std::chrono::milliseconds max_wait);
  // Throws Error(kUnavailable) when no hashing slot frees up within max_wait.
  std::string Hash(const std::string& password);
  // Constant-time verification (libsodium). A null `hash` verifies against a
  // fixed dummy hash so an unknown email costs as much as a wrong password.
  bool Verify(const std::string* hash, const std::string& password);

 private:
  class Slot;
  std::mutex mu_;
  std::condition_variable cv_;
  int free_;
  std::chrono::milliseconds max_wait_;
  std::string dummy_hash_;
};

// A fresh opaque token: 32 random bytes, base64url without padding (43 chars).
std::string NewToken();
// SHA-256 of the token as a PostgreSQL bytea literal in hex form ("\x…").
std::string TokenHashParam(const std::string& token);

// Counts events per key in fixed windows. Allow() records one event and says
// whether the key is still under `limit` in the current window.
class RateLimiter {
 public:
  RateLimiter(int limit, std::chrono::seconds window) : limit_(limit), window_(window) {}
  // Counts an attempt and says whether it is within the limit.
  bool Allow(const std::string& key);
  // Whether the key has used up its window, without counting (for limits on
  // failures: check first, Record() only what failed).
  bool Blocked(const std::string& key);
  void Record(const std::string& key);
  // Seconds until the key's window resets (for Retry-After).
  int RetryAfter(const std::string& key);
  void Reset(const std::string& key);

 private:
  struct Window {
    std::chrono::steady_clock::time_point start;
    int count = 0;
  };
  // The key's window, restarted when it expired; `mu_` held.
  Window& Current(const std::string& key, std::chrono::steady_clock::time_point now);

  int limit_;
  std::chrono::seconds window_;
  std::mutex mu_;
  std::unordered_map<std::string, Window> windows_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_AUTH_H_
