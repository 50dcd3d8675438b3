// Running SQL on the pool: one leased connection per unit of work (a request
// never holds two), prepared statements, the slow-query log, bounded retries,
// and the one place where libpqxx's errors become vemakin::Error codes:
//
//   pqxx::broken_connection (before COMMIT)  retried on a fresh connection, then kUnavailable
//   pqxx::deadlock_detected, serialization   retried (bounded), then kAborted
//   pqxx::in_doubt_error (lost during COMMIT) kUnavailable "outcome unknown": never success,
//                                             never a blind failure; clients retry with
//                                             the same ids, which makes the retry safe
//   sql_error 57014 (statement timeout)      kDeadlineExceeded
//   unique_violation                         kAlreadyExists
//   foreign_key / check / not_null / 22xxx   kInvalidArgument
//   anything else                            kInternal (logged; never shown to clients)
//
// Thread-safe: Db may be shared; a Session belongs to the thread running the
// unit of work.
#ifndef VEMAKIN_SERVER_DB_H_
#define VEMAKIN_SERVER_DB_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "server/pg_pool.h"

namespace vemakin::server {

// A named SQL statement; prepared once per connection on first use.
struct Statement {
  std::string name;
  std::string sql;
};

using Param = std::optional<std::string>;  // nullopt = SQL NULL
using Params = std::vector<Param>;

class Session {
 public:
  // Executes `st` with `params`; logs it when slower than the threshold.
  pqxx::result Exec(const Statement& st, const Params& params = {});
  pqxx::transaction_base& tx() { return tx_; }
  // Runs `fn`, one step of a unit of work whose failure must not end the
  // unit (a sync push's mutation), and returns that failure as a value (the
  // Error RethrowAsError maps it to); nullopt when it succeeded. With
  // `savepoint`, `fn` runs under a savepoint that is rolled back when it
  // fails, and the transaction goes on. Without, a failed statement spoils
  // the transaction (PostgreSQL refuses all that follow): the unit of work
  // must return, and Db then rolls it back instead of committing. A lost
  // connection, a deadlock or a serialization failure is not a step's
  // failure: it propagates, and Db retries the unit as always.
  std::optional<Error> Attempt(const std::function<void()>& fn, bool savepoint);
  // A step failed without a savepoint: the unit of work will not commit.
  bool spoiled() const { return spoiled_; }
  // Roles already read in this unit of work (project id -> role), when the
  // work sets it: a sync push of 500 mutations to one project reads it once.
  std::map<std::string, std::string>* role_memo = nullptr;

 private:
  friend class Db;
  Session(PgPool::Lease& lease, pqxx::transaction_base& tx, const class Db& db)
      : lease_(lease), tx_(tx), db_(db) {}
  PgPool::Lease& lease_;
  pqxx::transaction_base& tx_;
  const Db& db_;
  bool spoiled_ = false;
};

// Benchmarks only (vemakin-bench api replays a request's statements through
// libpq): told every statement a unit of work runs, with its parameters, on
// the thread that runs it. Never set in a server: parameters hold user data.
using StatementObserver = std::function<void(const std::string& sql, const Params& params)>;

struct DbOptions {
  std::chrono::milliseconds slow_query{1000};
  StatementObserver observer;  // empty (the default): none
  int max_attempts = 3;        // per unit of work, for retryable failures
  std::shared_ptr<Logger> logger;
  // Behind a transaction pooler (ServerOptions::transaction_pooler): SQL run
  // first in every unit of work (SET LOCAL ...), reads included, which then
  // run in a transaction; "" = the session carries the settings and reads
  // autocommit.
  std::string transaction_settings;
  // Statements prepared by name once per connection; false = sent unnamed
  // each time (a pooler may run the next transaction on another connection).
  bool named_statements = true;
  // After each Write commits, read the primary's WAL insert position on the
  // same connection (TakeCommitLsn): read replicas' freshness token.
  bool track_commit_lsn = false;
};

class Db {
 public:
  // `pool` must outlive the Db.
  Db(PgPool& pool, DbOptions options);

  // Runs `fn` in a read-write transaction and commits it.
  void Write(const std::function<void(Session&)>& fn) const;
  // Runs `fn` without a transaction block (each statement autocommits):
  // reads that need no snapshot across statements, at one round trip each.
  // Behind a transaction pooler it runs in a transaction (the SET LOCAL
  // settings need one), committed at the end.
  void Read(const std::function<void(Session&)>& fn) const;
  // Runs `fn` in a READ ONLY, REPEATABLE READ transaction: every statement
  // sees one snapshot (a pull's horizon and its changes, a digest's
  // tables), and the read never takes an xid (which would hold back every
  // other client's pulls while it runs).
  void ReadSnapshot(const std::function<void(Session&)>& fn) const;

  // The WAL position read after the last Write this thread committed
  // (track_commit_lsn), and forgets it; 0 when none since the last call.
  static std::uint64_t TakeCommitLsn();

  PgPool& pool() const { return pool_; }
  const DbOptions& options() const { return options_; }

 private:
  friend class Session;
  // Runs `unit` on a leased connection, retrying it on a fresh one after a
  // lost connection, a deadlock or a serialization failure (bounded), and
  // mapping every failure to vemakin::Error.
  void Retry(const std::function<void(PgPool::Lease&)>& unit) const;
  template <class Tx>
  void Run(const std::function<void(Session&)>& fn, bool commit, bool track = false) const;
  // `begin`: the BEGIN and the settings, one simple query (begin_ or begin_snapshot_).
  void RunPooled(const std::function<void(Session&)>& fn, const std::string& begin,
                 bool track = false) const;
  // Reads the insert position on `conn` into this thread's commit LSN.
  static void NoteCommitLsn(pqxx::connection& conn);

  PgPool& pool_;
  DbOptions options_;
  std::string begin_, begin_snapshot_;  // behind a pooler, built once from the settings
};

// Converts a libpqxx exception to vemakin::Error (see the table above). Rethrows
// vemakin::Error unchanged. Must be called inside a catch block.
[[noreturn]] void RethrowAsError(Logger& logger);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_DB_H_
