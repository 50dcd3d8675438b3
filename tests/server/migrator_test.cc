#include "server/migrator.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "tests/support/pg_test.h"

namespace vemakin::server {
namespace {

std::shared_ptr<Logger> Quiet() { return std::make_shared<NullLogger>(); }

std::string Lines(pqxx::connection& conn, const std::string& sql) {
  pqxx::nontransaction tx(conn);
  std::string out;
  for (const auto& row : tx.exec(sql)) {
    for (pqxx::row::size_type i = 0; i < row.size(); ++i) {
      out += (i ? "|" : "") + (row[i].is_null() ? std::string("NULL") : row[i].as<std::string>());
    }
    out += "\n";
  }
  return out;
}

std::string Tables(pqxx::connection& conn) {
  return Lines(conn,
               "SELECT table_name FROM information_schema.tables "
               "WHERE table_schema = current_schema() ORDER BY table_name");
}

// name|table|columns|valid for each index of the schema that is not a constraint's.
std::string IndexColumns(pqxx::connection& conn, const std::string& name) {
  return Lines(conn,
               "SELECT t.relname, string_agg(a.attname, ',' ORDER BY k.ord), "
               "CASE WHEN bool_and(i.indisvalid) THEN 'valid' ELSE 'INVALID' END FROM pg_index i "
               "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
               "JOIN pg_namespace n ON n.oid = c.relnamespace "
               "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
               "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
               "WHERE n.nspname = current_schema() AND c.relname = '" +
                   name +
                   "' "
                   "GROUP BY t.relname");
}

TEST(Migrator, UpCreatesEveryTable) {
  testing::TestSchema schema;
  auto conn = schema.Connect();
  Migrator m(*conn, Quiet());
  EXPECT_EQ(m.CurrentVersion(), 0);
  EXPECT_EQ(m.Up(), m.LatestVersion());
  EXPECT_EQ(m.CurrentVersion(), m.LatestVersion());
  EXPECT_EQ(Tables(*conn),
            "api_tokens\ncatalog_version\nequipment\ngear_brands\ngear_catalog\ngear_"
            "categories\nmembership_"
            "starts\nnotes\n"
            "postprod_tasks\nproject_members\nproject_stats\nprojects\nretired_ids\nschema_"
            "migrations\nshots\n"
            "sync_changes\nsync_horizon\nsync_mutations\nuser_stats\nusers\n");
}

TEST(Migrator, UpCreatesTheTenSpecifiedIndexesValidWithTheirColumns) {
  testing::TestSchema schema;
  auto conn = schema.Connect();
  Migrator(*conn, Quiet()).Up();
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"idx_projects_user_created", "projects|user_id,created_at,id|valid\n"},
      {"idx_shots_project_status_date", "shots|project_id,status,date|valid\n"},
      {"idx_shots_project_date_time", "shots|project_id,date,start_time,id|valid\n"},
      {"idx_equipment_user_status_category", "equipment|user_id,status,category|valid\n"},
      {"idx_notes_project_updated", "notes|project_id,updated_at,id|valid\n"},
      {"idx_tasks_project_status_priority",
       "postprod_tasks|project_id,status,priority,due_date,id|valid\n"},
      {"idx_gear_catalog_category_brand", "gear_catalog|category_id,brand_id|valid\n"},
      {"idx_shots_status", "shots|status|valid\n"},
      {"idx_tasks_status", "postprod_tasks|status|valid\n"},
      {"idx_tasks_priority", "postprod_tasks|priority|valid\n"},
  };
  for (const auto& [name, columns] : expected) {
    EXPECT_EQ(IndexColumns(*conn, name), columns) << name;
  }
}

TEST(Migrator, VerifyReportsEveryExpectedIndexValid) {
  testing::TestSchema schema;
  auto conn = schema.Connect();
  Migrator m(*conn, Quiet());
  m.Up();
  const std::vector<IndexState> states = m.Verify();
  EXPECT_GE(states.size(), 10u);
  for (const IndexState& s : states) {
    EXPECT_TRUE(s.exists && s.valid) << s.index.name;
  }
}

TEST(Migrator, DownToZeroLeavesNothing) {
  testing::TestSchema schema;
  auto conn = schema.Connect();
  Migrator m(*conn, Quiet());
  m.Up();
  EXPECT_EQ(m.Down(100), m.LatestVersion());
  EXPECT_EQ(m.CurrentVersion(), 0);
  EXPECT_EQ(Lines(*conn,
                  "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE n.nspname = current_schema()"),
            "0\n");
}

