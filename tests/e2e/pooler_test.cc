// Behind PgBouncer in transaction mode (issue 12; SPEC.md section 6): run as
// "Pooler.*" under the PgBouncer fixture (tests/CMakeLists.txt), with the REST
// and sync suites beside it (and the statement-timeout test: SET LOCAL is what
// gives a pooled transaction its timeout). These prove the path is the one
// claimed -- the server's pooled connections are PgBouncer's clients -- and
// that the server refuses a pooler without a direct connection for its bell.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "server/server.h"
#include "tests/e2e/api_test_support.h"
#include "tests/support/pg_test.h"

namespace vemakin::testing {
namespace {

// Rows of a PgBouncer admin console command (SHOW ...), as column -> value.
// Through libpq itself: libpqxx refuses a server version it does not know.
std::vector<std::map<std::string, std::string>> AdminConsole(const std::string& command) {
  const std::string url = WithConninfoKey(TestPoolerUrl(), "dbname", "pgbouncer");
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), &PQfinish);
  std::vector<std::map<std::string, std::string>> rows;
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    ADD_FAILURE() << PQerrorMessage(conn.get());
    return rows;
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), command.c_str()), &PQclear);
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    ADD_FAILURE() << PQerrorMessage(conn.get());
    return rows;
  }
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    std::map<std::string, std::string> row;
    for (int j = 0; j < PQnfields(r.get()); ++j)
      row[PQfname(r.get(), j)] = PQgetvalue(r.get(), i, j);
    rows.push_back(std::move(row));
  }
  return rows;
}

class PgBouncerTransactionMode : public ServerSuite {
 protected:
  void SetUp() override {
    // Registered only as Pooler.* (tests/CMakeLists.txt): without the
    // fixture there is nothing to prove, and that is a failure, not a pass.
    ASSERT_FALSE(TestPoolerUrl().empty()) << "run as Pooler.* under the PgBouncer fixture";
  }
};

// This process's server is a client of PgBouncer (its pool's connections,
// named by TestApplicationName, are in SHOW CLIENTS), and its requests work.
TEST_F(PgBouncerTransactionMode, TheServersConnectionsGoThroughPgBouncer) {
  ApiClient c(port());
  c.Register();
  const std::string project = c.Post("/api/projects", {{"name", "Through PgBouncer"}}).body["id"];
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(c.Post("/api/shots", {{"project_id", project}, {"title", "S"}}).status, 201);
  }
  ASSERT_EQ(c.Get("/api/shots?project_id=" + project).body["total"], 10);
  int ours = 0;
  for (const auto& client : AdminConsole("SHOW CLIENTS")) {
    if (client.count("application_name") &&
        client.at("application_name") == TestApplicationName()) {
      ++ours;
    }
  }
  EXPECT_GE(ours, 1);  // the pool keeps its connections
}

TEST(PgBouncerOptions, APoolerWithoutADirectBellConnectionIsRefused) {
  server::ServerOptions o;
  o.database_url = TestDatabaseUrl();
  o.transaction_pooler = true;
  o.listen = "127.0.0.1:0";
  o.logger = std::make_shared<NullLogger>();
  try {
    server::Server s(o);
    FAIL() << "started without listen_database_url";
  } catch (const vemakin::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("listen_database_url"), std::string::npos);
  }
}

}  // namespace
}  // namespace vemakin::testing
