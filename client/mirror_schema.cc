#include "client/mirror_schema.h"

#include <string>

#include "core/error.h"
#include "schema/embedded.h"

namespace vemakin::client {
namespace {

ErrorCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::kDataLoss;
    default:
      return ErrorCode::kInternal;
  }
}

void Exec(sqlite3* db, const std::string& sql) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    std::string text = msg ? msg : sqlite3_errstr(rc);
    sqlite3_free(msg);
    throw Error(CodeFor(rc), "SQLite schema: " + text);
  }
}

int UserVersion(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr) != SQLITE_OK) {
    throw Error(ErrorCode::kInternal, sqlite3_errmsg(db));
  }
  int version = 0;
  if (sqlite3_step(stmt) == SQLITE_ROW) version = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  return version;
}

}  // namespace

int LatestMirrorVersion() { return static_cast<int>(schema::SqliteMigrations().size()); }

int ApplyMirrorSchema(sqlite3* db) {
  const int current = UserVersion(db);
  const int latest = LatestMirrorVersion();
  if (current > latest) {
    throw Error(ErrorCode::kFailedPrecondition,
                "this store was written by a newer vemakin (schema " + std::to_string(current) +
                    ", this client knows " + std::to_string(latest) + ")");
  }
  int applied = 0;
  for (int v = current + 1; v <= latest; ++v) {
    const schema::EmbeddedFile& file = schema::SqliteMigrations()[v - 1];
    Exec(db, "BEGIN IMMEDIATE");
    try {
      Exec(db, file.contents);
      Exec(db, "PRAGMA user_version = " + std::to_string(v));
      Exec(db, "COMMIT");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    ++applied;
  }
  return applied;
}

}  // namespace vemakin::client