TEST(Migrator, UpAgainAfterDownRestoresEverything) {
  testing::TestSchema schema;
  auto conn = schema.Connect();
  Migrator m(*conn, Quiet());
  m.Up();
  const std::string tables = Tables(*conn);
  m.Down(m.LatestVersion());
  EXPECT_EQ(m.Up(), m.LatestVersion());
  EXPECT_EQ(Tables(*conn), tables);
  for (const IndexState& s : m.Verify()) EXPECT_TRUE(s.exists && s.valid) << s.index.name;
}

TEST(Migrator, UpTwiceAppliesNothingTheSecondTime) {
  testing::TestSchema schema;
  auto conn = schema.Connect();
  Migrator m(*conn, Quiet());
  m.Up();
  EXPECT_EQ(m.Up(), 0);
}

TEST(Migrator, StepsUpAndDownOneVersionAtATime) {
  testing::TestSchema schema;
  auto conn = schema.Connect();
  Migrator m(*conn, Quiet());
  EXPECT_EQ(m.Up(1), 1);
  EXPECT_EQ(IndexColumns(*conn, "idx_shots_status"), "");
  EXPECT_EQ(m.Up(2), 1);
  EXPECT_EQ(IndexColumns(*conn, "idx_shots_status"), "shots|status|valid\n");
  EXPECT_EQ(m.Down(1), 1);
  EXPECT_EQ(m.CurrentVersion(), 1);
  EXPECT_EQ(IndexColumns(*conn, "idx_shots_status"), "");
  const std::vector<MigrationStatus> status = m.Status();
  ASSERT_EQ(status.size(), static_cast<size_t>(m.LatestVersion()));
  EXPECT_TRUE(status[0].applied);
  EXPECT_TRUE(status[0].checksum_ok);
  EXPECT_FALSE(status[1].applied);
}

TEST(Migrator, RefusesAnUnknownTargetVersion) {
  testing::TestSchema schema;
  auto conn = schema.Connect();
  Migrator m(*conn, Quiet());
  EXPECT_THROW(m.Up(m.LatestVersion() + 1), std::exception);
  EXPECT_EQ(m.CurrentVersion(), 0);
}

// A CREATE INDEX CONCURRENTLY that fails leaves an INVALID index behind; the
// next `migrate up` must drop and rebuild it from the migration's definition.
TEST(Migrator, UpRebuildsAnInvalidIndexLeftByAFailedConcurrentBuild) {
  testing::TestSchema schema;
  auto conn = schema.Connect();
  Migrator m(*conn, Quiet());
  m.Up();
  {
    pqxx::work tx(*conn);
    tx.exec(
        "INSERT INTO users (id, email, name, password_hash) VALUES "
        "('00000000-0000-4000-8000-000000000001', 'a@b.c', 'A', '$argon2id$x');"
        "INSERT INTO projects (id, user_id, name) VALUES "
        "('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'P');"
        "INSERT INTO shots (id, project_id, title) VALUES "
        "('00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000002', 'S1'),"
        "('00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000002', 'S2');"
        "DROP INDEX idx_shots_status;");
    tx.commit();
  }
  {
    pqxx::nontransaction tx(*conn);
    // Two 'pending' rows make this unique build fail after the index is created.
    EXPECT_THROW(tx.exec("CREATE UNIQUE INDEX CONCURRENTLY idx_shots_status ON shots (status)"),
                 pqxx::unique_violation);
  }
  EXPECT_EQ(IndexColumns(*conn, "idx_shots_status"), "shots|status|INVALID\n");
  bool reported_invalid = false;
  for (const IndexState& s : m.Verify()) {
    if (s.index.name == "idx_shots_status") reported_invalid = s.exists && !s.valid;
  }
  EXPECT_TRUE(reported_invalid);
  m.Up();
  EXPECT_EQ(IndexColumns(*conn, "idx_shots_status"), "shots|status|valid\n");
  EXPECT_EQ(Lines(*conn,
                  "SELECT indisunique FROM pg_index WHERE indexrelid = "
                  "to_regclass('idx_shots_status')"),
            "f\n");
}

