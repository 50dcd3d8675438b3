#include "server/worker_pool.h"

#include <algorithm>

namespace vemakin::server {

WorkerPool::WorkerPool(int threads, std::size_t max_queue, int concurrency,
                       std::chrono::milliseconds stall_after)
    : max_queue_(max_queue),
      concurrency_(concurrency > 0 && concurrency < threads ? concurrency : std::max(1, threads)),
      stall_after_(stall_after) {
  const std::size_t n = static_cast<std::size_t>(std::max(1, threads));
  started_.assign(n, Clock::time_point::max());
  for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this, i] { Loop(i); });
  expirer_ = std::thread([this] { ExpireLoop(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  expiry_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  expirer_.join();
}

bool WorkerPool::TrySubmit(std::function<void()> task) {
  return TrySubmit(std::move(task), Clock::time_point::max(), nullptr);
}

bool WorkerPool::TrySubmit(std::function<void()> task, Clock::time_point deadline,
                           std::function<void()> expire) {
  bool wake_worker = false, wake_watcher = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(Task{std::move(task), deadline, std::move(expire)});
    Clock::time_point stall;
    wake_worker = Startable(Clock::now(), &stall) > 0;
    // The watcher sleeps until expiry_target_: it must wake earlier for this
    // task's deadline and, when no thread may start it now, for the moment a
    // running task will count as stalled (and lend its place).
    const Clock::time_point wake_at = wake_worker ? deadline : std::min(deadline, stall);
    wake_watcher = wake_at < expiry_target_;
    if (wake_watcher) expiry_target_ = wake_at;
  }
  if (wake_worker) cv_.notify_one();  // else no thread could start it: no futile wake-up
  if (wake_watcher) expiry_cv_.notify_one();
  return true;
}

std::size_t WorkerPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

int WorkerPool::busy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return busy_;
}

std::uint64_t WorkerPool::expired() const {
  std::lock_guard<std::mutex> lock(mu_);
  return expired_;
}

std::uint64_t WorkerPool::lent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lent_;
}

int WorkerPool::Startable(Clock::time_point now, Clock::time_point* retry) const {
  *retry = Clock::time_point::max();
  const int threads = static_cast<int>(threads_.size());
  if (stopping_) return threads - busy_;  // draining: every thread
  if (busy_ >= threads) return 0;         // no stall can add a thread
  int stalled = 0;
  for (const Clock::time_point started : started_) {
    if (started == Clock::time_point::max()) continue;
    if (now - started >= stall_after_) {
      ++stalled;
    } else {
      *retry = std::min(*retry, started + stall_after_);
    }
  }
  return std::min(concurrency_ + stalled, threads) - busy_;
}

void WorkerPool::Loop(std::size_t slot) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    Clock::time_point retry;
    if (!queue_.empty() && Startable(Clock::now(), &retry) > 0) {
      std::function<void()> task = std::move(queue_.front().run);
      std::function<void()> expire = std::move(queue_.front().expire);
      queue_.pop_front();
      if (busy_++ >= concurrency_) ++lent_;
      started_[slot] = Clock::now();
      // Tasks still wait: another thread may start one now (stalls lend
      // places), or else the watcher must wake when a running task (this
      // one, perhaps) counts as stalled -- a queue that no later submit
      // touches would otherwise wait for its deadline.
      bool wake_worker = false, wake_watcher = false;
      if (!queue_.empty()) {
        if (Startable(started_[slot], &retry) > 0) {
          wake_worker = true;
        } else if (retry < expiry_target_) {
          expiry_target_ = retry;
          wake_watcher = true;
        }
      }
      lock.unlock();
      if (wake_worker) cv_.notify_one();
      if (wake_watcher) expiry_cv_.notify_one();
      expire = nullptr;  // captures are freed outside the lock
      task();
      task = nullptr;
      lock.lock();
      --busy_;
      started_[slot] = Clock::time_point::max();
      continue;  // this thread's place is free: it takes the next task itself
    }
    if (queue_.empty() && stopping_) return;  // stopping and drained
    cv_.wait(lock);  // a submit, the watcher (a stall lends a place) or the stop
  }
}

// The watcher: expires tasks still queued at their deadline and, while tasks
// wait for a place, wakes as many threads as stalled tasks lend places.
// Tasks are queued in arrival order and callers give each the same budget, so
// the earliest deadline is almost always at the front; the scan below keeps
// it correct when budgets differ.
void WorkerPool::ExpireLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const auto now = Clock::now();
    auto next = Clock::time_point::max();
    std::vector<std::function<void()>> expired, dropped;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->deadline <= now) {
        if (it->expire) expired.push_back(std::move(it->expire));
        dropped.push_back(std::move(it->run));  // freed outside the lock
        it = queue_.erase(it);
        ++expired_;
      } else {
        next = std::min(next, it->deadline);
        ++it;
      }
    }
    if (!expired.empty() || !dropped.empty()) {
      lock.unlock();
      for (auto& fn : expired) fn();
      expired.clear();
      dropped.clear();
      lock.lock();
      continue;
    }
    if (!queue_.empty()) {
      Clock::time_point stall;
      const int startable = Startable(now, &stall);
      const int wake = std::min<int>(startable, static_cast<int>(queue_.size()));
      for (int i = 0; i < wake; ++i) cv_.notify_one();
      next = std::min(next, stall);
    }
    expiry_target_ = next;
    if (next == Clock::time_point::max()) {
      expiry_cv_.wait(lock);
    } else {
      expiry_cv_.wait_until(lock, next);
    }
  }
}

}  // namespace vemakin::server
