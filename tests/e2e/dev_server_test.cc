// `vemakin-server --dev` through the real binary: a private PostgreSQL created
// on first run and reused later, /health answering, a clean stop on SIGTERM
// that also stops the cluster.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/support/process.h"

namespace vemakin {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/vemakin-dev-test-XXXXXX";
    path_ = mkdtemp(tmpl);
    // PostgreSQL runs as an unprivileged account when tests run as root.
    fs::permissions(path_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

int ListeningPort(testing::ChildProcess& server) {
  const auto line = server.WaitForStderrLine("vemakin-server listening on", seconds(120));
  EXPECT_TRUE(line.has_value()) << server.stderr_text();
  if (!line) return -1;
  std::smatch m;
  const std::regex port_re(R"(:(\d+)$)");
  EXPECT_TRUE(std::regex_search(*line, m, port_re)) << *line;
  return std::stoi(m[1]);
}

TEST(DevServer, StartsItsOwnPostgresAndAnswersHealth) {
  TempDir data;
  const std::vector<std::string> argv = {VEMAKIN_SERVER_BIN, "--dev",
                                         "--data-dir",       (data.path() / "dev").string(),
                                         "--listen",         "127.0.0.1:0"};
  {
    testing::ChildProcess server(argv);
    const int port = ListeningPort(server);
    ASSERT_GT(port, 0);
    httplib::Client http("127.0.0.1", port);
    const auto res = http.Get("/health");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(nlohmann::json::parse(res->body).at("database"), "ok");
    EXPECT_FALSE(res->get_header_value("X-Request-Id").empty());
    EXPECT_FALSE(res->get_header_value("X-Request-Time").empty());
    const auto missing = http.Get("/no/such/route");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    EXPECT_TRUE(nlohmann::json::parse(missing->body).contains("detail"));
    EXPECT_EQ(server.SignalAndWait(SIGTERM), 0) << server.stderr_text();
    EXPECT_NE(server.stderr_text().find("creating PostgreSQL cluster"), std::string::npos);
    EXPECT_NE(server.stderr_text().find("PostgreSQL stopped"), std::string::npos);
    EXPECT_FALSE(fs::exists(data.path() / "dev" / "pgdata" / "postmaster.pid"));
  }
  {
    // Second run: the cluster is reused (no initdb), already migrated.
    testing::ChildProcess server(argv);
    const int port = ListeningPort(server);
    ASSERT_GT(port, 0);
    httplib::Client http("127.0.0.1", port);
    const auto res = http.Get("/health");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(server.SignalAndWait(SIGINT), 0) << server.stderr_text();
    EXPECT_EQ(server.stderr_text().find("creating PostgreSQL cluster"), std::string::npos);
    EXPECT_EQ(server.stderr_text().find("applying migration"), std::string::npos);
    EXPECT_FALSE(fs::exists(data.path() / "dev" / "pgdata" / "postmaster.pid"));
  }
}

TEST(DevServer, RefusesToShareItsClusterWithASecondDevServer) {
  TempDir data;
  const std::string dir = (data.path() / "dev").string();
  testing::ChildProcess first(
      {VEMAKIN_SERVER_BIN, "--dev", "--data-dir", dir, "--listen", "127.0.0.1:0"});
  const int port = ListeningPort(first);
  ASSERT_GT(port, 0);
  const testing::RunResult second =
      testing::Run({VEMAKIN_SERVER_BIN, "--dev", "--data-dir", dir, "--listen", "127.0.0.1:0"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("already runs"), std::string::npos) << second.err;
  httplib::Client http("127.0.0.1", port);
  const auto res = http.Get("/health");  // the first one is unharmed
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(first.SignalAndWait(SIGTERM), 0);
}

// A dev server killed outright leaves its PostgreSQL running; the next one
// takes the orphan over instead of refusing to start.
TEST(DevServer, TakesOverTheClusterOfACrashedDevServer) {
  TempDir data;
  const std::vector<std::string> argv = {VEMAKIN_SERVER_BIN, "--dev",
                                         "--data-dir",       (data.path() / "dev").string(),
                                         "--listen",         "127.0.0.1:0"};
  {
    testing::ChildProcess crashed(argv);
    ASSERT_GT(ListeningPort(crashed), 0);
    crashed.SignalAndWait(SIGKILL);
  }
  ASSERT_TRUE(fs::exists(data.path() / "dev" / "pgdata" / "postmaster.pid"));
  testing::ChildProcess next(argv);
  const int port = ListeningPort(next);
  ASSERT_GT(port, 0);
  httplib::Client http("127.0.0.1", port);
  const auto res = http.Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(next.SignalAndWait(SIGTERM), 0);
  EXPECT_FALSE(fs::exists(data.path() / "dev" / "pgdata" / "postmaster.pid"));
}

TEST(DevServer, HealthReportsAnUnreachableDatabaseAs503) {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  testing::ChildProcess server({VEMAKIN_SERVER_BIN, "--listen", "127.0.0.1:0", "--database-url",
                                "postgresql://nobody@127.0.0.1:1/none", "--connect-timeout", "2"});
  const int port = ListeningPort(server);
  ASSERT_GT(port, 0);
  httplib::Client http("127.0.0.1", port);
  const auto res = http.Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(nlohmann::json::parse(res->body),
            nlohmann::json({{"status", "unavailable"}, {"database", "unreachable"}}));
  EXPECT_EQ(server.SignalAndWait(SIGTERM), 0);
}

TEST(DevServer, ExplainsADataFolderPostgresCannotReach) {
  if (geteuid() != 0) GTEST_SKIP() << "only root hands the cluster to another account";
  TempDir data;
  fs::permissions(data.path(), fs::perms::owner_all);  // 0700, root-owned
  const testing::RunResult r =
      testing::Run({VEMAKIN_SERVER_BIN, "--dev", "--data-dir", (data.path() / "dev").string(),
                    "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot enter " + data.path().string()), std::string::npos) << r.err;
}

TEST(DevServer, RefusesABadListenAddress) {
  const testing::RunResult r = testing::Run({VEMAKIN_SERVER_BIN, "--listen", "nonsense"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("HOST:PORT"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace vemakin
