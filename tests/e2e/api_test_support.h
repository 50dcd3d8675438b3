// Support for the API suites: an in-process vemakin-server on 127.0.0.1 with
// an OS-assigned port over a fresh schema of the test PostgreSQL, an HTTP
// client that checks the headers every response must carry, and raw-socket
// helpers for hostile clients.
#ifndef VEMAKIN_TESTS_E2E_API_TEST_SUPPORT_H_
#define VEMAKIN_TESTS_E2E_API_TEST_SUPPORT_H_

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "server/server.h"
#include "tests/support/pg_test.h"

namespace vemakin::testing {

using nlohmann::json;

struct Resp {
  int status = 0;
  json body;  // null when the body is not JSON
  std::string raw;
  httplib::Headers headers;
};

// A running server over its own migrated, catalog-seeded schema.
class TestServer {
 public:
  explicit TestServer(server::ServerOptions options = {});
  ~TestServer();
  int port() const { return server_->port(); }
  const std::string& schema() const { return schema_.name(); }
  std::unique_ptr<pqxx::connection> Connect() const { return schema_.Connect(); }

 private:
  TestSchema schema_;
  std::unique_ptr<server::Server> server_;
};

// Points `options` at the test database: directly, or through the test
// PgBouncer (transaction mode, with the bell's LISTEN on a direct connection)
// when the suite runs under the PgBouncer fixture (TestPoolerUrl).
void UseTestDatabase(server::ServerOptions& options);
// The application_name of this process's servers' pooled connections.
std::string TestApplicationName();

// A TestServer, or the end of the test program: GoogleTest reports a
// SetUpTestSuite that throws as its tests *skipped*, and CTest would count a
// suite whose database is missing as passing.
std::unique_ptr<TestServer> StartTestServer(server::ServerOptions options = {});

// A test suite sharing one in-process server: started before the suite's
// first test, stopped after its last. A suite that needs other options
// defines `static void SetUpTestSuite() { StartServer(options); }`.
class ServerSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { StartServer({}); }
  static void TearDownTestSuite() { server_.reset(); }
  static void StartServer(server::ServerOptions options) {
    server_ = StartTestServer(std::move(options));
  }
  static int port() { return server_->port(); }
  static inline std::unique_ptr<TestServer> server_;
};

class ApiClient {
 public:
  explicit ApiClient(int port);
  Resp Get(const std::string& path);
  Resp Post(const std::string& path, const json& body);
  Resp PostRaw(const std::string& path, const std::string& body);
  Resp Patch(const std::string& path, const json& body);
  Resp Delete(const std::string& path);
  // Registers a fresh account (unique email) and keeps its token.
  json Register(const std::string& name = "Crew Member");
  std::string token;
  std::string email;
  // Through outages (a proxy whose instances may die, a database failing
  // over): no answer (status 0), 502, 503 and 504 are results, not failures.
  bool through_outages = false;

 private:
  Resp Wrap(const httplib::Result& r);
  httplib::Headers Headers() const;
  httplib::Client http_;
};

// Sends `request` on a new connection and returns everything read until the
// server closes the connection or `timeout_ms` passes. `source`: the local
// address to connect from (e.g. "127.0.0.2", another client on loopback).
std::string RawExchange(int port, const std::string& request, int timeout_ms = 10000,
                        const char* source = nullptr);
// Opens a TCP connection to 127.0.0.1:port, from `source` when given; -1 on failure.
int ConnectTcp(int port, const char* source = nullptr);
// The value of a gauge or counter without labels in GET /metrics of the
// server on 127.0.0.1:port; -1 when it is absent or the server does not answer.
double MetricOf(int port, const std::string& name);
// The same of the server at `base` ("http://..." or "https://...", its
// certificate verified against `ca_file` when given).
double MetricAt(const std::string& base, const std::string& name, const std::string& ca_file = "");
// Checks `condition` every 10 ms until it holds or `timeout` passes, and says
// whether it held. Only for a state a server shows through its metrics alone
// (a pull parked in a long poll), which no event announces; the caller
// asserts the result.
bool PollUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout);
// A random version-4 UUID.
std::string RandomUuid();
// Resident memory of this process in KiB (VmRSS).
long RssKiB();

}  // namespace vemakin::testing

#endif  // VEMAKIN_TESTS_E2E_API_TEST_SUPPORT_H_
