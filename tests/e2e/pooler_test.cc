// Behind PgBouncer in transaction mode (issue 12; SPEC.md section 6): run as
// "Pooler.*" under the PgBouncer fixture (tests/CMakeLists.txt), with the REST
// and sync suites beside it (and the statement-timeout test: SET LOCAL is what
// gives a pooled transaction its timeout). These prove the path is the one
// claimed -- PgBouncer counts the server's transactions -- and that the
// server refuses a pooler without a direct connection for its bell.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <memory>
#include <string>

#include "core/error.h"
#include "server/server.h"
#include "tests/e2e/api_test_support.h"
#include "tests/support/pg_test.h"

namespace vemakin::testing {
namespace {

// PgBouncer's admin console: transactions it has run for the test database.
// Through libpq itself: libpqxx refuses a server version it does not know.
long long PoolerTransactions() {
  std::string url = TestPoolerUrl();
  const size_t at = url.find("dbname=");
  const size_t end = url.find(' ', at);
  url.replace(at, end == std::string::npos ? std::string::npos : end - at, "dbname=pgbouncer");
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    ADD_FAILURE() << PQerrorMessage(conn.get());
    return -1;
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), "SHOW STATS"), &PQclear);
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    ADD_FAILURE() << PQerrorMessage(conn.get());
    return -1;
  }
  const int db = PQfnumber(r.get(), "database");
  const int xacts = PQfnumber(r.get(), "total_xact_count");
  long long total = 0;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    if (std::string(PQgetvalue(r.get(), i, db)) != "pgbouncer") {
      total += std::stoll(PQgetvalue(r.get(), i, xacts));
    }
  }
  return total;
}

class PgBouncerTransactionMode : public ServerSuite {
 protected:
  void SetUp() override {
    if (TestPoolerUrl().empty()) GTEST_SKIP() << "runs as Pooler.* under the PgBouncer fixture";
  }
};

TEST_F(PgBouncerTransactionMode, TheServersTransactionsGoThroughPgBouncer) {
  const long long before = PoolerTransactions();
  ApiClient c(port());
  c.Register();
  const std::string project = c.Post("/api/projects", {{"name", "Through PgBouncer"}}).body["id"];
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(c.Post("/api/shots", {{"project_id", project}, {"title", "S"}}).status, 201);
  }
  ASSERT_EQ(c.Get("/api/shots?project_id=" + project).body["total"], 10);
  EXPECT_GE(PoolerTransactions() - before, 12);  // the register, 11 writes, the list
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
