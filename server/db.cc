#include "server/db.h"

#include <utility>

#include "core/error.h"
#include "core/sync_protocol.h"

namespace vemakin::server {
namespace {

std::vector<const char*> Pointers(const Params& params) {
  std::vector<const char*> out;
  out.reserve(params.size());
  for (const Param& p : params) out.push_back(p ? p->c_str() : nullptr);
  return out;
}

}  // namespace

pqxx::result Session::Exec(const Statement& st, const Params& params) {
  const bool named = db_.options_.named_statements;
  if (named) lease_.EnsurePrepared(st.name, st.sql);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<const char*> args = Pointers(params);
  pqxx::result r = named ? tx_.exec_prepared(st.name, pqxx::prepare::make_dynamic_params(args))
                         : tx_.exec_params(st.sql, pqxx::prepare::make_dynamic_params(args));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  if (db_.options_.observer) db_.options_.observer(st.sql, params);
  if (elapsed >= db_.options_.slow_query) {
    // The statement text only: parameter values may hold personal data.
    db_.options_.logger->Log(
        LogLevel::kWarning, "db", "slow query",
        {{"statement", st.name},
         {"sql", st.sql},
         {"duration_ms", std::chrono::duration<double, std::milli>(elapsed).count()}});
  }
  return r;
}

std::optional<Error> Session::Attempt(const std::function<void()>& fn, bool savepoint) {
  if (savepoint) tx_.exec0("SAVEPOINT step");
  try {
    fn();
    if (savepoint) tx_.exec0("RELEASE SAVEPOINT step");
    return std::nullopt;
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const pqxx::transaction_rollback&) {
    throw;
  } catch (...) {
    std::optional<Error> failure;
    try {
      RethrowAsError(*db_.options_.logger);
    } catch (const Error& e) {
      failure = e;
    }
    if (savepoint) {
      tx_.exec0("ROLLBACK TO SAVEPOINT step");
    } else {
      spoiled_ = true;
    }
    return failure;
  }
}

Db::Db(PgPool& pool, DbOptions options) : pool_(pool), options_(std::move(options)) {
  if (!options_.logger) options_.logger = DefaultLogger();
  if (!options_.transaction_settings.empty()) {
    begin_ = "BEGIN; " + options_.transaction_settings;
    begin_snapshot_ =
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; " + options_.transaction_settings;
  }
}

void Db::Retry(const std::function<void(PgPool::Lease&)>& unit) const {
  for (int attempt = 1;; ++attempt) {
    PgPool::Lease lease = pool_.Acquire();
    try {
      unit(lease);
      return;
    } catch (const pqxx::in_doubt_error&) {
      lease.Invalidate();
      options_.logger->Log(LogLevel::kError, "db", "connection lost during COMMIT");
      throw Error(ErrorCode::kUnavailable,
                  "the database connection was lost while committing; the outcome is unknown: "
                  "retry with the same ids");
    } catch (const pqxx::broken_connection& e) {
      lease.Invalidate();
      options_.logger->Log(LogLevel::kWarning, "db", "connection lost; retrying",
                           {{"attempt", attempt}, {"error", e.what()}});
      if (attempt >= options_.max_attempts) {
        throw Error(ErrorCode::kUnavailable, "database unavailable");
      }
    } catch (const pqxx::transaction_rollback& e) {  // deadlock, serialization failure
      options_.logger->Log(LogLevel::kInfo, "db", "transaction rolled back; retrying",
                           {{"attempt", attempt}, {"error", e.what()}});
      if (attempt >= options_.max_attempts) {
        throw Error(ErrorCode::kAborted, "the database is busy; retry");
      }
    } catch (...) {
      RethrowAsError(*options_.logger);
    }
  }
}

namespace {

thread_local std::uint64_t commit_lsn = 0;  // Db::TakeCommitLsn

}  // namespace

std::uint64_t Db::TakeCommitLsn() { return std::exchange(commit_lsn, 0); }

void Db::NoteCommitLsn(pqxx::connection& conn) {
  // After COMMIT, on the same connection (no second checkout): at or past
  // the commit record (the insert position: an asynchronous commit is
  // visible before its WAL is written). Never throws: the unit of work has
  // committed, and an exception here would make Retry run it again. Without
  // the position the client's next read may come from a replica that has
  // not replayed the write yet (and shows it later).
  try {
    pqxx::nontransaction tx(conn);
    commit_lsn =
        core::ParseLsn(tx.exec1("SELECT pg_current_wal_insert_lsn()::text")[0].c_str()).value_or(0);
  } catch (const std::exception&) {
    commit_lsn = 0;
  }
}

template <class Tx>
void Db::Run(const std::function<void(Session&)>& fn, bool commit, bool track) const {
  Retry([&](PgPool::Lease& lease) {
    bool committed = false;
    {
      Tx tx(lease.conn());
      Session session(lease, tx, *this);
      fn(session);
      if (commit && !session.spoiled()) {
        tx.commit();  // else rolled back by tx's destructor
        committed = true;
      }
    }
    if (committed && track) NoteCommitLsn(lease.conn());
  });
}

// Behind a transaction pooler the transaction is opened by hand, so that
// BEGIN and the SET LOCAL settings travel in one round trip (libpqxx's
// transaction classes send BEGIN on its own: a round trip more per request).
// The unit ends with COMMIT (ROLLBACK when spoiled or failed); a connection
// lost during COMMIT leaves the outcome in doubt, as pqxx::work reports it.
void Db::RunPooled(const std::function<void(Session&)>& fn, const std::string& begin,
                   bool track) const {
  Retry([&](PgPool::Lease& lease) {
    pqxx::nontransaction tx(lease.conn());
    bool spoiled = false;
    try {
      tx.exec0(begin);
      Session session(lease, tx, *this);
      fn(session);
      spoiled = session.spoiled();
    } catch (...) {
      try {
        tx.exec0("ROLLBACK");
      } catch (...) {
        lease.Invalidate();  // state unknown: never hand it to another request
      }
      throw;
    }
    if (spoiled) {
      tx.exec0("ROLLBACK");
      return;
    }
    try {
      tx.exec0("COMMIT");
    } catch (const std::exception& e) {
      // As libpqxx's own commit: a failure that also lost the connection
      // (a backend killed mid-COMMIT) may have committed.
      if (!lease.conn().is_open()) throw pqxx::in_doubt_error(e.what());
      throw;
    }
    if (track) {
      // On this nontransaction (a second transaction object on the
      // connection would be refused). Behind the pooler it may run on
      // another server connection: the position is the cluster's, and the
      // commit is done.
      try {
        commit_lsn = core::ParseLsn(tx.exec1("SELECT pg_current_wal_insert_lsn()::text")[0].c_str())
                         .value_or(0);
      } catch (const std::exception&) {
        commit_lsn = 0;  // the write stands (see NoteCommitLsn)
      }
    }
  });
}

void Db::Write(const std::function<void(Session&)>& fn) const {
  const bool track = options_.track_commit_lsn;
  if (!options_.transaction_settings.empty()) return RunPooled(fn, begin_, track);
  Run<pqxx::work>(fn, true, track);
}

void Db::Read(const std::function<void(Session&)>& fn) const {
  // Behind a pooler, SET LOCAL needs a transaction to hold the settings.
  if (!options_.transaction_settings.empty()) return RunPooled(fn, begin_);
  Run<pqxx::nontransaction>(fn, false);
}

void Db::ReadSnapshot(const std::function<void(Session&)>& fn) const {
  if (!options_.transaction_settings.empty()) {
    return RunPooled(fn, begin_snapshot_);
  }
  Run<pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>>(fn, true);
}

void RethrowAsError(Logger& logger) {
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const pqxx::unique_violation&) {
    throw Error(ErrorCode::kAlreadyExists, "already exists");
  } catch (const pqxx::foreign_key_violation&) {
    throw Error(ErrorCode::kInvalidArgument, "refers to a row that does not exist");
  } catch (const pqxx::integrity_constraint_violation&) {
    throw Error(ErrorCode::kInvalidArgument, "violates a data constraint");
  } catch (const pqxx::sql_error& e) {
    const std::string& state = e.sqlstate();
    if (state == "57014") throw Error(ErrorCode::kDeadlineExceeded, "the query took too long");
    if (state.rfind("22", 0) == 0) {
      logger.Log(LogLevel::kDebug, "db", "invalid value",
                 {{"sqlstate", state}, {"error", e.what()}});
      throw Error(ErrorCode::kInvalidArgument, "invalid value");
    }
    if (state.rfind("08", 0) == 0 || state == "57P01" || state == "57P03" || state == "53300") {
      throw Error(ErrorCode::kUnavailable, "database unavailable");
    }
    logger.Log(LogLevel::kError, "db", "SQL error", {{"sqlstate", state}, {"error", e.what()}});
    throw Error(ErrorCode::kInternal, "internal error");
  } catch (const pqxx::broken_connection&) {
    throw Error(ErrorCode::kUnavailable, "database unavailable");
  } catch (const std::exception& e) {
    logger.Log(LogLevel::kError, "db", "unexpected error", {{"error", e.what()}});
    throw Error(ErrorCode::kInternal, "internal error");
  }
}

}  // namespace vemakin::server
