// A fixed set of threads running blocking work (database calls, password
// hashing) handed over by the HTTP I/O threads, behind a bounded queue: when
// the queue is full, TrySubmit refuses at once and the caller answers 503
// with Retry-After instead of building an unbounded backlog.
// Thread-safe.
#ifndef VEMAKIN_SERVER_WORKER_POOL_H_
#define VEMAKIN_SERVER_WORKER_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vemakin::server {

class WorkerPool {
 public:
  WorkerPool(int threads, std::size_t max_queue);
  ~WorkerPool();  // finishes queued work, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue already holds max_queue tasks. `task` must not throw.
  [[nodiscard]] bool TrySubmit(std::function<void()> task);
  std::size_t queued() const;
  int busy() const;

 private:
  void Loop();

  const std::size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  int busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_WORKER_POOL_H_
