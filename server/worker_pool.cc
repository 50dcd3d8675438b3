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
  bool first_deadline = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    first_deadline = deadline < expiry_target_;  // the expiry thread sleeps past it
    if (first_deadline) expiry_target_ = deadline;
    queue_.push_back(Task{std::move(task), deadline, std::move(expire)});
  }
  cv_.notify_one();
  if (first_deadline) expiry_cv_.notify_one();
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

bool WorkerPool::MayStart(Clock::time_point now, Clock::time_point* retry) const {
  *retry = Clock::time_point::max();
  if (busy_ < concurrency_) return true;
  int stalled = 0;
  for (const Clock::time_point started : started_) {
    if (started == Clock::time_point::max()) continue;
    if (now - started >= stall_after_) {
      ++stalled;
    } else {
      *retry = std::min(*retry, started + stall_after_);
    }
  }
  return busy_ < concurrency_ + stalled;
}

std::uint64_t WorkerPool::lent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lent_;
}

void WorkerPool::Loop(std::size_t slot) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    Clock::time_point retry;
    if (!queue_.empty() && MayStart(Clock::now(), &retry)) {
      std::function<void()> task = std::move(queue_.front().run);
      queue_.pop_front();
      if (busy_++ >= concurrency_) ++lent_;
      started_[slot] = Clock::now();
      lock.unlock();
      task();
      lock.lock();
      --busy_;
      started_[slot] = Clock::time_point::max();
      continue;  // this thread's place is free: it takes the next task itself
    }
    if (queue_.empty() && stopping_) return;  // stopping and drained
    if (queue_.empty() || retry == Clock::time_point::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, retry);  // until a running task counts as stalled
    }
  }
}

// Tasks are queued in arrival order and callers give each the same budget, so
// the earliest deadline is almost always at the front; the scan below keeps
// it correct when budgets differ.
void WorkerPool::ExpireLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const auto now = Clock::now();
    auto next = Clock::time_point::max();
    std::vector<std::function<void()>> expired;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->deadline <= now) {
        if (it->expire) expired.push_back(std::move(it->expire));
        it = queue_.erase(it);
        ++expired_;
      } else {
        next = std::min(next, it->deadline);
        ++it;
      }
    }
    if (!expired.empty()) {
      lock.unlock();
      for (auto& fn : expired) fn();
      lock.lock();
      continue;
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
