// The account and sync commands of the real `vemakin` binary: register with
// guest data, member add, sync, status, logout, and their clear errors.
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/e2e/sync_test_support.h"
#include "tests/support/process.h"

namespace vemakin::testing {
namespace {

using SyncCli = SyncFixture;

RunResult Vemakin(const std::string& db, std::vector<std::string> args) {
  std::vector<std::string> argv = {VEMAKIN_CLI_BIN, "--db", db};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

json JsonOut(const RunResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out, nullptr, false);
}

TEST_F(SyncCli, RegisterShareSyncAndLogout) {
  const std::string owner_db = (dir_ / "owner.db").string();
  const std::string crew_db = (dir_ / "crew.db").string();
  const std::string owner = "cli-owner-" + RandomUuid().substr(0, 8) + "@example.com";
  const std::string crew = "cli-crew-" + RandomUuid().substr(0, 8) + "@example.com";

  // Guest work first, then an account: the work goes with it.
  const json project = JsonOut(Vemakin(owner_db, {"--json", "project", "add", "Documentary"}));
  JsonOut(Vemakin(owner_db,
                  {"--json", "shot", "add", "--project", project.at("id"), "--title", "Opening"}));
  RunResult r = Vemakin(owner_db, {"register", "--server", Url(), "--email", owner, "--password",
                                   kPassword, "--name", "Owner"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("registered"), std::string::npos) << r.out;
  const json status = JsonOut(Vemakin(owner_db, {"--json", "status"}));
  EXPECT_EQ(status.at("mode"), "account");
  EXPECT_EQ(status.at("pending_mutations"), 0);
  EXPECT_NE(status.at("cursor"), nullptr);

  r = Vemakin(crew_db, {"register", "--server", Url(), "--email", crew, "--password", kPassword,
                        "--name", "Crew"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Vemakin(owner_db, {"member", "add", "--project", project.at("id"), "--email", crew, "--role",
                         "editor"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Vemakin(crew_db, {"--json", "sync"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(json::parse(r.out).value("snapshot_rows", 0) + json::parse(r.out).value("pulled", 0),
            2);
  const json shots =
      JsonOut(Vemakin(crew_db, {"--json", "shot", "list", "--project", project.at("id")}));
  ASSERT_EQ(shots.at("total"), 1);
  EXPECT_EQ(shots.at("items")[0].at("title"), "Opening");

  // Unsynced work blocks logout until discarded.
  JsonOut(Vemakin(crew_db,
                  {"--json", "shot", "add", "--project", project.at("id"), "--title", "Unsynced"}));
  r = Vemakin(crew_db, {"logout"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--discard"), std::string::npos) << r.err;
  r = Vemakin(crew_db, {"sync"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Vemakin(crew_db, {"logout"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonOut(Vemakin(crew_db, {"--json", "status"})).at("mode"), "guest");
  EXPECT_EQ(JsonOut(Vemakin(crew_db, {"--json", "project", "list"})).at("total"), 0);
  // The owner sees the crew's synced shot.
  r = Vemakin(owner_db, {"sync"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonOut(Vemakin(owner_db, {"--json", "shot", "list", "--project", project.at("id")}))
                .at("total"),
            2);
  r = Vemakin(owner_db, {"verify"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok        shots"), std::string::npos) << r.out;
}

TEST_F(SyncCli, SyncWatchAppliesRemoteChangesAndPushesLocalOnesAsTheyHappen) {
  Device a = NewAccount("a");
  const std::string project = a.store->Create(Collection::kProjects, {{"name", "Live"}})["id"];
  a.sync->Sync();
  const std::string db = (dir_ / "watch.db").string();
  RunResult r =
      Vemakin(db, {"login", "--server", Url(), "--email", a.email, "--password", kPassword});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ChildProcess watch({VEMAKIN_CLI_BIN, "--db", db, "sync", "--watch"});
  ASSERT_TRUE(watch.WaitForStderrLine("watching for changes", std::chrono::seconds(30)))
      << watch.stderr_text();
  ApiClient rest = Rest(a);
  const Resp created =
      rest.Post("/api/shots", {{"project_id", project}, {"title", "From the set"}});
  ASSERT_EQ(created.status, 201) << created.raw;
  ASSERT_TRUE(watch.WaitForStderrLine("applied 1 change(s)", std::chrono::seconds(30)))
      << watch.stderr_text();
  // And the other way: a write by another process on the same store is
  // pushed while the watch waits on the server (woken by the file, not a timer).
  const json local = JsonOut(
      Vemakin(db, {"--json", "shot", "add", "--project", project, "--title", "From the laptop"}));
  ASSERT_TRUE(watch.WaitForStderrLine("pushed 1 change(s)", std::chrono::seconds(30)))
      << watch.stderr_text();
  EXPECT_EQ(rest.Get("/api/shots/" + local.at("id").get<std::string>()).body.value("title", ""),
            "From the laptop");
  watch.SignalAndWait(SIGTERM);
  const json shot =
      JsonOut(Vemakin(db, {"--json", "shot", "show", created.body.at("id").get<std::string>()}));
  EXPECT_EQ(shot.at("title"), "From the set");
}

TEST_F(SyncCli, MistakesGetClearMessagesAndNonZeroExits) {
  const std::string db = (dir_ / "m.db").string();
  RunResult r = Vemakin(db, {"sync"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not signed in"), std::string::npos) << r.err;
  r = Vemakin(db, {"--json", "login", "--server", Url(), "--email", "nobody@example.com",
                   "--password", "wrong password"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(json::parse(r.err, nullptr, false).contains("error")) << r.err;
  r = Vemakin(db, {"login", "--server", "ftp://example.com", "--email", "a@example.com",
                   "--password", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("http://"), std::string::npos) << r.err;
  r = Vemakin(db, {"member", "add", "--project", RandomUuid(), "--email", "a@example.com", "--role",
                   "admin"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(JsonOut(Vemakin(db, {"--json", "status"})).at("mode"), "guest");
}

}  // namespace
}  // namespace vemakin::testing
