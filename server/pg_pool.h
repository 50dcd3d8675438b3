// A pool of PostgreSQL connections with SQLAlchemy QueuePool semantics
// (SPEC.md "Pool semantics"):
//  - `pool_size` connections are kept; up to `max_overflow` more are opened
//    under load and closed when returned -- or, with `overflow_idle` > 0 (the
//    server's default, a deviation from QueuePool documented in
//    docs/architecture.md), closed once they have stayed idle that long, so
//    sustained load above pool_size reuses them instead of opening (and
//    authenticating) a connection per request;
//  - a checkout that finds all `pool_size + max_overflow` busy waits up to
//    `pool_timeout` (or less: up to the calling thread's AcquireDeadline, the
//    request's own budget), then fails with Error(kUnavailable) (the API's 503);
//  - a connection older than `pool_recycle` is closed at checkout and replaced;
//  - a dead connection is noticed without a round trip at checkout (an idle
//    connection's socket must have nothing to read: EOF or data means the
//    server closed it) and replaced; a failure in use invalidates that
//    connection and every idle one opened before it (a server restart kills
//    them all), as SQLAlchemy does;
//  - every connection is opened with the connect timeout and the session's
//    statement_timeout (in the connection string, see WithConnectionSettings).
//
// Checkout is RAII: a Lease returns its connection in its destructor, also
// during unwinding. A Lease and its connection belong to one thread at a time.
// PgPool itself is thread-safe.
#ifndef VEMAKIN_SERVER_PG_POOL_H_
#define VEMAKIN_SERVER_PG_POOL_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/log.h"

namespace vemakin::server {

struct PgPoolOptions {
  std::string conninfo;  // complete libpq string, timeouts included
  int pool_size = 5;
  int max_overflow = 10;
  std::chrono::milliseconds pool_timeout{30000};
  std::chrono::milliseconds pool_recycle{300000};
  // How long a returned overflow connection stays open for the next checkout;
  // 0 = closed on return (QueuePool).
  std::chrono::milliseconds overflow_idle{0};
  std::shared_ptr<Logger> logger;  // null = DefaultLogger()
};

struct PoolStatus {
  int size = 0;                   // pool_size
  int checked_in = 0;             // idle connections
  int checked_out = 0;            // leased connections
  int overflow = 0;               // open connections beyond pool_size (negative while below)
  int waiters = 0;                // checkouts waiting for a connection
  std::uint64_t opened = 0;       // connections opened since start
  std::uint64_t invalidated = 0;  // connections discarded as dead or recycled
  std::uint64_t timeouts = 0;     // checkouts that gave up after pool_timeout
};

class PgPool {
 private:
  struct Entry {
    std::unique_ptr<pqxx::connection> conn;
    std::chrono::steady_clock::time_point opened_at;
    std::chrono::steady_clock::time_point returned_at;
    std::uint64_t generation = 0;
    std::unordered_set<std::string> prepared;  // statement names prepared on it
  };

 public:
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();

    pqxx::connection& conn() { return *entry_->conn; }
    // Prepares `sql` under `name` on this connection unless already done.
    void EnsurePrepared(const std::string& name, const std::string& sql);
    // The connection failed: close it instead of returning it, and retire every
    // idle connection opened before it.
    void Invalidate() { invalid_ = true; }

   private:
    friend class PgPool;
    Lease(PgPool* pool, std::unique_ptr<Entry> entry) : pool_(pool), entry_(std::move(entry)) {}
    PgPool* pool_;
    std::unique_ptr<Entry> entry_;
    bool invalid_ = false;
  };

  explicit PgPool(PgPoolOptions options);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Throws Error(kUnavailable) after pool_timeout (or at the thread's
  // AcquireDeadline, whichever comes first), or when a new connection cannot
  // be opened (database down).
  Lease Acquire();
  PoolStatus Status() const;
  const PgPoolOptions& options() const { return options_; }

 private:
  void Release(std::unique_ptr<Entry> entry, bool invalid);
  bool Usable(const Entry& e, std::chrono::steady_clock::time_point now) const;
  // Closes overflow connections idle for overflow_idle (its own thread).
  void ReapLoop();

  PgPoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Entry>> idle_;  // most recently returned last
  int open_ = 0;
  int waiters_ = 0;
  std::uint64_t generation_ = 0;  // bumped when a connection dies in use
  std::uint64_t opened_ = 0, invalidated_ = 0, timeouts_ = 0;
  bool stopping_ = false;
  std::condition_variable reaper_cv_;
  std::thread reaper_;  // only with overflow_idle > 0
};

// While alive, PgPool::Acquire on this thread gives up at `deadline` if that
// comes before its pool_timeout: a request that already waited in the worker
// queue waits only for what is left of its budget (SPEC.md: no request waits
// longer than pool_timeout for database capacity). Scopes do not nest.
class AcquireDeadline {
 public:
  explicit AcquireDeadline(std::chrono::steady_clock::time_point deadline);
  ~AcquireDeadline();
  AcquireDeadline(const AcquireDeadline&) = delete;
  AcquireDeadline& operator=(const AcquireDeadline&) = delete;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_PG_POOL_H_
