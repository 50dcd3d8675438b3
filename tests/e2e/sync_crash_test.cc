// Interrupted syncs resume without loss or duplicates (SPEC.md section 4.7):
// the real `vemakin` CLI is killed with SIGKILL mid-snapshot, mid-pull and
// after the server applied a push whose answer it never recorded (fault
// points, VEMAKIN_FAILPOINT); the real `vemakin-server` is killed mid-sync.
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>

#include "tests/e2e/sync_test_support.h"
#include "tests/support/process.h"

namespace vemakin::testing {
namespace {

using SyncCrash = SyncFixture;

// Registers an account with a project of `shots` shots inserted in bulk.
struct Owner {
  std::string email;
  std::string project;
  ApiClient rest;
};

Owner MakeOwner(int shots) {
  Owner o{"owner-" + RandomUuid().substr(0, 8) + "@example.com", "",
          ApiClient(SyncFixture::server_->port())};
  Resp r = o.rest.Post("/api/auth/register",
                       {{"email", o.email}, {"password", kPassword}, {"name", "Owner"}});
  EXPECT_EQ(r.status, 201) << r.raw;
  o.rest.token = r.body.value("token", "");
  r = o.rest.Post("/api/projects", {{"name", "Feature"}});
  EXPECT_EQ(r.status, 201) << r.raw;
  o.project = r.body.value("id", "");
  auto conn = SyncFixture::server_->Connect();
  pqxx::work tx(*conn);
  tx.exec_params(
      "INSERT INTO shots (id, project_id, title) SELECT gen_random_uuid(), $1::uuid, "
      "'Shot ' || g FROM generate_series(1, $2::int) g",
      o.project, shots);
  tx.commit();
  return o;
}

RunResult Cli(const std::string& db, std::vector<std::string> args,
              const std::string& failpoint = "") {
  std::vector<std::string> argv = {"/usr/bin/env"};
  if (!failpoint.empty()) argv.push_back("VEMAKIN_FAILPOINT=" + failpoint);
  argv.push_back(VEMAKIN_CLI_BIN);
  argv.push_back("--db");
  argv.push_back(db);
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

long long LocalShots(const std::string& db, const std::string& project) {
  const RunResult r = Cli(db, {"--json", "shot", "list", "--project", project, "--limit", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out).value("total", -1LL);
}

void ExpectVerified(const std::string& db) {
  const RunResult v = Cli(db, {"--json", "verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_TRUE(json::parse(v.out).value("equal", false)) << v.out;
}

TEST_F(SyncCrash, AClientKilledMidSnapshotAndMidPullResumes) {
  Owner o = MakeOwner(12000);
  const std::string db = (dir_ / "crash.db").string();
  // Killed right after the first snapshot page committed.
  RunResult r = Cli(db, {"login", "--server", Url(), "--email", o.email, "--password", kPassword},
                    "snapshot-applied:1");
  ASSERT_EQ(r.exit_code, -1) << "not killed: " << r.out << r.err;
  const long long partial = LocalShots(db, o.project);
  EXPECT_GT(partial, 0);
  EXPECT_LT(partial, 12000);
  r = Cli(db, {"sync"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(LocalShots(db, o.project), 12000);
  ExpectVerified(db);

  // 12,000 changes to pull; killed after the first batch.
  {
    auto conn = server_->Connect();
    pqxx::work tx(*conn);
    tx.exec_params("UPDATE shots SET status = 'done' WHERE project_id = $1::uuid", o.project);
    tx.commit();
  }
  r = Cli(db, {"sync"}, "pull-applied:1");
  ASSERT_EQ(r.exit_code, -1) << "not killed: " << r.out << r.err;
  r = Cli(db, {"sync"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectVerified(db);
  const RunResult done = Cli(
      db, {"--json", "shot", "list", "--project", o.project, "--status", "done", "--limit", "1"});
  EXPECT_EQ(json::parse(done.out).value("total", -1LL), 12000);
}

TEST_F(SyncCrash, AClientKilledBeforeRecordingAnAppliedPushDuplicatesNothing) {
  Owner o = MakeOwner(0);
  const std::string db = (dir_ / "push.db").string();
  RunResult r = Cli(db, {"login", "--server", Url(), "--email", o.email, "--password", kPassword});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  {
    client::ClientOptions opts;
    opts.path = db;
    auto store = Store::Open(opts);
    store->Batch([&] {
      for (int i = 0; i < 600; ++i) {
        const std::string id = store->Create(
            Collection::kShots,
            {{"project_id", o.project}, {"title", "Take " + std::to_string(i)}})["id"];
        store->Update(Collection::kShots, id,
                      {{"title", "Take " + std::to_string(i) + " (final)"}});
      }
    });
    ASSERT_EQ(store->Status().pending_mutations, 1200);
  }
  // The server applies the second batch (1,000 mutations per push request:
  // the last 200); the client dies before it records the answer, and sends
  // the batch again when it restarts.
  r = Cli(db, {"sync"}, "push-answered:2");
  ASSERT_EQ(r.exit_code, -1) << "not killed: " << r.out << r.err;
  r = Cli(db, {"--json", "sync"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const RunResult conflicts = Cli(db, {"--json", "conflicts"});
  EXPECT_EQ(json::parse(conflicts.out), json::array()) << conflicts.out;
  const Resp list = o.rest.Get("/api/shots?project_id=" + o.project + "&limit=1");
  EXPECT_EQ(list.body.value("total", -1), 600);
  auto conn = server_->Connect();
  pqxx::work tx(*conn);
  EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM shots WHERE project_id = $1::uuid AND title "
                            "LIKE '% (final)'",
                            o.project)[0]
                .as<int>(),
            600);
  tx.commit();
  ExpectVerified(db);
}

int ListeningPort(ChildProcess& server) {
  const auto line =
      server.WaitForStderrLine("vemakin-server listening on", std::chrono::seconds(60));
  EXPECT_TRUE(line.has_value()) << server.stderr_text();
  if (!line) return -1;
  std::smatch m;
  EXPECT_TRUE(std::regex_search(*line, m, std::regex(R"(:(\d+)$)"))) << *line;
  return std::stoi(m[1]);
}

TEST_F(SyncCrash, TheServerKilledMidSyncLosesTheClientNothing) {
  Owner o = MakeOwner(12000);
  auto server_argv = [&](const std::string& listen) {
    return std::vector<std::string>{VEMAKIN_SERVER_BIN, "--listen",        listen,
                                    "--database-url",   TestDatabaseUrl(), "--schema",
                                    server_->schema(),  "--log-level",     "warning"};
  };
  auto server = std::make_unique<ChildProcess>(server_argv("127.0.0.1:0"));
  const int port = ListeningPort(*server);
  ASSERT_GT(port, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);

  auto store = OpenStore("server-crash");
  client::SyncClientOptions options;
  options.snapshot_batch = 2000;
  long long total = 0;
  options.progress = [&](const client::SyncProgress& p) {
    if (p.phase == "snapshot") total = p.total;  // known from the first page: a real bar
    if (p.phase == "snapshot" && server) server->SignalAndWait(SIGKILL);
  };
  SyncClient sync(*store, options);
  try {
    sync.Login(url, o.email, kPassword);
    FAIL() << "the sync went on without its server";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable) << e.what();
  }
  server.reset();
  const long long partial = store->List(Collection::kShots, ByProject(o.project)).total;
  EXPECT_GT(partial, 0);
  EXPECT_LT(partial, 12000);
  ChildProcess again(server_argv("127.0.0.1:" + std::to_string(port)));
  ASSERT_EQ(ListeningPort(again), port);
  const client::SyncReport r = sync.Sync();
  EXPECT_EQ(store->List(Collection::kShots, ByProject(o.project)).total, 12000);
  EXPECT_EQ(r.snapshot_rows, 12000 - partial);  // resumed after the page it had
  EXPECT_GE(total, 12000);
  const client::VerifyReport v = sync.Verify();
  EXPECT_TRUE(v.equal) << v.ToJson().dump(2);
}

}  // namespace
}  // namespace vemakin::testing
