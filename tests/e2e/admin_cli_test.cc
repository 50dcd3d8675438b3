// vemakin-admin through the real binary against the test PostgreSQL.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "server/migrator.h"
#include "tests/support/pg_test.h"
#include "tests/support/process.h"

namespace vemakin {
namespace {

std::string Latest() { return std::to_string(server::Migrations().size()); }

class AdminCli : public ::testing::Test {
 protected:
  testing::RunResult Admin(std::vector<std::string> args) {
    std::vector<std::string> argv = {VEMAKIN_ADMIN_BIN, "--database-url",
                                     testing::TestDatabaseUrl(), "--schema", schema_.name()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::Run(argv);
  }
  testing::TestSchema schema_;
};

TEST_F(AdminCli, MigrateUpThenVerifyListsTheTenIndexesAsValid) {
  const auto up = Admin({"migrate", "up"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.out.find("now at version " + Latest()), std::string::npos) << up.out;
  const auto verify = Admin({"migrate", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  for (const char* name :
       {"idx_projects_user_created", "idx_shots_project_status_date", "idx_shots_project_date_time",
        "idx_equipment_user_status_category", "idx_notes_project_updated",
        "idx_tasks_project_status_priority", "idx_gear_catalog_category_brand", "idx_shots_status",
        "idx_tasks_status", "idx_tasks_priority"}) {
    const size_t at = verify.out.find(std::string(name) + " ");
    ASSERT_NE(at, std::string::npos) << name;
    const std::string line = verify.out.substr(at, verify.out.find('\n', at) - at);
    EXPECT_NE(line.find("yes"), std::string::npos) << line;
    EXPECT_NE(line.find("valid"), std::string::npos) << line;
    EXPECT_EQ(line.find("INVALID"), std::string::npos) << line;
  }
}

// Issue 10: a database migrated by `migrate up` had no starter catalog,
// while every client ships one, so `vemakin verify` reported mismatches.
TEST_F(AdminCli, MigrateUpInstallsTheStarterCatalogIdempotently) {
  const auto up = Admin({"migrate", "up"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.out.find("catalog: "), std::string::npos) << up.out;
  auto conn = schema_.Connect();
  auto count = [&conn] {
    pqxx::work tx(*conn);
    return tx
        .exec1(
            "SELECT (SELECT count(*) FROM gear_catalog) * 1000 + "
            "(SELECT count(*) FROM gear_brands)")[0]
        .as<long long>();
  };
  const long long first = count();
  EXPECT_GT(first, 1000);
  ASSERT_EQ(Admin({"migrate", "up"}).exit_code, 0);  // nothing to apply: the catalog stays
  EXPECT_EQ(count(), first);
}

TEST_F(AdminCli, VerifyFailsWhileMigrationsArePendingOrAnIndexIsMissing) {
  ASSERT_EQ(Admin({"migrate", "up", "1"}).exit_code, 0);
  const auto pending = Admin({"migrate", "verify"});
  EXPECT_EQ(pending.exit_code, 1);
  EXPECT_NE(pending.out.find("pending"), std::string::npos) << pending.out;
  ASSERT_EQ(Admin({"migrate", "up"}).exit_code, 0);
  {
    auto conn = schema_.Connect();
    pqxx::nontransaction tx(*conn);
    tx.exec("DROP INDEX idx_tasks_priority");
  }
  const auto missing = Admin({"migrate", "verify"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("idx_tasks_priority"), std::string::npos);
  ASSERT_EQ(Admin({"migrate", "up"}).exit_code, 0);
  EXPECT_EQ(Admin({"migrate", "verify"}).exit_code, 0);
}

TEST_F(AdminCli, StatusSeedIndexUsageAndDown) {
  ASSERT_EQ(Admin({"migrate", "up"}).exit_code, 0);
  const auto status = Admin({"migrate", "status"});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_NE(status.out.find("core_tables"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("current version " + Latest() + " of " + Latest()), std::string::npos)
      << status.out;
  const auto seed = Admin({"seed"});
  EXPECT_EQ(seed.exit_code, 0) << seed.err;
  EXPECT_NE(seed.out.find("catalog: 13 categories"), std::string::npos) << seed.out;
  const auto usage = Admin({"index-usage"});
  EXPECT_EQ(usage.exit_code, 0) << usage.err;
  EXPECT_NE(usage.out.find("idx_shots_status"), std::string::npos);
  const auto down = Admin({"migrate", "down", Latest()});
  EXPECT_EQ(down.exit_code, 0) << down.err;
  EXPECT_NE(down.out.find("now at version 0"), std::string::npos) << down.out;
}

TEST_F(AdminCli, SeedsARealisticDemoDataSet) {
  ASSERT_EQ(Admin({"migrate", "up"}).exit_code, 0);
  const auto seed = Admin({"seed", "--users", "3", "--shots", "40"});
  ASSERT_EQ(seed.exit_code, 0) << seed.err;
  EXPECT_NE(seed.out.find("demo: 3 accounts, 120 shots"), std::string::npos) << seed.out;
  auto conn = schema_.Connect();
  pqxx::nontransaction tx(*conn);
  const pqxx::row r = tx.exec1(
      "SELECT (SELECT count(*) FROM users) || '/' || (SELECT count(*) FROM projects) || '/' || "
      "(SELECT count(*) FROM shots) || '/' || (SELECT sum(shots) FROM project_stats) || '/' || "
      "(SELECT count(*) FROM equipment) || '/' || (SELECT count(*) FROM project_members)");
  EXPECT_EQ(r[0].as<std::string>(), "3/3/120/120/18/3");
}

TEST_F(AdminCli, CompactDeletesOldSyncHistoryAndMovesTheHorizon) {
  ASSERT_EQ(Admin({"migrate", "up"}).exit_code, 0);
  ASSERT_EQ(Admin({"seed", "--users", "2", "--shots", "10"}).exit_code, 0);
  auto count = [&] {
    auto conn = schema_.Connect();
    pqxx::nontransaction tx(*conn);
    return tx.exec1("SELECT count(*) FROM sync_changes")[0].as<long long>();
  };
  const long long before = count();
  ASSERT_GT(before, 0);
  {
    auto conn = schema_.Connect();
    pqxx::nontransaction tx(*conn);
    tx.exec(
        "INSERT INTO sync_mutations (client_id, mutation_id, user_id, outcome, created_at) "
        "SELECT gen_random_uuid(), gen_random_uuid(), id, 'applied', now() - interval '100 days' "
        "FROM users LIMIT 1");
    tx.exec(
        "INSERT INTO sync_mutations (client_id, mutation_id, user_id, outcome) "
        "SELECT gen_random_uuid(), gen_random_uuid(), id, 'applied' FROM users LIMIT 1");
  }
  const auto kept = Admin({"compact"});  // 30 days by default: all of it is recent
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_NE(kept.out.find("compacted 0 change(s); pruned 1 mutation record(s)"), std::string::npos)
      << kept.out;
  EXPECT_EQ(count(), before);
  {
    // Only changes below the pull horizon are compacted, and a transaction
    // still open anywhere in the cluster (a test running beside this one)
    // holds it back: wait until it has passed the seed's changes.
    auto conn = schema_.Connect();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!pqxx::nontransaction(*conn)
                .exec1("SELECT pg_snapshot_xmin(pg_current_snapshot()) > max(txid) "
                       "FROM sync_changes")[0]
                .as<bool>()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the horizon did not pass";
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  const auto all = Admin({"compact", "--keep-hours", "0"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("compacted " + std::to_string(before)), std::string::npos) << all.out;
  EXPECT_EQ(count(), 0);
  auto conn = schema_.Connect();
  pqxx::nontransaction tx(*conn);
  EXPECT_NE(tx.exec1("SELECT txid::text FROM sync_horizon")[0].as<std::string>(), "0");
  EXPECT_NE(Admin({"compact", "--keep-hours", "-1"}).exit_code, 0);
}

// Issue 11: expired tokens are deleted, not kept forever; live ones stay.
TEST_F(AdminCli, PurgeTokensDeletesOnlyExpiredTokens) {
  ASSERT_EQ(Admin({"migrate", "up"}).exit_code, 0);
  auto count = [&](const char* where) {
    auto conn = schema_.Connect();
    pqxx::nontransaction tx(*conn);
    return tx.exec1(std::string("SELECT count(*) FROM api_tokens WHERE ") + where)[0]
        .as<long long>();
  };
  {
    auto conn = schema_.Connect();
    pqxx::nontransaction tx(*conn);
    tx.exec(
        "INSERT INTO users (id, email, name, password_hash) VALUES "
        "('00000000-0000-4000-8000-0000000000a1', 'purge@example.com', 'P', '$argon2id$x')");
    tx.exec(
        "INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) "
        "SELECT sha256(('t' || g)::bytea), '00000000-0000-4000-8000-0000000000a1', "
        "now() - interval '40 days', now() - interval '10 days' + g * interval '1 second' "
        "FROM generate_series(1, 25) g");
    tx.exec(
        "INSERT INTO api_tokens (token_hash, user_id, expires_at) "
        "SELECT sha256(('live' || g)::bytea), '00000000-0000-4000-8000-0000000000a1', "
        "now() + interval '1 day' FROM generate_series(1, 3) g");
  }
  const auto r = Admin({"purge-tokens"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("purged 25 expired token(s)"), std::string::npos) << r.out;
  EXPECT_EQ(count("expires_at <= now()"), 0);
  EXPECT_EQ(count("expires_at > now()"), 3);
  const auto again = Admin({"purge-tokens"});
  EXPECT_NE(again.out.find("purged 0 expired token(s)"), std::string::npos) << again.out;
}

TEST_F(AdminCli, ReportsAnUnreachableDatabaseClearly) {
  const auto r =
      testing::Run({VEMAKIN_ADMIN_BIN, "--database-url",
                    "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", "migrate", "status"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot connect to PostgreSQL"), std::string::npos) << r.err;
}

TEST_F(AdminCli, RejectsUnknownCommands) {
  const auto r = Admin({"migrate", "sideways"});
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
}  // namespace vemakin
