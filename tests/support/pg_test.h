// Test support for the `pg` and `e2e` suites: where the throwaway PostgreSQL
// is, and a schema of one's own per test (STYLE.md: `t_` prefix, dropped at
// the end). The CTest fixture (tests/support/pg_fixture_main.cc) starts the
// cluster and names its settings file in VEMAKIN_TEST_PG_ENV; without that
// file the standard PG* variables are used. With neither, tests fail: a
// missing database is never a pass.
#ifndef VEMAKIN_TESTS_SUPPORT_PG_TEST_H_
#define VEMAKIN_TESTS_SUPPORT_PG_TEST_H_

#include <memory>
#include <pqxx/pqxx>
#include <string>

namespace vemakin::testing {

// libpq connection string of the test database.
std::string TestDatabaseUrl();
// The same database through the test PgBouncer in transaction mode, when the
// settings file is the PgBouncer fixture's (tests/support/
// pgbouncer_fixture_main.cc: it adds PGBOUNCER_PORT); "" otherwise. Servers
// under test then run with ServerOptions::transaction_pooler.
std::string TestPoolerUrl();
// The test cluster's hot standby (the replica fixture, `vemakin-test-pg
// start-replica`: replica.env beside the settings file); throws when absent.
std::string TestReplicaUrl();
// `conninfo` (key=value form, as the two above) with `key` set to `value`.
std::string WithConninfoKey(std::string conninfo, const std::string& key, const std::string& value);

// A fresh schema `t_<random>` created on construction and dropped (CASCADE) on
// destruction. Connections from Connect() have it as their search_path.
class TestSchema {
 public:
  TestSchema();
  ~TestSchema();
  TestSchema(const TestSchema&) = delete;
  TestSchema& operator=(const TestSchema&) = delete;

  const std::string& name() const { return name_; }
  std::unique_ptr<pqxx::connection> Connect() const;
  // Migrates the schema to the latest version.
  void MigrateUp() const;

 private:
  std::string name_;
};

}  // namespace vemakin::testing

#endif  // VEMAKIN_TESTS_SUPPORT_PG_TEST_H_
