// A fixed set of threads running blocking work (database calls, password
// hashing) handed over by the HTTP I/O threads, behind a bounded queue: when
// the queue is full, TrySubmit refuses at once and the caller answers 503
// with Retry-After instead of building an unbounded backlog. A task may also
// carry a start deadline: one still queued at its deadline is taken out and
// its `expire` callback runs instead (the caller answers 503), so no request
// waits in the queue longer than its budget, however long the running tasks
// take (a table locked for minutes must not hold every later request).
//
// Not every thread runs at once. Fast requests are served best by as many
// concurrent tasks as the database has kept connections (more only add
// context switches and lock traffic: on 2 cores, 15 concurrent backends
// served a fifth fewer requests than 5), but a stall -- tasks waiting on a
// lock, a slow query -- must not hold up the rest. So `concurrency` tasks
// run at a time, and each task that has run longer than `stall_after` lends
// its place: another thread starts, up to `threads` (the pool_size +
// max_overflow connections the database may open). A stall is thus served
// within `stall_after` on an overflow connection, while a load of fast
// requests keeps `concurrency` busy. Thread-safe.
#ifndef VEMAKIN_SERVER_WORKER_POOL_H_
#define VEMAKIN_SERVER_WORKER_POOL_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vemakin::server {

class WorkerPool {
 public:
  using Clock = std::chrono::steady_clock;

  // `concurrency` <= 0 or >= `threads`: every thread runs tasks at once.
  WorkerPool(int threads, std::size_t max_queue, int concurrency = 0,
             std::chrono::milliseconds stall_after = std::chrono::milliseconds(20));
  ~WorkerPool();  // finishes queued work, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue already holds max_queue tasks. `task` must not throw.
  [[nodiscard]] bool TrySubmit(std::function<void()> task);
  // As above; if no worker has started `task` by `deadline`, it is dropped and
  // `expire` runs instead, on the pool's expiry thread (it must not block or
  // throw). Exactly one of the two runs.
  [[nodiscard]] bool TrySubmit(std::function<void()> task, Clock::time_point deadline,
                               std::function<void()> expire);
  std::size_t queued() const;
  int busy() const;
  int threads() const { return static_cast<int>(threads_.size()); }
  // Tasks that expired in the queue since start.
  std::uint64_t expired() const;
  // Tasks started beyond `concurrency` (in a stall's place) since start.
  std::uint64_t lent() const;

 private:
  struct Task {
    std::function<void()> run;
    Clock::time_point deadline;  // max() = none
    std::function<void()> expire;
  };

  void Loop(std::size_t slot);
  void ExpireLoop();
  // How many more tasks may start now (mu_ held; <= 0: none); *retry is
  // when a running task will next count as stalled (max() = none will).
  int Startable(Clock::time_point now, Clock::time_point* retry) const;

  const std::size_t max_queue_;
  const int concurrency_;
  const Clock::duration stall_after_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable expiry_cv_;
  std::deque<Task> queue_;
  Clock::time_point expiry_target_ = Clock::time_point::max();  // when the expirer next wakes
  std::uint64_t expired_ = 0;
  std::uint64_t lent_ = 0;
  int busy_ = 0;
  std::vector<Clock::time_point> started_;  // per thread: its task's start, max() = idle
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::thread expirer_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_WORKER_POOL_H_
