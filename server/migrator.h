// Versioned PostgreSQL migrations from schema/postgres (embedded at build
// time). A migration NNNN_name has an .up.sql and a .down.sql. A file whose
// first line is `-- vemakin:no-transaction` runs statement by statement outside
// a transaction (needed by CREATE/DROP INDEX CONCURRENTLY); every other file
// runs as one transaction together with its bookkeeping row, so it is applied
// entirely or not at all.
//
// Concurrency: Up/Down hold a session advisory lock keyed by the target
// schema, so two migrators (two deploys starting at once) never interleave;
// the second waits, then finds nothing left to do. Connect directly to
// PostgreSQL (not through PgBouncer in transaction mode) to migrate.
//
// Repair: a CREATE INDEX CONCURRENTLY that fails leaves an INVALID index; Up
// drops and rebuilds every INVALID or missing index of the applied migrations
// before applying new ones.
//
// The migrator works in the connection's current schema (search_path), which
// is how the tests give each case a schema of its own.
// Thread-safety: one Migrator per connection, one thread at a time.
#ifndef VEMAKIN_SERVER_MIGRATOR_H_
#define VEMAKIN_SERVER_MIGRATOR_H_

#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "core/log.h"

namespace vemakin::server {

struct Migration {
  int version = 0;
  std::string name;  // "core_tables"
  std::string up_sql;
  std::string down_sql;
  bool up_transactional = true;
  bool down_transactional = true;
  std::string checksum;  // of up_sql, hex FNV-1a 64
};

// An index a migration creates, parsed from its CREATE INDEX statement.
struct ExpectedIndex {
  std::string name;
  std::string table;
  int version = 0;        // the migration creating it
  std::string statement;  // the statement that (re)builds it
};

struct MigrationStatus {
  int version = 0;
  std::string name;
  bool applied = false;
  std::string applied_at;   // ISO timestamp, empty when pending
  bool checksum_ok = true;  // false when the applied file has since changed
};

struct IndexState {
  ExpectedIndex index;
  bool exists = false;
  bool valid = false;  // pg_index.indisvalid && indisready
};

// The embedded migrations, ordered by version. Throws Error(kInternal) on a
// malformed set (gap, missing down file): a build bug, caught by the tests.
const std::vector<Migration>& Migrations();
// Every index the migrations up to `max_version` create.
std::vector<ExpectedIndex> ExpectedIndexes(int max_version);
// Splits a no-transaction file into statements (drops `--` comments; splits at
// `;`). Such files hold only simple statements without literals containing `;`.
std::vector<std::string> SplitStatements(const std::string& sql);

class Migrator {
 public:
  // `conn` must outlive the Migrator.
  Migrator(pqxx::connection& conn, std::shared_ptr<Logger> logger);

  int LatestVersion() const;
  // 0 when nothing is applied (or the bookkeeping table does not exist).
  int CurrentVersion();
  std::vector<MigrationStatus> Status();
  // Applies pending migrations up to `target` (default: latest) after
  // repairing invalid/missing indexes. Returns how many migrations ran.
  int Up(std::optional<int> target = std::nullopt);
  // Reverts the `steps` most recent migrations. Returns how many were reverted.
  // Reaching version 0 also drops the bookkeeping table: nothing is left.
  int Down(int steps);
  // Every expected index of every known migration, with its live state.
  std::vector<IndexState> Verify();
  // Drops and rebuilds INVALID or missing indexes of applied migrations.
  // Returns how many were rebuilt. (Up calls it; exposed for tests.)
  int RepairIndexes();

 private:
  void EnsureBookkeeping();
  void Apply(const Migration& m);
  void Revert(const Migration& m);
  void RunNoTransaction(const std::string& sql);

  pqxx::connection& conn_;
  std::shared_ptr<Logger> logger_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_MIGRATOR_H_
