#include "server/change_bell.h"

#include <algorithm>
#include <pqxx/pqxx>
#include <utility>

#include "core/sync_protocol.h"

namespace vemakin::server {

namespace {

constexpr std::size_t kRecentRings = 4096;

}  // namespace

// Rings the bell for each notification of this server's schema. Project and
// user scopes name UUIDs, which no two schemas share; the catalog's scope is
// "g:<schema>" (0011), so other schemas of the database (other tenants, the
// test suites) do not wake this server's pulls. "g" alone comes from an
// older trigger (0008).
//
// The scopes heard are collected and rung by the listen loop (Take), so that
// it can first read the WAL position they must be visible at.
class BellReceiver : public pqxx::notification_receiver {
 public:
  BellReceiver(pqxx::connection_base& c, std::string schema)
      : pqxx::notification_receiver(c, "vemakin_sync"), catalog_("g:" + std::move(schema)) {}
  void operator()(const std::string& payload, int) override {
    if (payload.empty()) {
      heard_.push_back(ChangeBell::kEverything);
    } else if (payload.rfind("g:", 0) == 0) {
      if (payload == catalog_) heard_.push_back("g");
    } else {
      heard_.push_back(payload);
    }
  }
  std::vector<std::string> Take() { return std::exchange(heard_, {}); }

 private:
  const std::string catalog_;
  std::vector<std::string> heard_;
};

ChangeBell::ChangeBell(std::string conninfo, std::shared_ptr<Logger> logger,
                       std::chrono::milliseconds coalesce, bool track_lsn)
    : conninfo_(std::move(conninfo)),
      logger_(logger ? std::move(logger) : DefaultLogger()),
      coalesce_(coalesce),
      track_lsn_(track_lsn) {}

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
  std::vector<std::function<void()>> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, waiter] : waiters_) left.push_back(std::move(waiter.wake));
    waiters_.clear();
    by_deadline_.clear();
    by_scope_.clear();
  }
  for (auto& wake : left) wake();
}

std::uint64_t ChangeBell::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

std::size_t ChangeBell::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_.size();
}

std::uint64_t ChangeBell::woken() const {
  std::lock_guard<std::mutex> lock(mu_);
  return woken_;
}

bool ChangeBell::RungSince(std::uint64_t seen, const std::vector<std::string>& scopes) const {
  if (seen < floor_) return true;
  for (auto it = recent_.rbegin(); it != recent_.rend() && it->first > seen; ++it) {
    if (scopes.empty() || std::binary_search(scopes.begin(), scopes.end(), it->second)) {
      return true;
    }
  }
  return false;
}

void ChangeBell::Wait(std::uint64_t seen, Clock::time_point deadline,
                      std::vector<std::string> scopes, std::function<void()> wake) {
  std::sort(scopes.begin(), scopes.end());  // RungSince searches them
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_ && !RungSince(seen, scopes)) {
      const std::uint64_t id = next_id_++;
      if (scopes.empty()) {
        by_scope_[kEverything].insert(id);
      } else {
        for (const std::string& s : scopes) by_scope_[s].insert(id);
      }
      by_deadline_.emplace(deadline, id);
      waiters_.emplace(id, Waiter{deadline, std::move(wake), std::move(scopes)});
      cv_.notify_all();  // the timer may need an earlier deadline
      return;
    }
  }
  wake();
}

void ChangeBell::Ring(const std::string& scope) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    if (scope == kEverything) {
      floor_ = generation_;
      recent_.clear();
    } else {
      recent_.emplace_back(generation_, scope);
      if (recent_.size() > kRecentRings) {
        floor_ = recent_.front().first;
        recent_.pop_front();
      }
    }
    if (pending_.empty()) pending_since_ = Clock::now();
    pending_.insert(scope);
  }
  cv_.notify_all();
}

