#include "server/migrator.h"

#include <cstdio>
#include <map>
#include <regex>
#include <thread>

#include "core/error.h"
#include "schema/embedded.h"

namespace vemakin::server {
namespace {

constexpr char kNoTransactionMarker[] = "-- vemakin:no-transaction";

bool IsNoTransaction(const std::string& sql) {
  return sql.compare(0, sizeof(kNoTransactionMarker) - 1, kNoTransactionMarker) == 0;
}

std::string Fnv1a64Hex(const std::string& data) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::vector<Migration> LoadMigrations() {
  static const std::regex kFileName(R"(^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$)");
  std::map<int, Migration> by_version;
  std::map<int, int> parts;
  for (const schema::EmbeddedFile& f : schema::PostgresMigrations()) {
    std::smatch m;
    if (!std::regex_match(f.path, m, kFileName)) {
      throw Error(ErrorCode::kInternal, "unexpected migration file name: " + f.path);
    }
    const int version = std::stoi(m[1]);
    Migration& mig = by_version[version];
    if (mig.version != 0 && mig.name != m[2].str()) {
      throw Error(ErrorCode::kInternal, "two names for migration " + m[1].str());
    }
    mig.version = version;
    mig.name = m[2];
    if (m[3] == "up") {
      mig.up_sql = f.contents;
      mig.up_transactional = !IsNoTransaction(f.contents);
      mig.checksum = Fnv1a64Hex(f.contents);
    } else {
      mig.down_sql = f.contents;
      mig.down_transactional = !IsNoTransaction(f.contents);
    }
    ++parts[version];
  }
  std::vector<Migration> out;
  int expected = 1;
  for (auto& [version, mig] : by_version) {
    if (version != expected++ || parts[version] != 2) {
      throw Error(ErrorCode::kInternal, "migration " + std::to_string(version) +
                                            " is missing its up/down file or breaks the sequence");
    }
    out.push_back(std::move(mig));
  }
  return out;
}

// Holds the migration advisory lock for the connection's current schema.
class MigrationLock {
 public:
  // Polls pg_try_advisory_lock rather than blocking in pg_advisory_lock: a
  // backend blocked inside a statement holds a snapshot, and CREATE INDEX
  // CONCURRENTLY in the migrator that owns the lock waits for every older
  // snapshot to end, so a blocking wait would deadlock the two migrators.
  MigrationLock(pqxx::connection& conn, Logger& logger) : conn_(conn) {
    bool announced = false;
    for (;;) {
      {
        pqxx::nontransaction tx(conn_);
        const pqxx::result r = tx.exec(
            "SELECT pg_try_advisory_lock(hashtext('vemakin.migrate.' || current_schema()))");
        if (r[0][0].as<bool>()) return;
      }
      if (!announced) {
        logger.Log(LogLevel::kInfo, "schema", "waiting for another migrator to finish");
        announced = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~MigrationLock() {
    try {
      pqxx::nontransaction tx(conn_);
      tx.exec("SELECT pg_advisory_unlock(hashtext('vemakin.migrate.' || current_schema()))");
    } catch (const std::exception&) {
      // The session lock ends with the connection anyway.
    }
  }
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

 private:
  pqxx::connection& conn_;
};

struct LiveIndex {
  bool exists = false;
  bool valid = false;
};

LiveIndex QueryIndex(pqxx::connection& conn, const std::string& name) {
  pqxx::nontransaction tx(conn);
  const pqxx::result r = tx.exec_params(
      "SELECT i.indisvalid AND i.indisready FROM pg_class c "
      "JOIN pg_index i ON i.indexrelid = c.oid "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = current_schema() AND c.relname = $1",
      name);
  if (r.empty()) return {};
  return {true, r[0][0].as<bool>()};
}

std::optional<std::pair<std::string, std::string>> ParseCreateIndex(const std::string& stmt) {
  static const std::regex kCreateIndex(
      R"(^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(IF\s+NOT\s+EXISTS\s+)?(\w+)\s+ON\s+(ONLY\s+)?(\w+))",
      std::regex::icase);
  std::smatch m;
  if (!std::regex_search(stmt, m, kCreateIndex)) return std::nullopt;
  return std::make_pair(m[4].str(), m[6].str());
}

}  // namespace

std::vector<std::string> SplitStatements(const std::string& sql) {
  std::string cleaned;
  size_t pos = 0;
  while (pos < sql.size()) {
    size_t end = sql.find('\n', pos);
    if (end == std::string::npos) end = sql.size();
    std::string line = sql.substr(pos, end - pos);
    const size_t comment = line.find("--");
    if (comment != std::string::npos) line.erase(comment);
    cleaned += line + "\n";
    pos = end + 1;
  }
  std::vector<std::string> out;
  size_t start = 0;
  while (start < cleaned.size()) {
    size_t semi = cleaned.find(';', start);
    if (semi == std::string::npos) semi = cleaned.size();
    std::string stmt = cleaned.substr(start, semi - start);
    const size_t first = stmt.find_first_not_of(" \t\r\n");
    if (first != std::string::npos) {
      stmt = stmt.substr(first, stmt.find_last_not_of(" \t\r\n") - first + 1);
      out.push_back(stmt);
    }
    start = semi + 1;
  }
  return out;
}

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> migrations = LoadMigrations();
  return migrations;
}

std::vector<ExpectedIndex> ExpectedIndexes(int max_version) {
  std::vector<ExpectedIndex> out;
  for (const Migration& m : Migrations()) {
    if (m.version > max_version) break;
    for (const std::string& stmt : SplitStatements(m.up_sql)) {
      if (auto parsed = ParseCreateIndex(stmt)) {
        out.push_back({parsed->first, parsed->second, m.version, stmt});
      }
    }
  }
  return out;
}

Migrator::Migrator(pqxx::connection& conn, std::shared_ptr<Logger> logger)
    : conn_(conn), logger_(logger ? std::move(logger) : DefaultLogger()) {}

int Migrator::LatestVersion() const {
  return Migrations().empty() ? 0 : Migrations().back().version;
}

void Migrator::EnsureBookkeeping() {
  pqxx::work tx(conn_);
  tx.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version integer PRIMARY KEY,"
      " name text NOT NULL,"
      " checksum text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
  tx.commit();
}

int Migrator::CurrentVersion() {
  pqxx::nontransaction tx(conn_);
  const pqxx::result exists = tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists[0][0].as<bool>()) return 0;
  const pqxx::result r = tx.exec("SELECT COALESCE(max(version), 0) FROM schema_migrations");
  return r[0][0].as<int>();
}

std::vector<MigrationStatus> Migrator::Status() {
  std::map<int, std::pair<std::string, std::string>> applied;  // version -> (at, checksum)
  if (CurrentVersion() > 0) {
    pqxx::nontransaction tx(conn_);
    const pqxx::result r = tx.exec(
        "SELECT version, to_char(applied_at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), checksum FROM schema_migrations");
    for (const auto& row : r) {
      applied[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
    }
  }
  std::vector<MigrationStatus> out;
  for (const Migration& m : Migrations()) {
    MigrationStatus s;
    s.version = m.version;
    s.name = m.name;
    auto it = applied.find(m.version);
    if (it != applied.end()) {
      s.applied = true;
      s.applied_at = it->second.first;
      s.checksum_ok = it->second.second == m.checksum;
    }
    out.push_back(s);
  }
  return out;
}

void Migrator::RunNoTransaction(const std::string& sql) {
  for (const std::string& stmt : SplitStatements(sql)) {
    if (auto parsed = ParseCreateIndex(stmt)) {
      const LiveIndex live = QueryIndex(conn_, parsed->first);
      if (live.exists && !live.valid) {
        logger_->Log(LogLevel::kWarning, "schema", "dropping INVALID index before rebuilding it",
                     {{"index", parsed->first}});
        pqxx::nontransaction tx(conn_);
        tx.exec("DROP INDEX CONCURRENTLY IF EXISTS " + tx.quote_name(parsed->first));
      }
    }
    pqxx::nontransaction tx(conn_);
    tx.exec(stmt);
  }
}

void Migrator::Apply(const Migration& m) {
  logger_->Log(LogLevel::kInfo, "schema", "applying migration",
               {{"version", m.version}, {"name", m.name}});
  if (!m.up_transactional) RunNoTransaction(m.up_sql);
  pqxx::work tx(conn_);
  if (m.up_transactional) tx.exec(m.up_sql);
  tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                 m.version, m.name, m.checksum);
  tx.commit();
}

void Migrator::Revert(const Migration& m) {
  logger_->Log(LogLevel::kInfo, "schema", "reverting migration",
               {{"version", m.version}, {"name", m.name}});
  if (!m.down_transactional) RunNoTransaction(m.down_sql);
  pqxx::work tx(conn_);
  if (m.down_transactional) tx.exec(m.down_sql);
  tx.exec_params("DELETE FROM schema_migrations WHERE version = $1", m.version);
  tx.commit();
}

int Migrator::RepairIndexes() {
  int rebuilt = 0;
  for (const ExpectedIndex& idx : ExpectedIndexes(CurrentVersion())) {
    const LiveIndex live = QueryIndex(conn_, idx.name);
    if (live.exists && live.valid) continue;
    logger_->Log(LogLevel::kWarning, "schema",
                 live.exists ? "rebuilding INVALID index" : "rebuilding missing index",
                 {{"index", idx.name}});
    RunNoTransaction(idx.statement);
    ++rebuilt;
  }
  return rebuilt;
}

int Migrator::Up(std::optional<int> target) {
  const int goal = target.value_or(LatestVersion());
  if (goal < 0 || goal > LatestVersion()) {
    throw Error(ErrorCode::kInvalidArgument, "no migration " + std::to_string(goal) +
                                                 " (latest is " + std::to_string(LatestVersion()) +
                                                 ")");
  }
  MigrationLock lock(conn_, *logger_);
  EnsureBookkeeping();
  RepairIndexes();
  const int current = CurrentVersion();
  int applied = 0;
  for (const Migration& m : Migrations()) {
    if (m.version <= current || m.version > goal) continue;
    Apply(m);
    ++applied;
  }
  return applied;
}

int Migrator::Down(int steps) {
  if (steps < 0) throw Error(ErrorCode::kInvalidArgument, "steps must be positive");
  MigrationLock lock(conn_, *logger_);
  int reverted = 0;
  int current = CurrentVersion();
  while (reverted < steps && current > 0) {
    Revert(Migrations()[current - 1]);
    ++reverted;
    current = CurrentVersion();
  }
  if (current == 0) {
    pqxx::work tx(conn_);
    tx.exec("DROP TABLE IF EXISTS schema_migrations");
    tx.commit();
  }
  return reverted;
}

std::vector<IndexState> Migrator::Verify() {
  std::vector<IndexState> out;
  for (const ExpectedIndex& idx : ExpectedIndexes(LatestVersion())) {
    const LiveIndex live = QueryIndex(conn_, idx.name);
    out.push_back({idx, live.exists, live.valid});
  }
  return out;
}

}  // namespace vemakin::server
