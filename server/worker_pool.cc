#include "server/worker_pool.h"

#include <algorithm>

namespace vemakin::server {

WorkerPool::WorkerPool(int threads, std::size_t max_queue) : max_queue_(max_queue) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Loop(); });
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

void WorkerPool::Loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front().run);
      queue_.pop_front();
      ++busy_;
    }
    task();
    std::lock_guard<std::mutex> lock(mu_);
    --busy_;
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