std::function<void()> ChangeBell::Take(std::uint64_t id) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return nullptr;
  Waiter w = std::move(it->second);
  waiters_.erase(it);
  auto range = by_deadline_.equal_range(w.deadline);
  for (auto d = range.first; d != range.second; ++d) {
    if (d->second == id) {
      by_deadline_.erase(d);
      break;
    }
  }
  auto unindex = [&](const std::string& s) {
    auto set = by_scope_.find(s);
    if (set == by_scope_.end()) return;
    set->second.erase(id);
    if (set->second.empty()) by_scope_.erase(set);
  };
  if (w.scopes.empty()) unindex(kEverything);
  for (const std::string& s : w.scopes) unindex(s);
  return std::move(w.wake);
}

// Wakes the waiters of the scopes rung (once `coalesce` has passed since the
// first of them) and those whose deadline passed.
void ChangeBell::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    Clock::time_point next = Clock::time_point::max();
    if (!by_deadline_.empty()) next = by_deadline_.begin()->first;
    if (!pending_.empty()) next = std::min(next, pending_since_ + coalesce_);
    if (next == Clock::time_point::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, next);
    }
    if (stopping_) break;
    const Clock::time_point now = Clock::now();
    std::vector<std::function<void()>> due;
    if (!pending_.empty() && now >= pending_since_ + coalesce_) {
      std::vector<std::uint64_t> ids;
      auto collect = [&](const std::string& s) {
        auto set = by_scope_.find(s);
        if (set != by_scope_.end()) ids.insert(ids.end(), set->second.begin(), set->second.end());
      };
      if (pending_.count(kEverything)) {
        for (const auto& [id, w] : waiters_) ids.push_back(id);
      } else {
        collect(kEverything);
        for (const std::string& s : pending_) collect(s);
      }
      pending_.clear();
      for (std::uint64_t id : ids) {
        if (auto wake = Take(id)) {
          due.push_back(std::move(wake));
          ++woken_;
        }
      }
    }
    while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
      if (auto wake = Take(by_deadline_.begin()->second)) {
        due.push_back(std::move(wake));
      } else {
        by_deadline_.erase(by_deadline_.begin());  // not reached: Take unindexes it
      }
    }
    if (due.empty()) continue;
    lock.unlock();
    for (auto& wake : due) wake();
    lock.lock();
  }
}

std::vector<std::string> ChangeBell::ReadRingLsn(pqxx::connection_base& conn,
                                                 BellReceiver& receiver) {
  std::uint64_t lsn = 0;
  {
    pqxx::nontransaction tx(conn);
    lsn =
        core::ParseLsn(tx.exec1("SELECT pg_current_wal_insert_lsn()::text")[0].c_str()).value_or(0);
  }
  std::uint64_t seen = ring_lsn_.load();
  while (seen < lsn && !ring_lsn_.compare_exchange_weak(seen, lsn)) {
  }
  return receiver.Take();
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
      std::string schema;
      {
        pqxx::nontransaction tx(conn);
        schema = tx.exec1("SELECT current_schema()")[0].c_str();
      }
      BellReceiver receiver(conn, schema);
      backoff = std::chrono::milliseconds(100);
      // The position now covers everything committed while we were not listening.
      if (track_lsn_) ReadRingLsn(conn, receiver);
      Ring();  // anything committed while we were not listening
      while (!stopping()) {
        conn.await_notification(0, 200000);
        std::vector<std::string> heard = receiver.Take();
        if (heard.empty()) continue;
        if (track_lsn_) {
          // Notifications arrive after their commits, so a position read
          // after them covers them (the insert position: an asynchronous
          // commit is visible before its WAL is written). The query may bring more: read again
          // until one brings none.
          for (std::vector<std::string> more = ReadRingLsn(conn, receiver); !more.empty();
               more = ReadRingLsn(conn, receiver)) {
            heard.insert(heard.end(), more.begin(), more.end());
          }
        }
        if (logger_->Enabled(LogLevel::kDebug)) {
          logger_->Log(LogLevel::kDebug, "sync", "bell heard commits",
                       {{"scopes", heard.size()}, {"lsn", core::FormatLsn(ring_lsn_.load())}});
        }
        for (const std::string& scope : heard) Ring(scope);
      }
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
