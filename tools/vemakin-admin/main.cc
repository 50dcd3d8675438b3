// vemakin-admin: database operations (SPEC.md section 5). Parses flags and
// calls server/ (Migrator, SeedCatalog); prints tables for people.
#include <httplib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "core/error.h"
#include "server/catalog_seed.h"
#include "server/demo_seed.h"
#include "server/migrator.h"
#include "server/server.h"
#include "server/sync_history.h"
#include "server/token_purge.h"
#include "tools/common/print_table.h"

namespace {

using vemakin::server::Migrator;

using vemakin::tools::PrintTable;

std::unique_ptr<pqxx::connection> Connect(const std::string& url, const std::string& schema) {
  auto conn = std::make_unique<pqxx::connection>(vemakin::server::WithConnectionSettings(
      url, std::chrono::seconds(10), std::chrono::milliseconds(0)));
  if (!schema.empty()) {
    pqxx::nontransaction tx(*conn);
    tx.exec("SET search_path TO " + tx.quote_name(schema));
  }
  return conn;
}

int MigrateStatus(Migrator& m) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : m.Status()) {
    rows.push_back(
        {std::to_string(s.version), s.name,
         s.applied ? (s.checksum_ok ? "applied" : "applied (file changed since)") : "pending",
         s.applied_at});
  }
  PrintTable({"VERSION", "NAME", "STATE", "APPLIED AT"}, rows);
  std::cout << "current version " << m.CurrentVersion() << " of " << m.LatestVersion() << "\n";
  return 0;
}

int MigrateVerify(Migrator& m) {
  std::vector<std::vector<std::string>> rows;
  int bad = 0;
  for (const auto& s : m.Verify()) {
    const bool ok = s.exists && s.valid;
    bad += ok ? 0 : 1;
    rows.push_back({s.index.name, s.index.table, s.exists ? "yes" : "no",
                    s.exists ? (s.valid ? "valid" : "INVALID") : "-"});
  }
  PrintTable({"INDEX", "TABLE", "EXISTS", "STATE"}, rows);
  const int current = m.CurrentVersion();
  if (current < m.LatestVersion()) {
    std::cout << "schema at version " << current << ", " << m.LatestVersion() - current
              << " migration(s) pending: run `vemakin-admin migrate up`\n";
    return 1;
  }
  if (bad > 0) {
    std::cout << bad << " index(es) missing or INVALID: `vemakin-admin migrate up` rebuilds them\n";
    return 1;
  }
  std::cout << "all " << rows.size() << " indexes exist and are valid\n";
  return 0;
}

int IndexUsage(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  const pqxx::result r = tx.exec(
      "SELECT s.relname, s.indexrelname, s.idx_scan, s.idx_tup_read, s.idx_tup_fetch, "
      "pg_size_pretty(pg_relation_size(s.indexrelid)) "
      "FROM pg_stat_user_indexes s WHERE s.schemaname = current_schema() "
      "ORDER BY s.relname, s.indexrelname");
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : r) {
    std::vector<std::string> cells;
    for (const auto& f : row) cells.push_back(f.c_str());
    rows.push_back(cells);
  }
  PrintTable({"TABLE", "INDEX", "SCANS", "TUPLES READ", "TUPLES FETCHED", "SIZE"}, rows);
  return 0;
}

// GET <url>/admin/pool-status (the server answers it on loopback only).
int PoolStatus(const std::string& url) {
  httplib::Client http(url);
  http.set_connection_timeout(5, 0);
  http.set_read_timeout(10, 0);
  const auto res = http.Get("/admin/pool-status");
  if (!res) {
    std::cerr << "error: cannot reach " << url << ": " << httplib::to_string(res.error()) << "\n";
    return 2;
  }
  if (res->status != 200) {
    std::cerr << "error: " << url << " answered " << res->status
              << " (the pool status is served on loopback only)\n";
    return 1;
  }
  const nlohmann::json status = nlohmann::json::parse(res->body, nullptr, false);
  if (!status.is_object()) {
    std::cerr << "error: not a vemakin-server pool status\n";
    return 1;
  }
  std::vector<std::vector<std::string>> rows;
  for (auto it = status.begin(); it != status.end(); ++it)
    rows.push_back({it.key(), it.value().dump()});
  PrintTable({"POOL", "VALUE"}, rows);
  return 0;
}

