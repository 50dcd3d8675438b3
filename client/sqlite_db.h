// Thin RAII over the SQLite C API for the client library: the connection and
// statements live in unique_ptrs with their finalizers, statements are cached
// per SQL text, transactions are scope guards (BEGIN IMMEDIATE, rollback
// unless committed), and SQLite result codes map to vemakin::Error in one
// place. Internal; one thread at a time (the Store's mutex).
#ifndef VEMAKIN_CLIENT_SQLITE_DB_H_
#define VEMAKIN_CLIENT_SQLITE_DB_H_

#include <sqlite3.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/model.h"

namespace vemakin::client {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

// Throws the Error for a failed SQLite call (kUnavailable for BUSY/LOCKED,
// kDataLoss for CORRUPT/NOTADB, kAlreadyExists for a UNIQUE/PRIMARY KEY clash,
// kInvalidArgument for other constraint failures, kInternal otherwise).
[[noreturn]] void ThrowSqlite(sqlite3* db, int rc, const std::string& what);

// A bound value: NULL, integer, real or text.
struct Value {
  enum class Kind { kNull, kInt, kReal, kText } kind = Kind::kNull;
  long long i = 0;
  double d = 0;
  std::string s;
  static Value Null() { return {}; }
  static Value Int(long long v) { return {Kind::kInt, v, 0, {}}; }
  static Value Real(double v) { return {Kind::kReal, 0, v, {}}; }
  static Value Text(std::string v) { return {Kind::kText, 0, 0, std::move(v)}; }
};

// The value to store for a validated wire value of `field` (booleans as 0/1,
// JSON as text, numbers as REAL/INTEGER), matching the STRICT column types.
Value ToValue(const core::FieldSpec& field, const nlohmann::json& value);

class Query;

class SqliteDb {
 public:
  explicit SqliteDb(const std::string& path);
  sqlite3* raw() const { return db_.get(); }
  void Exec(const std::string& sql);
  // A cached prepared statement, reset and cleared, bound to `params`.
  Query Prepare(const std::string& sql, const std::vector<Value>& params = {});

 private:
  std::unique_ptr<sqlite3, SqliteCloser> db_;
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, StmtFinalizer>> cache_;
};

// One execution of a cached statement. Step() returns false when done.
class Query {
 public:
  Query(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Query() { sqlite3_reset(stmt_); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  Query(Query&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }

  bool Step();
  // Runs to completion (for writes).
  void Run() {
    while (Step()) {
    }
  }
  // Binds a validated wire value of `field` at `index` (1-based) as ToValue
  // converts it. Text is bound without a copy: `value` must outlive this
  // execution (the next Prepare of the statement clears the binding).
  // Throws nlohmann::json::type_error for a value of the wrong JSON type.
  void Bind(int index, const core::FieldSpec& field, const nlohmann::json& value);
  std::optional<std::string_view> Text(int col) const;
  long long Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int Columns() const { return sqlite3_column_count(stmt_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// BEGIN IMMEDIATE in the constructor; ROLLBACK in the destructor unless
// Commit() ran. Nested use is the caller's to avoid (the Store tracks it).
class Transaction {
 public:
  explicit Transaction(SqliteDb& db) : db_(db) { db_.Exec("BEGIN IMMEDIATE"); }
  ~Transaction();
  void Commit();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  SqliteDb& db_;
  bool done_ = false;
};

}  // namespace vemakin::client

#endif  // VEMAKIN_CLIENT_SQLITE_DB_H_
