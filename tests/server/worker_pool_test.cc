// The worker threads' admission (server/worker_pool.h): `concurrency` tasks
// run at once, a task running past `stall_after` lets one more start, and
// never more than the threads. No database; tasks block on promises, so
// what runs is decided by the pool, not by timing.
#include "server/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <vector>

namespace vemakin::server {
namespace {

using namespace std::chrono_literals;

// A task that says when it started and runs until released.
struct Blocker {
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::future<void> started_future = started.get_future();

  std::function<void()> Task() {
    return [this] {
      started.set_value();
      released.wait();
    };
  }
  bool Started(std::chrono::milliseconds within) {
    return started_future.wait_for(within) == std::future_status::ready;
  }
};

TEST(WorkerPool, RunsOnlyConcurrencyTasksWhileNoneHasStalled) {
  std::vector<Blocker> b(3);
  WorkerPool workers(8, 16, 2, 1h);  // a stall would take an hour
  for (Blocker& x : b) ASSERT_TRUE(workers.TrySubmit(x.Task()));
  EXPECT_TRUE(b[0].Started(10s));
  EXPECT_TRUE(b[1].Started(10s));
  EXPECT_FALSE(b[2].Started(300ms));  // six threads idle, but the third waits
  EXPECT_EQ(workers.busy(), 2);
  EXPECT_EQ(workers.queued(), 1u);
  b[0].release.set_value();  // a place frees: the third runs
  EXPECT_TRUE(b[2].Started(10s));
  b[1].release.set_value();
  b[2].release.set_value();
  EXPECT_EQ(workers.lent(), 0u);
}

TEST(WorkerPool, AStalledTaskLetsAnotherStartUpToTheThreads) {
  std::vector<Blocker> b(4);
  WorkerPool workers(3, 16, 1, 50ms);
  for (Blocker& x : b) ASSERT_TRUE(workers.TrySubmit(x.Task()));
  // The first stalls (it never returns until released): after 50 ms the
  // second starts beside it, 50 ms later the third; the fourth finds every
  // thread taken and waits.
  EXPECT_TRUE(b[0].Started(10s));
  EXPECT_TRUE(b[1].Started(10s));
  EXPECT_TRUE(b[2].Started(10s));
  EXPECT_FALSE(b[3].Started(300ms));
  EXPECT_EQ(workers.busy(), 3);
  EXPECT_EQ(workers.lent(), 2u);
  b[1].release.set_value();
  EXPECT_TRUE(b[3].Started(10s));
  b[0].release.set_value();
  b[2].release.set_value();
  b[3].release.set_value();
}

// One task stalled while fewer than `concurrency` run: its lent place is
// counted, and the tasks queued behind all start without any later submit.
TEST(WorkerPool, StallsAreCountedBelowConcurrencyToo) {
  std::vector<Blocker> b(4);
  WorkerPool workers(4, 16, 2, 50ms);
  ASSERT_TRUE(workers.TrySubmit(b[0].Task()));
  ASSERT_TRUE(b[0].Started(10s));
  for (int i = 1; i < 4; ++i) ASSERT_TRUE(workers.TrySubmit(b[i].Task()));
  for (int i = 1; i < 4; ++i) EXPECT_TRUE(b[i].Started(10s)) << i;
  EXPECT_EQ(workers.busy(), 4);
  EXPECT_EQ(workers.lent(), 2u);
  for (Blocker& x : b) x.release.set_value();
}

// Destroyed with tasks queued behind `concurrency` and no stall yet: every
// queued task still runs (the drain uses every thread).
TEST(WorkerPool, DestructionRunsEveryQueuedTask) {
  Blocker first;
  std::atomic<int> ran{0};
  {
    WorkerPool workers(4, 16, 1, 1h);
    ASSERT_TRUE(workers.TrySubmit(first.Task()));
    ASSERT_TRUE(first.Started(10s));
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(workers.TrySubmit([&] { ++ran; }));
    first.release.set_value();
  }
  EXPECT_EQ(ran, 5);
}

TEST(WorkerPool, AQueuedTaskStillExpiresWhileWaitingForAPlace) {
  Blocker b;
  std::promise<void> expired;
  bool ran = false;
  {
    WorkerPool workers(4, 16, 1, 1h);
    ASSERT_TRUE(workers.TrySubmit(b.Task()));
    ASSERT_TRUE(b.Started(10s));
    ASSERT_TRUE(workers.TrySubmit([&] { ran = true; }, std::chrono::steady_clock::now() + 50ms,
                                  [&] { expired.set_value(); }));
    EXPECT_EQ(expired.get_future().wait_for(10s), std::future_status::ready);
    b.release.set_value();
  }
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace vemakin::server