// Installs or updates the starter catalog and says what it holds.
void PrintCatalog(pqxx::connection& conn) {
  const auto r = vemakin::server::SeedCatalog(conn);
  std::cout << "catalog: " << r.categories << " categories, " << r.brands << " brands, " << r.items
            << " items\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vemakin-admin: migrations, index checks and data seeding for Vemakin Sync"};
  app.require_subcommand(1);
  std::string url;
  std::string schema;
  app.add_option("--database-url", url, "libpq URL; default: $DATABASE_URL, else the PG* variables")
      ->envname("DATABASE_URL");
  app.add_option("--schema", schema, "schema to work in (default: the connection's search_path)");

  CLI::App* migrate = app.add_subcommand("migrate", "apply, revert or inspect migrations");
  migrate->require_subcommand(1);
  std::optional<int> up_target;
  int down_steps = 1;
  CLI::App* up = migrate->add_subcommand("up", "apply pending migrations (and repair indexes)");
  up->add_option("VERSION", up_target, "stop at this version (default: latest)");
  CLI::App* down = migrate->add_subcommand("down", "revert the newest migrations");
  down->add_option("N", down_steps, "how many to revert (default 1)")
      ->check(CLI::NonNegativeNumber);
  CLI::App* status = migrate->add_subcommand("status", "list migrations and their state");
  CLI::App* verify =
      migrate->add_subcommand("verify", "check every expected index exists and is valid");
  CLI::App* usage = app.add_subcommand("index-usage", "index scans from pg_stat_user_indexes");
  CLI::App* seed = app.add_subcommand(
      "seed", "load the starter gear catalog (idempotent); with --users, a demo data set too");
  vemakin::server::DemoSeedOptions demo;
  demo.users = 0;
  seed->add_option("--users", demo.users, "demo accounts to create, a project each")
      ->check(CLI::Range(0, 100000));
  seed->add_option("--shots", demo.shots_per_user, "shots per demo project")
      ->check(CLI::Range(0, 10000000))
      ->capture_default_str();
  seed->add_option("--password", demo.password, "the demo accounts' password")
      ->capture_default_str();
  double keep_hours = 24 * 30;
  CLI::App* compact = app.add_subcommand(
      "compact", "delete sync change history older than --keep-hours (clients behind it rebase)");
  compact->add_option("--keep-hours", keep_hours, "history to keep, in hours")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  double keep_mutation_days = 90;
  compact
      ->add_option("--keep-mutation-days", keep_mutation_days,
                   "idempotency records to keep, in days (longer than any client stays offline)")
      ->check(CLI::Range(1.0, 1e5))
      ->capture_default_str();
  CLI::App* purge_tokens = app.add_subcommand(
      "purge-tokens", "delete expired sign-in tokens (the server also purges a few per sign-in)");
  std::string pool_url;
  CLI::App* pool = app.add_subcommand("pool-status", "a running server's connection pool");
  pool->add_option("URL", pool_url, "the server, e.g. http://127.0.0.1:8000")->required();

  CLI11_PARSE(app, argc, argv);
  if (*pool) return PoolStatus(pool_url);
  try {
    auto conn = Connect(url, schema);
    Migrator migrator(*conn, vemakin::DefaultLogger());
    if (*up) {
      const int n = migrator.Up(up_target);
      std::cout << "applied " << n << " migration(s); now at version " << migrator.CurrentVersion()
                << "\n";
      // The starter catalog is data of the product (SPEC.md section 5): every
      // migrated database serves it, installed or brought up to this edition.
      if (migrator.CurrentVersion() == migrator.LatestVersion()) PrintCatalog(*conn);
      return 0;
    }
    if (*down) {
      const int n = migrator.Down(down_steps);
      std::cout << "reverted " << n << " migration(s); now at version " << migrator.CurrentVersion()
                << "\n";
      return 0;
    }
    if (*status) return MigrateStatus(migrator);
    if (*verify) return MigrateVerify(migrator);
    if (*usage) return IndexUsage(*conn);
    if (*compact) {
      const long long n = vemakin::server::CompactSyncHistory(
          *conn, std::chrono::seconds(static_cast<long long>(keep_hours * 3600)));
      const long long m = vemakin::server::PruneMutationRecords(
          *conn, std::chrono::seconds(static_cast<long long>(keep_mutation_days * 86400)));
      std::cout << "compacted " << n << " change(s); pruned " << m << " mutation record(s)\n";
      return 0;
    }
    if (*purge_tokens) {
      std::cout << "purged " << vemakin::server::PurgeExpiredTokens(*conn) << " expired token(s)\n";
      return 0;
    }
    if (*seed) {
      PrintCatalog(*conn);
      if (demo.users > 0) {
        const bool tty = isatty(2) != 0;
        const auto result = vemakin::server::SeedDemoData(*conn, demo, [tty](int done, int total) {
          if (!tty) return;
          const int width = 30, filled = total ? done * width / total : width;
          std::cerr << "\r[" << std::string(filled, '#') << std::string(width - filled, ' ') << "] "
                    << done << "/" << total << " accounts" << std::flush;
          if (done == total) std::cerr << "\n";
        });
        std::cout << "demo: " << result.users << " accounts, " << result.shots
                  << " shots (password: " << demo.password << ")\n";
      }
      return 0;
    }
  } catch (const pqxx::broken_connection& e) {
    std::cerr << "error: cannot connect to PostgreSQL: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
