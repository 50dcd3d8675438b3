// The change bell: wakes long-polling sync pulls when the change log grows in
// a scope they read.
//
// One thread holds a dedicated PostgreSQL connection (not from the pool)
// that LISTENs on channel `vemakin_sync`; a trigger on the change log NOTIFYs
// it with the scope of every change a transaction committed, from any server
// instance (schema/postgres/0009_scoped_bell: "p:<project id>",
// "u:<user id>", "g" for the catalog; PostgreSQL folds repeats within a
// transaction, so a 100,000-row import in one project sends one). A waiter
// names the scopes it reads; a ring wakes only the waiters of its scope.
// Rings are gathered for `coalesce` before waking, so a burst of commits
// wakes each waiter once.
//
// A waiter also names the generation it saw before it last looked at the
// log, so a commit in its scopes between its look and its wait is not missed
// (the bell remembers the last 4096 rings; a waiter older than those wakes at
// once). A ring of "*", a notification without a payload (an older
// instance's trigger) or a dropped LISTEN connection wakes everyone; the bell
// then reconnects with backoff.
//
// Behind PgBouncer in transaction mode LISTEN does not work: give the bell a
// direct URL (ServerOptions::listen_database_url).
//
// Thread-safety: all members may be called from any thread. Wake callbacks run
// on the bell's timer thread and must not block.
#ifndef VEMAKIN_SERVER_CHANGE_BELL_H_
#define VEMAKIN_SERVER_CHANGE_BELL_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/log.h"

namespace pqxx {
class connection_base;
}  // namespace pqxx

namespace vemakin::server {

class BellReceiver;  // change_bell.cc: what the LISTEN connection heard

class ChangeBell {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr const char* kEverything = "*";

  // `conninfo` empty: no LISTEN thread (only Ring() rings; tests of parking).
  // `track_lsn`: after each batch of notifications, before ringing, read the
  // primary's WAL position (ring_lsn()): with read replicas, a pull woken by
  // a ring must read a state at least that new.
  ChangeBell(std::string conninfo, std::shared_ptr<Logger> logger,
             std::chrono::milliseconds coalesce = std::chrono::milliseconds(10),
             bool track_lsn = false);
  ~ChangeBell();  // stops; pending waiters are woken
  ChangeBell(const ChangeBell&) = delete;
  ChangeBell& operator=(const ChangeBell&) = delete;

  void Start();
  void Stop();

  std::uint64_t generation() const;
  // Calls `wake` once: as soon as a ring in one of `scopes` (empty = any)
  // came after generation `seen` (maybe at once), or at `deadline`, or at Stop.
  void Wait(std::uint64_t seen, Clock::time_point deadline, std::vector<std::string> scopes,
            std::function<void()> wake);
  // Rings `scope` ("*" = every waiter).
  void Ring(const std::string& scope = kEverything);

  // Waiters parked now, and waiters woken by a ring (not by their deadline)
  // since start.
  std::size_t waiting() const;
  std::uint64_t woken() const;
  // A WAL position at or past the commit of every notification rung so far
  // (0 without track_lsn, or before the first).
  std::uint64_t ring_lsn() const { return ring_lsn_.load(); }

 private:
  struct Waiter {
    Clock::time_point deadline;
    std::function<void()> wake;
    std::vector<std::string> scopes;  // sorted; empty = any
  };

  void ListenLoop();
  // Reads the primary's WAL position into ring_lsn_ on the LISTEN
  // connection; returns the scopes heard meanwhile.
  std::vector<std::string> ReadRingLsn(pqxx::connection_base& conn, BellReceiver& receiver);
  void TimerLoop();
  // Whether a ring after `seen` touched one of `scopes` (sorted). Under mu_.
  bool RungSince(std::uint64_t seen, const std::vector<std::string>& scopes) const;
  // Takes waiter `id` out of every index and returns its callback. Under mu_.
  std::function<void()> Take(std::uint64_t id);

  const std::string conninfo_;
  std::shared_ptr<Logger> logger_;
  const std::chrono::milliseconds coalesce_;
  const bool track_lsn_;
  std::atomic<std::uint64_t> ring_lsn_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool started_ = false;
  std::uint64_t generation_ = 0;
  std::uint64_t floor_ = 0;  // every ring at or below it counts for every scope
  std::deque<std::pair<std::uint64_t, std::string>> recent_;  // rings above floor_
  std::unordered_set<std::string> pending_;                   // rung, waiters not yet woken
  Clock::time_point pending_since_{};
  std::uint64_t next_id_ = 0;
  std::uint64_t woken_ = 0;
  std::unordered_map<std::uint64_t, Waiter> waiters_;
  std::multimap<Clock::time_point, std::uint64_t> by_deadline_;
  std::unordered_map<std::string, std::unordered_set<std::uint64_t>> by_scope_;  // "*" = any
  std::thread listener_;
  std::thread timer_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_CHANGE_BELL_H_
