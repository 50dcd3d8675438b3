// A fixed set of threads running blocking work (database calls, password
// hashing) handed over by the HTTP I/O threads, behind a bounded queue: when
// the queue is full, TrySubmit refuses at once and the caller answers 503
// with Retry-After instead of building an unbounded backlog. A task may also
// carry a start deadline: one still queued at its deadline is taken out and
// its `expire` callback runs instead (the caller answers 503), so no request
// waits in the queue longer than its budget, however long the running tasks
// take (a table locked for minutes must not hold every later request).
// Thread-safe.
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

  WorkerPool(int threads, std::size_t max_queue);
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

 private:
  struct Task {
    std::function<void()> run;
    Clock::time_point deadline;  // max() = none
    std::function<void()> expire;
  };

  void Loop();
  void ExpireLoop();

  const std::size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable expiry_cv_;
  std::deque<Task> queue_;
  Clock::time_point expiry_target_ = Clock::time_point::max();  // when the expirer next wakes
  std::uint64_t expired_ = 0;
  int busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::thread expirer_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_WORKER_POOL_H_
