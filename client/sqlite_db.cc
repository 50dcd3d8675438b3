#include "client/sqlite_db.h"

#include "core/error.h"

namespace vemakin::client {

void ThrowSqlite(sqlite3* db, int rc, const std::string& what) {
  const std::string msg = what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw Error(ErrorCode::kUnavailable, "the store is busy: " + msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      throw Error(ErrorCode::kDataLoss, "the store file is damaged or not a vemakin store: " + msg);
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
        throw Error(ErrorCode::kAlreadyExists, "already exists");
      }
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
        throw Error(ErrorCode::kInvalidArgument, "refers to a row that does not exist");
      }
      throw Error(ErrorCode::kInvalidArgument, "violates a data constraint");
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_FULL:
    case SQLITE_IOERR:
      throw Error(ErrorCode::kFailedPrecondition, msg);
    default:
      throw Error(ErrorCode::kInternal, msg);
  }
}

Value ToValue(const core::FieldSpec& f, const nlohmann::json& v) {
  if (v.is_null()) return Value::Null();
  switch (f.type) {
    case core::FieldType::kInteger:
      return Value::Int(v.get<long long>());
    case core::FieldType::kBoolean:
      return Value::Int(v.get<bool>() ? 1 : 0);
    case core::FieldType::kNumber:
      return Value::Real(v.get<double>());
    case core::FieldType::kJsonObject:
    case core::FieldType::kUuidArray:
      return Value::Text(v.dump());
    default:
      return Value::Text(v.get<std::string>());
  }
}

SqliteDb::SqliteDb(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  db_.reset(raw);
  if (rc != SQLITE_OK) ThrowSqlite(raw, rc, "cannot open " + path);
  sqlite3_extended_result_codes(raw, 1);
}

void SqliteDb::Exec(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) ThrowSqlite(db_.get(), rc, "SQLite");
}

Query SqliteDb::Prepare(const std::string& sql, const std::vector<Value>& params) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc =
        sqlite3_prepare_v3(db_.get(), sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) ThrowSqlite(db_.get(), rc, "prepare");
    it = cache_.emplace(sql, std::unique_ptr<sqlite3_stmt, StmtFinalizer>(stmt)).first;
  }
  sqlite3_stmt* stmt = it->second.get();
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  for (size_t i = 0; i < params.size(); ++i) {
    const int idx = static_cast<int>(i) + 1;
    const Value& v = params[i];
    switch (v.kind) {
      case Value::Kind::kNull:
        sqlite3_bind_null(stmt, idx);
        break;
      case Value::Kind::kInt:
        sqlite3_bind_int64(stmt, idx, v.i);
        break;
      case Value::Kind::kReal:
        sqlite3_bind_double(stmt, idx, v.d);
        break;
      case Value::Kind::kText:
        sqlite3_bind_text(stmt, idx, v.s.data(), static_cast<int>(v.s.size()), SQLITE_TRANSIENT);
        break;
    }
  }
  return Query(db_.get(), stmt);
}

void Query::Bind(int index, const core::FieldSpec& f, const nlohmann::json& v) {
  int rc = SQLITE_OK;
  if (v.is_null()) {
    rc = sqlite3_bind_null(stmt_, index);
  } else {
    switch (f.type) {
      case core::FieldType::kInteger:
        rc = sqlite3_bind_int64(stmt_, index, v.get<long long>());
        break;
      case core::FieldType::kBoolean:
        rc = sqlite3_bind_int(stmt_, index, v.get<bool>() ? 1 : 0);
        break;
      case core::FieldType::kNumber:
        rc = sqlite3_bind_double(stmt_, index, v.get<double>());
        break;
      case core::FieldType::kJsonObject:
      case core::FieldType::kUuidArray: {
        const std::string text = v.dump();
        rc = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                               SQLITE_TRANSIENT);
        break;
      }
      default: {
        const std::string& text = v.get_ref<const std::string&>();
        rc = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                               SQLITE_STATIC);
        break;
      }
    }
  }
  if (rc != SQLITE_OK) ThrowSqlite(db_, rc, "bind");
}

bool Query::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  ThrowSqlite(db_, rc, "SQLite");
}

std::optional<std::string_view> Query::Text(int col) const {
  if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  return std::string_view(reinterpret_cast<const char*>(p),
                          static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::Commit() {
  db_.Exec("COMMIT");
  done_ = true;
}

}  // namespace vemakin::client
