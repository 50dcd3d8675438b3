#include "server/pg_pool.h"

#include <poll.h>

#include <algorithm>

#include "core/error.h"

namespace vemakin::server {
namespace {

// The calling thread's AcquireDeadline; the epoch when none is set.
thread_local std::chrono::steady_clock::time_point tl_acquire_deadline{};

}  // namespace

AcquireDeadline::AcquireDeadline(std::chrono::steady_clock::time_point deadline) {
  tl_acquire_deadline = deadline;
}

AcquireDeadline::~AcquireDeadline() { tl_acquire_deadline = {}; }

PgPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), entry_(std::move(other.entry_)), invalid_(other.invalid_) {
  other.pool_ = nullptr;
}

PgPool::Lease::~Lease() {
  if (pool_ && entry_) pool_->Release(std::move(entry_), invalid_);
}

void PgPool::Lease::EnsurePrepared(const std::string& name, const std::string& sql) {
  if (entry_->prepared.count(name)) return;
  entry_->conn->prepare(name, sql);
  entry_->prepared.insert(name);
}

PgPool::PgPool(PgPoolOptions options) : options_(std::move(options)) {
  if (!options_.logger) options_.logger = DefaultLogger();
  if (options_.pool_size < 0 || options_.max_overflow < 0 ||
      options_.pool_size + options_.max_overflow < 1) {
    throw Error(ErrorCode::kInvalidArgument, "pool_size + max_overflow must be at least 1");
  }
  if (options_.overflow_idle.count() > 0 && options_.max_overflow > 0) {
    reaper_ = std::thread([this] { ReapLoop(); });
  }
}

PgPool::~PgPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  reaper_cv_.notify_all();
  if (reaper_.joinable()) reaper_.join();
  std::lock_guard<std::mutex> lock(mu_);
  idle_.clear();
}

void PgPool::ReapLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    // idle_'s front was returned longest ago (checkouts take from the back).
    const bool surplus = open_ > options_.pool_size && !idle_.empty();
    if (!surplus) {
      reaper_cv_.wait(lock);
      continue;
    }
    const auto expiry = idle_.front()->returned_at + options_.overflow_idle;
    if (std::chrono::steady_clock::now() < expiry) {
      reaper_cv_.wait_until(lock, expiry);
      continue;
    }
    std::unique_ptr<Entry> e = std::move(idle_.front());
    idle_.erase(idle_.begin());
    --open_;
    lock.unlock();
    e.reset();  // closing may block briefly; not under the lock
    lock.lock();
  }
}

bool PgPool::Usable(const Entry& e, std::chrono::steady_clock::time_point now) const {
  if (e.generation < generation_) return false;
  if (now - e.opened_at > options_.pool_recycle) return false;
  if (!e.conn->is_open()) return false;
  // An idle connection has nothing to read; readable means the server closed
  // it (EOF) or sent an error such as "terminating connection".
  pollfd pfd{e.conn->sock(), POLLIN, 0};
  if (pfd.fd < 0) return false;
  const int rc = ::poll(&pfd, 1, 0);
  return rc == 0;
}

PgPool::Lease PgPool::Acquire() {
  auto deadline = std::chrono::steady_clock::now() + options_.pool_timeout;
  if (tl_acquire_deadline.time_since_epoch().count() != 0) {
    deadline = std::min(deadline, tl_acquire_deadline);
  }
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
      std::unique_ptr<Entry> e = std::move(idle_.back());
      idle_.pop_back();
      if (Usable(*e, now)) return Lease(this, std::move(e));
      --open_;
      ++invalidated_;
      lock.unlock();
      e.reset();  // closing may block briefly; not under the lock
      lock.lock();
    }
    if (open_ < options_.pool_size + options_.max_overflow) {
      ++open_;
      const std::uint64_t generation = generation_;
      lock.unlock();
      try {
        auto e = std::make_unique<Entry>();
        e->conn = std::make_unique<pqxx::connection>(options_.conninfo);
        e->opened_at = std::chrono::steady_clock::now();
        e->generation = generation;
        std::lock_guard<std::mutex> relock(mu_);
        ++opened_;
        return Lease(this, std::move(e));
      } catch (const std::exception& ex) {
        {
          std::lock_guard<std::mutex> relock(mu_);
          --open_;
        }
        cv_.notify_one();
        options_.logger->Log(LogLevel::kError, "db", "cannot open a database connection",
                             {{"error", ex.what()}});
        throw Error(ErrorCode::kUnavailable, "database unavailable");
      }
    }
    ++waiters_;
    const bool signalled = cv_.wait_until(lock, deadline, [&] {
      return !idle_.empty() || open_ < options_.pool_size + options_.max_overflow;
    });
    --waiters_;
    if (!signalled) {
      ++timeouts_;
      throw Error(ErrorCode::kUnavailable, "no database connection available");
    }
  }
}

void PgPool::Release(std::unique_ptr<Entry> entry, bool invalid) {
  std::unique_ptr<Entry> to_close;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (invalid) {
      // Whatever killed this connection (a restart, a network cut) killed the
      // idle ones opened before it too: retire them lazily at checkout.
      if (entry->generation == generation_) ++generation_;
      --open_;
      ++invalidated_;
      to_close = std::move(entry);
    } else if (open_ > options_.pool_size && options_.overflow_idle.count() == 0) {
      --open_;  // overflow connection: closed on return
      to_close = std::move(entry);
    } else {
      entry->returned_at = std::chrono::steady_clock::now();
      // The reaper sleeps until the oldest idle connection's grace ends; a
      // return adds a younger one, so it needs waking only when nothing was
      // idle (it then sleeps without a deadline). Waking it on every return
      // cost a context switch per request under load.
      const bool wake_reaper = open_ > options_.pool_size && idle_.empty();
      idle_.push_back(std::move(entry));
      if (wake_reaper) reaper_cv_.notify_one();
    }
  }
  cv_.notify_one();
}

PoolStatus PgPool::Status() const {
  std::lock_guard<std::mutex> lock(mu_);
  PoolStatus s;
  s.size = options_.pool_size;
  s.checked_in = static_cast<int>(idle_.size());
  s.checked_out = open_ - s.checked_in;
  s.overflow = open_ - options_.pool_size;
  s.waiters = waiters_;
  s.opened = opened_;
  s.invalidated = invalidated_;
  s.timeouts = timeouts_;
  return s;
}

}  // namespace vemakin::server
