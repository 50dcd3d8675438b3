// The pool's rules against a real PostgreSQL (SPEC.md "Pool semantics").
#include "server/pg_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "core/error.h"
#include "server/db.h"
#include "server/server.h"
#include "server/worker_pool.h"
#include "tests/support/pg_test.h"

namespace vemakin::server {
namespace {

using namespace std::chrono_literals;

// Collects log lines so tests can read what was logged.
class CapturingLogger : public Logger {
 public:
  void Log(LogLevel level, std::string_view domain, std::string_view message,
           const nlohmann::json& fields) override {
    std::lock_guard<std::mutex> lock(mu_);
    text_ += FormatLogLine(level, domain, message, fields) + "\n";
  }
  bool Enabled(LogLevel) const override { return true; }
  std::string text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  std::mutex mu_;
  std::string text_;
};

PgPoolOptions Options(int size, int overflow,
                      std::chrono::milliseconds statement_timeout = 30000ms) {
  PgPoolOptions o;
  o.conninfo = WithConnectionSettings(testing::TestDatabaseUrl(), 5s, statement_timeout);
  o.pool_size = size;
  o.max_overflow = overflow;
  o.pool_timeout = 1000ms;
  o.logger = std::make_shared<NullLogger>();
  return o;
}

int BackendPid(PgPool::Lease& lease) {
  pqxx::nontransaction tx(lease.conn());
  return tx.exec("SELECT pg_backend_pid()")[0][0].as<int>();
}

std::string Render(const PoolStatus& s) {
  return "in=" + std::to_string(s.checked_in) + " out=" + std::to_string(s.checked_out) +
         " overflow=" + std::to_string(s.overflow) + " waiters=" + std::to_string(s.waiters);
}

// Waits (bounded) until `pred` holds; for state another thread changes.
template <class Pred>
bool Eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::yield();
  }
  return pred();
}

TEST(PgPool, ReusesAReturnedConnection) {
  PgPool pool(Options(2, 0));
  int first, second;
  {
    PgPool::Lease lease = pool.Acquire();
    first = BackendPid(lease);
  }
  {
    PgPool::Lease lease = pool.Acquire();
    second = BackendPid(lease);
  }
  EXPECT_EQ(first, second);
  EXPECT_EQ(pool.Status().opened, 1u);
  EXPECT_EQ(Render(pool.Status()), "in=1 out=0 overflow=-1 waiters=0");
}

TEST(PgPool, OpensOverflowUnderLoadAndClosesItOnReturn) {
  PgPool pool(Options(1, 2));
  {
    PgPool::Lease a = pool.Acquire();
    PgPool::Lease b = pool.Acquire();
    PgPool::Lease c = pool.Acquire();
    EXPECT_EQ(Render(pool.Status()), "in=0 out=3 overflow=2 waiters=0");
  }
  EXPECT_EQ(Render(pool.Status()), "in=1 out=0 overflow=0 waiters=0");
}

TEST(PgPool, KeepsReturnedOverflowForItsIdleGraceThenClosesIt) {
  PgPoolOptions o = Options(1, 2);
  o.overflow_idle = 200ms;
  PgPool pool(o);
  {
    PgPool::Lease a = pool.Acquire();
    PgPool::Lease b = pool.Acquire();
    PgPool::Lease c = pool.Acquire();
  }
  // Returned, the overflow stays open: the next burst reuses it.
  EXPECT_EQ(Render(pool.Status()), "in=3 out=0 overflow=2 waiters=0");
  {
    PgPool::Lease a = pool.Acquire();
    PgPool::Lease b = pool.Acquire();
    EXPECT_EQ(pool.Status().opened, 3u);
  }
  // Idle past the grace, it is closed: pool_size remain.
  EXPECT_TRUE(Eventually([&] { return pool.Status().checked_in == 1; }));
  EXPECT_EQ(Render(pool.Status()), "in=1 out=0 overflow=0 waiters=0");
}

