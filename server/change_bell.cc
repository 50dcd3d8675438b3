#include "server/change_bell.h"

#include <pqxx/pqxx>
#include <vector>

namespace vemakin::server {

namespace {

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, ChangeBell& bell)
      : pqxx::notification_receiver(c, "vemakin_sync"), bell_(bell) {}
  void operator()(const std::string&, int) override { bell_.Ring(); }

 private:
  ChangeBell& bell_;
};

}  // namespace

ChangeBell::ChangeBell(std::string conninfo, std::shared_ptr<Logger> logger)
    : conninfo_(std::move(conninfo)), logger_(logger ? std::move(logger) : DefaultLogger()) {}

ChangeBell::~ChangeBell() { Stop(); }

void ChangeBell::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  timer_ = std::thread([this] { TimerLoop(); });
  if (!conninfo_.empty()) listener_ = std::thread([this] { ListenLoop(); });
}

void ChangeBell::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (listener_.joinable()) listener_.join();
  if (timer_.joinable()) timer_.join();
  std::multimap<Clock::time_point, std::function<void()>> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(waiters_);
  }
  for (auto& [deadline, wake] : left) wake();
}

std::uint64_t ChangeBell::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

void ChangeBell::Wait(std::uint64_t seen, Clock::time_point deadline, std::function<void()> wake) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (seen == generation_ && !stopping_) {
      waiters_.emplace(deadline, std::move(wake));
      cv_.notify_all();  // the timer may need an earlier deadline
      return;
    }
  }
  wake();
}

void ChangeBell::Ring() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

// Fires the waiters whose deadline passed, and all of them when the
// generation moves.
void ChangeBell::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  std::uint64_t seen = generation_;
  while (!stopping_) {
    if (waiters_.empty()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, waiters_.begin()->first);
    }
    std::vector<std::function<void()>> due;
    if (generation_ != seen) {
      seen = generation_;
      for (auto& [deadline, wake] : waiters_) due.push_back(std::move(wake));
      waiters_.clear();
    } else {
      const Clock::time_point now = Clock::now();
      while (!waiters_.empty() && waiters_.begin()->first <= now) {
        due.push_back(std::move(waiters_.begin()->second));
        waiters_.erase(waiters_.begin());
      }
    }
    if (due.empty()) continue;
    lock.unlock();
    for (auto& wake : due) wake();
    lock.lock();
  }
}

void ChangeBell::ListenLoop() {
  std::chrono::milliseconds backoff{100};
  auto stopping = [this] {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  };
  while (!stopping()) {
    try {
      pqxx::connection conn(conninfo_);
      Receiver receiver(conn, *this);
      backoff = std::chrono::milliseconds(100);
      Ring();  // anything committed while we were not listening
      while (!stopping()) conn.await_notification(0, 200000);
    } catch (const std::exception& e) {
      logger_->Log(LogLevel::kWarning, "sync", "change bell lost its connection; reconnecting",
                   {{"error", e.what()}});
      Ring();
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, backoff, [this] { return stopping_; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }
}

}  // namespace vemakin::server
