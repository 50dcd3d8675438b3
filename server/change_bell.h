// The change bell: wakes long-polling sync pulls when the change log grows.
//
// One thread holds a dedicated PostgreSQL connection (not from the pool)
// that LISTENs on channel `vemakin_sync`; the change log's trigger NOTIFYs it
// at every commit that appended changes (schema/postgres/0005_...), from any
// server instance. Each notification bumps a generation number and wakes the
// waiters registered since. A waiter names the generation it saw before it
// last looked at the log, so a commit between its look and its wait is not
// missed. If the connection drops, the bell rings (waiters re-check) and
// reconnects with backoff.
//
// Behind PgBouncer in transaction mode LISTEN does not work: give the bell a
// direct URL (ServerOptions::listen_database_url).
//
// Thread-safety: all members may be called from any thread. Wake callbacks run
// on the bell's timer thread and must not block.
#ifndef VEMAKIN_SERVER_CHANGE_BELL_H_
#define VEMAKIN_SERVER_CHANGE_BELL_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/log.h"

namespace vemakin::server {

class ChangeBell {
 public:
  using Clock = std::chrono::steady_clock;

  // `conninfo` empty: no LISTEN thread (only Ring() rings; tests of parking).
  ChangeBell(std::string conninfo, std::shared_ptr<Logger> logger);
  ~ChangeBell();  // stops; pending waiters are woken
  ChangeBell(const ChangeBell&) = delete;
  ChangeBell& operator=(const ChangeBell&) = delete;

  void Start();
  void Stop();

  std::uint64_t generation() const;
  // Calls `wake` once: as soon as the generation differs from `seen` (maybe
  // at once), or at `deadline`, or at Stop.
  void Wait(std::uint64_t seen, Clock::time_point deadline, std::function<void()> wake);
  void Ring();

 private:
  void ListenLoop();
  void TimerLoop();

  const std::string conninfo_;
  std::shared_ptr<Logger> logger_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool started_ = false;
  std::uint64_t generation_ = 0;
  std::multimap<Clock::time_point, std::function<void()>> waiters_;
  std::thread listener_;
  std::thread timer_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_CHANGE_BELL_H_