TEST(PgPool, AnAcquireDeadlineShortensTheWait) {
  PgPoolOptions o = Options(1, 0);
  o.pool_timeout = 30000ms;
  PgPool pool(o);
  PgPool::Lease held = pool.Acquire();
  const auto start = std::chrono::steady_clock::now();
  try {
    AcquireDeadline budget(start + 300ms);
    PgPool::Lease second = pool.Acquire();
    FAIL() << "expected a timeout at the deadline";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(pool.Status().timeouts, 1u);
}

TEST(WorkerPool, ATaskStillQueuedAtItsDeadlineExpiresInsteadOfRunning) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> expired;
  std::atomic<bool> late_ran{false};
  {
    WorkerPool workers(1, 8);
    std::promise<void> started;
    ASSERT_TRUE(workers.TrySubmit([&] {
      started.set_value();
      released.wait();
    }));
    started.get_future().wait();
    ASSERT_TRUE(workers.TrySubmit([&] { late_ran = true; }, std::chrono::steady_clock::now() + 50ms,
                                  [&] { expired.set_value(); }));
    EXPECT_EQ(expired.get_future().wait_for(10s), std::future_status::ready);
    EXPECT_EQ(workers.expired(), 1u);
    EXPECT_EQ(workers.queued(), 0u);
    release.set_value();
  }  // joins: the expired task never runs
  EXPECT_FALSE(late_ran);
}

TEST(PgPool, TimesOutWithUnavailableWhenEveryConnectionIsHeld) {
  PgPool pool(Options(1, 0));
  PgPool::Lease held = pool.Acquire();
  try {
    PgPool::Lease second = pool.Acquire();
    FAIL() << "expected a pool timeout";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);  // the API answers 503
  }
  EXPECT_EQ(pool.Status().timeouts, 1u);
}

TEST(PgPool, HandsAReturnedConnectionToAWaiter) {
  PgPoolOptions o = Options(1, 0);
  o.pool_timeout = 30000ms;
  PgPool pool(o);
  std::optional<PgPool::Lease> held(pool.Acquire());
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    PgPool::Lease lease = pool.Acquire();
    got = true;
  });
  ASSERT_TRUE(Eventually([&] { return pool.Status().waiters == 1; }));
  EXPECT_FALSE(got);
  held.reset();
  waiter.join();
  EXPECT_TRUE(got);
}