// Migration 0012 flags the lists that already hold a row over 4 KB (their
// pages need the sized statement), and only those.
TEST(Migrator, BigRowFlagsAreComputedForExistingRows) {
  testing::TestSchema schema;
  auto conn = schema.Connect();
  Migrator m(*conn, Quiet());
  m.Up(11);
  {
    pqxx::work tx(*conn);
    tx.exec(
        "INSERT INTO users (id, email, name, password_hash) VALUES "
        "('00000000-0000-4000-8000-000000000001', 'a@b.c', 'A', '$argon2id$x');"
        "INSERT INTO projects (id, user_id, name) VALUES "
        "('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'P'),"
        "('00000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000001', 'Q');"
        "INSERT INTO notes (id, project_id, title, content) VALUES "
        "('00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000002', 'big', "
        "repeat('x', 5000)),"
        "('00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000005', 'small', "
        "repeat('x', 3000));");
    tx.commit();
  }
  m.Up(12);
  EXPECT_EQ(Lines(*conn,
                  "SELECT p.name, s.shots_big, s.notes_big, s.tasks_big FROM project_stats s "
                  "JOIN projects p ON p.id = s.project_id ORDER BY p.name"),
            "P|f|t|f\nQ|f|f|f\n");
  EXPECT_EQ(Lines(*conn, "SELECT equipment_big FROM user_stats"), "f\n");
  // From now on the change capture sets them, per list.
  {
    pqxx::work tx(*conn);
    tx.exec(
        "INSERT INTO shots (id, project_id, title, description) VALUES "
        "('00000000-0000-4000-8000-000000000006', '00000000-0000-4000-8000-000000000005', 's', "
        "repeat('x', 5000));"
        "INSERT INTO postprod_tasks (id, project_id, category, title, description) VALUES "
        "('00000000-0000-4000-8000-000000000007', '00000000-0000-4000-8000-000000000005', "
        "'Sound', 't', repeat('x', 3000));");
    tx.commit();
  }
  EXPECT_EQ(Lines(*conn,
                  "SELECT p.name, s.shots_big, s.notes_big, s.tasks_big FROM project_stats s "
                  "JOIN projects p ON p.id = s.project_id ORDER BY p.name"),
            "P|f|t|f\nQ|t|f|f\n");  // the task's 3,000 bytes stay under the line
  EXPECT_EQ(m.Down(1), 1);
  EXPECT_EQ(Lines(*conn,
                  "SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                  "current_schema() AND column_name LIKE '%\\_big'"),
            "0\n");
}

TEST(Migrator, UpRebuildsAMissingIndex) {
  testing::TestSchema schema;
  auto conn = schema.Connect();
  Migrator m(*conn, Quiet());
  m.Up();
  {
    pqxx::nontransaction tx(*conn);
    tx.exec("DROP INDEX idx_notes_project_updated");
  }
  EXPECT_EQ(m.RepairIndexes(), 1);
  EXPECT_EQ(IndexColumns(*conn, "idx_notes_project_updated"),
            "notes|project_id,updated_at,id|valid\n");
}

TEST(Migrator, ConcurrentMigratorsApplyEachMigrationOnce) {
  testing::TestSchema schema;
  int applied[2] = {0, 0};
  std::string errors[2];
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      try {
        auto conn = schema.Connect();
        applied[i] = Migrator(*conn, Quiet()).Up();
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  auto conn = schema.Connect();
  Migrator m(*conn, Quiet());
  EXPECT_EQ(applied[0] + applied[1], m.LatestVersion());
  EXPECT_EQ(Lines(*conn, "SELECT count(*) FROM schema_migrations"),
            std::to_string(m.LatestVersion()) + "\n");
}

TEST(SplitStatements, DropsCommentsAndSplitsAtSemicolons) {
  const std::vector<std::string> s =
      SplitStatements("-- header\nCREATE INDEX a ON t (x); -- trailing\n\nDROP INDEX b;\n");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0], "CREATE INDEX a ON t (x)");
  EXPECT_EQ(s[1], "DROP INDEX b");
}

TEST(ExpectedIndexes, ListsTheTenSpecifiedIndexes) {
  std::set<std::string> names;
  for (const ExpectedIndex& i : ExpectedIndexes(1000)) names.insert(i.name);
  for (const char* name :
       {"idx_projects_user_created", "idx_shots_project_status_date", "idx_shots_project_date_time",
        "idx_equipment_user_status_category", "idx_notes_project_updated",
        "idx_tasks_project_status_priority", "idx_gear_catalog_category_brand", "idx_shots_status",
        "idx_tasks_status", "idx_tasks_priority"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
}

}  // namespace
}  // namespace vemakin::server