TEST(PgPool, ReturnsTheConnectionWhenTheHolderThrows) {
  PgPool pool(Options(1, 0));
  try {
    PgPool::Lease lease = pool.Acquire();
    throw std::runtime_error("handler failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(Render(pool.Status()), "in=1 out=0 overflow=0 waiters=0");
}

TEST(PgPool, RecyclesConnectionsOlderThanPoolRecycle) {
  PgPoolOptions o = Options(1, 0);
  o.pool_recycle = 0ms;
  PgPool pool(o);
  int first, second;
  {
    PgPool::Lease lease = pool.Acquire();
    first = BackendPid(lease);
  }
  {
    PgPool::Lease lease = pool.Acquire();
    second = BackendPid(lease);
  }
  EXPECT_NE(first, second);
  EXPECT_EQ(pool.Status().opened, 2u);
}

TEST(PgPool, ReplacesConnectionsTerminatedByTheServer) {
  PgPool pool(Options(2, 0));
  int pids[2];
  {
    PgPool::Lease a = pool.Acquire();
    PgPool::Lease b = pool.Acquire();
    pids[0] = BackendPid(a);
    pids[1] = BackendPid(b);
  }
  {
    pqxx::connection admin(testing::TestDatabaseUrl());
    {
      pqxx::nontransaction tx(admin);
      for (int pid : pids) tx.exec_params("SELECT pg_terminate_backend($1)", pid);
    }
    ASSERT_TRUE(Eventually([&] {
      pqxx::nontransaction check(admin);
      return check
                 .exec_params("SELECT count(*) FROM pg_stat_activity WHERE pid IN ($1, $2)",
                              pids[0], pids[1])[0][0]
                 .as<int>() == 0;
    }));
  }
  PgPool::Lease lease = pool.Acquire();
  const int pid = BackendPid(lease);  // works: a fresh connection
  EXPECT_NE(pid, pids[0]);
  EXPECT_NE(pid, pids[1]);
  EXPECT_GE(pool.Status().invalidated, 1u);
}

DbOptions QuietDb(std::chrono::milliseconds slow_query, std::shared_ptr<Logger> logger) {
  DbOptions o;
  o.slow_query = slow_query;
  o.logger = std::move(logger);
  return o;
}

TEST(Db, RetriesAReadWhoseConnectionDiesInUse) {
  PgPool pool(Options(1, 0));
  Db db(pool, QuietDb(1000ms, std::make_shared<NullLogger>()));
  int attempts = 0;
  std::string answer;
  db.Read([&](Session& s) {
    ++attempts;
    if (attempts == 1) {
      // The server ends this very session mid-request (as a restart would).
      s.Exec({"kill_self", "SELECT pg_terminate_backend(pg_backend_pid())"});
    }
    answer = s.Exec({"answer", "SELECT 'ok'"})[0][0].c_str();
  });
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(answer, "ok");
}

TEST(Db, RetriesDeadlocksAndSerializationFailuresBoundedly) {
  PgPool pool(Options(1, 0));
  Db db(pool, QuietDb(1000ms, std::make_shared<NullLogger>()));
  int attempts = 0;
  db.Write([&](Session& s) {
    if (++attempts == 1) {
      s.Exec(
          {"deadlock", "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'deadlock_detected'; END $$"});
    }
  });
  EXPECT_EQ(attempts, 2);
  attempts = 0;
  try {
    db.Write([&](Session& s) {
      ++attempts;
      s.Exec({"serialization",
              "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'serialization_failure'; END $$"});
    });
    FAIL() << "expected the retries to give up";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kAborted);
  }
  EXPECT_EQ(attempts, 3);
}

TEST(Db, StatementTimeoutCancelsTheQueryAndKeepsTheConnection) {
  PgPool pool(Options(1, 0, 200ms));
  Db db(pool, QuietDb(1000ms, std::make_shared<NullLogger>()));
  int pid_before = 0, pid_after = 0;
  db.Read([&](Session& s) {
    pid_before = s.Exec({"pid", "SELECT pg_backend_pid()"})[0][0].as<int>();
  });
  try {
    db.Read([&](Session& s) { s.Exec({"sleep", "SELECT pg_sleep(1)"}); });
    FAIL() << "expected a statement timeout";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDeadlineExceeded);  // the API answers 504
  }
  db.Read([&](Session& s) {
    pid_after = s.Exec({"pid", "SELECT pg_backend_pid()"})[0][0].as<int>();
  });
  EXPECT_EQ(pid_before, pid_after);
  EXPECT_EQ(pool.Status().opened, 1u);
}

TEST(Db, LogsSlowQueriesWithTheirSqlButNeverTheirParameters) {
  PgPool pool(Options(1, 0));
  auto logger = std::make_shared<CapturingLogger>();
  Db db(pool, QuietDb(0ms, logger));
  db.Read([&](Session& s) {
    s.Exec({"echo", "SELECT length($1::text)"}, {std::string("secret-value-123")});
  });
  const std::string log = logger->text();
  EXPECT_NE(log.find("slow query"), std::string::npos) << log;
  EXPECT_NE(log.find("SELECT length($1::text)"), std::string::npos) << log;
  EXPECT_NE(log.find("duration_ms"), std::string::npos) << log;
  EXPECT_EQ(log.find("secret-value-123"), std::string::npos) << log;
}

TEST(Db, MapsConstraintErrorsToCodes) {
  testing::TestSchema schema;
  schema.MigrateUp();
  PgPoolOptions o = Options(1, 0);
  o.conninfo = WithConnectionSettings(testing::TestDatabaseUrl(), 5s, 30000ms, schema.name());
  PgPool pool(o);
  Db db(pool, QuietDb(1000ms, std::make_shared<NullLogger>()));
  auto code_of = [&](const std::string& sql) {
    try {
      db.Write([&](Session& s) {
        s.Exec({"q" + std::to_string(std::hash<std::string>()(sql)), sql});
      });
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code_of("INSERT INTO gear_brands (id, name) VALUES "
                    "('00000000-0000-4000-8000-000000000001', 'A'), "
                    "('00000000-0000-4000-8000-000000000001', 'B')"),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(code_of("INSERT INTO gear_brands (id, name) VALUES "
                    "('00000000-0000-4000-8000-000000000002', '')"),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of("SELECT 1/0"), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace vemakin::server
