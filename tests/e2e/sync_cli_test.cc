// The account and sync commands of the real `vemakin` binary: register with
// guest data, member add, sync, status, logout, and their clear errors.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>

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

RunResult VemakinWithInput(const std::string& db, std::vector<std::string> args,
                           const std::string& input) {
  std::vector<std::string> argv = {VEMAKIN_CLI_BIN, "--db", db};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunWithInput(argv, input);
}

// The permission bits of `path` (0 when it does not exist).
unsigned Mode(const std::filesystem::path& path) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) return 0;
  return static_cast<unsigned>(st.permissions()) & 0777u;
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

// Issue 11: a password need not sit in argv (where every local user can
// read it): --password-stdin reads one line.
TEST_F(SyncCli, RegisterAndLoginReadThePasswordFromStdin) {
  const std::string db = (dir_ / "stdin.db").string();
  const std::string email = "stdin-" + RandomUuid().substr(0, 8) + "@example.com";
  RunResult r = VemakinWithInput(
      db, {"register", "--server", Url(), "--email", email, "--password-stdin", "--name", "Stdin"},
      std::string(kPassword) + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Vemakin(db, {"logout"}).exit_code, 0);
  r = VemakinWithInput(db, {"login", "--server", Url(), "--email", email, "--password-stdin"},
                       "not the password\n");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("wrong email or password"), std::string::npos) << r.err;
  r = VemakinWithInput(db, {"login", "--server", Url(), "--email", email, "--password-stdin"},
                       std::string(kPassword) + "\r\n");  // a Windows line ending too
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonOut(Vemakin(db, {"--json", "status"})).at("mode"), "account");
}

// On a terminal with no password flag, the CLI asks, with echo off.
TEST_F(SyncCli, OnATerminalThePasswordIsPromptedForWithoutEcho) {
  const std::string email = "tty-" + RandomUuid().substr(0, 8) + "@example.com";
  const std::string secret = "typed at a prompt 42";
  const std::string db = (dir_ / "tty.db").string();
  TerminalRun t =
      RunOnTerminal({VEMAKIN_CLI_BIN, "--db", db, "register", "--server", Url(), "--email", email,
                     "--name", "Tty"},
                    {{"Password: ", secret + "\n"}, {"Password (again): ", secret + "\n"}},
                    std::chrono::seconds(60));
  ASSERT_FALSE(t.timed_out) << t.screen;
  EXPECT_EQ(t.exit_code, 0) << t.screen;
  EXPECT_NE(t.screen.find("registered " + email), std::string::npos) << t.screen;
  EXPECT_EQ(t.screen.find(secret), std::string::npos) << t.screen;  // never echoed
  // A second store signs in with what is typed; a mismatch sends nothing.
  const std::string other = (dir_ / "tty2.db").string();
  t = RunOnTerminal({VEMAKIN_CLI_BIN, "--db", other, "login", "--server", Url(), "--email", email},
                    {{"Password: ", secret + "\n"}}, std::chrono::seconds(60));
  ASSERT_FALSE(t.timed_out) << t.screen;
  EXPECT_EQ(t.exit_code, 0) << t.screen;
  EXPECT_EQ(t.screen.find(secret), std::string::npos) << t.screen;
  t = RunOnTerminal({VEMAKIN_CLI_BIN, "--db", (dir_ / "tty3.db").string(), "register", "--server",
                     Url(), "--email", "x" + email, "--name", "X"},
                    {{"Password: ", secret + "\n"}, {"Password (again): ", "something else\n"}},
                    std::chrono::seconds(60));
  ASSERT_FALSE(t.timed_out) << t.screen;
  EXPECT_EQ(t.exit_code, 2) << t.screen;
  EXPECT_NE(t.screen.find("differ"), std::string::npos) << t.screen;
}

// The store holds the token: it is private to its owner before the token is
// in it — from creation for a new store, and narrowed before sign-in for one
// an older client left readable.
TEST_F(SyncCli, TheStoreHoldingTheTokenIsPrivateToItsOwner) {
  const mode_t old_umask = umask(022);  // the usual default: files come out 0644
  const std::filesystem::path fresh = dir_ / "fresh.db";
  const RunResult made = Vemakin(fresh.string(), {"project", "add", "Guest work"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(Mode(fresh), 0600u);
  for (const char* suffix : {"-wal", "-shm"}) {
    const unsigned mode = Mode(fresh.string() + suffix);
    EXPECT_TRUE(mode == 0 || mode == 0600u) << suffix << " " << std::oct << mode;
  }
  const std::filesystem::path old = dir_ / "old.db";
  ASSERT_EQ(Vemakin(old.string(), {"project", "add", "Old"}).exit_code, 0);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    std::filesystem::permissions(old.string() + suffix, static_cast<std::filesystem::perms>(0644),
                                 ec);
  }
  ASSERT_EQ(Mode(old), 0644u);
  const RunResult r = VemakinWithInput(
      old.string(),
      {"register", "--server", Url(), "--email",
       "perm-" + RandomUuid().substr(0, 8) + "@example.com", "--password-stdin", "--name", "P"},
      std::string(kPassword) + "\n");
  umask(old_umask);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const unsigned mode = Mode(old.string() + suffix);
    EXPECT_TRUE(mode == 0 || mode == 0600u) << suffix << " " << std::oct << mode;
  }
}

TEST_F(SyncCli, PasswordChangeAndLogoutEverywhereSignOtherDevicesOut) {
  const std::string laptop = (dir_ / "laptop.db").string(), phone = (dir_ / "phone.db").string();
  const std::string email = "pw-" + RandomUuid().substr(0, 8) + "@example.com";
  ASSERT_EQ(VemakinWithInput(laptop,
                             {"register", "--server", Url(), "--email", email, "--password-stdin",
                              "--name", "Pw"},
                             std::string(kPassword) + "\n")
                .exit_code,
            0);
  const std::string login_phone = std::string(kPassword) + "\n";
  ASSERT_EQ(
      VemakinWithInput(phone, {"login", "--server", Url(), "--email", email, "--password-stdin"},
                       login_phone)
          .exit_code,
      0);
  RunResult r =
      VemakinWithInput(laptop, {"password", "--password-stdin"}, "wrong one\nnew horse 77\n");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("current password"), std::string::npos) << r.err;
  r = VemakinWithInput(laptop, {"password", "--password-stdin"},
                       std::string(kPassword) + "\nnew horse 77\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 other sign-in(s) revoked"), std::string::npos) << r.out;
  EXPECT_EQ(Vemakin(laptop, {"sync"}).exit_code, 0);  // this device stays signed in
  r = Vemakin(phone, {"sync"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("vemakin login"), std::string::npos) << r.err;
  ASSERT_EQ(
      VemakinWithInput(phone, {"login", "--server", Url(), "--email", email, "--password-stdin"},
                       "new horse 77\n")
          .exit_code,
      0);
  ASSERT_EQ(Vemakin(phone, {"sync"}).exit_code, 0);
  r = Vemakin(laptop, {"logout", "--everywhere"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("signed out everywhere"), std::string::npos) << r.out;
  EXPECT_EQ(JsonOut(Vemakin(laptop, {"--json", "status"})).at("mode"), "guest");
  EXPECT_NE(Vemakin(phone, {"sync"}).exit_code, 0);
}

// Member add stays clear for the owner: a missing account is named as such.
TEST_F(SyncCli, MemberAddSaysWhenTheEmailHasNoAccount) {
  const std::string db = (dir_ / "owner.db").string();
  ASSERT_EQ(VemakinWithInput(db,
                             {"register", "--server", Url(), "--email",
                              "mo-" + RandomUuid().substr(0, 8) + "@example.com",
                              "--password-stdin", "--name", "Owner"},
                             std::string(kPassword) + "\n")
                .exit_code,
            0);
  const json project = JsonOut(Vemakin(db, {"--json", "project", "add", "Doc"}));
  const RunResult r = Vemakin(db, {"member", "add", "--project", project.at("id"), "--email",
                                   "nobody-" + RandomUuid().substr(0, 8) + "@example.com"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("no account with this email; they must register first"), std::string::npos)
      << r.err;
}

TEST_F(SyncCli, ConfigRemembersTheServerAcrossSignOutsAndRefusesBadSettings) {
  const std::string db = (dir_ / "config.db").string();
  const std::string email = "cli-config-" + RandomUuid().substr(0, 8) + "@example.com";

  // No server given and none remembered: a usage error that says what to do.
  RunResult r = VemakinWithInput(
      db, {"--json", "register", "--email", email, "--password-stdin", "--name", "C"},
      std::string(kPassword) + "\n");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(json::parse(r.err, nullptr, false).value("error", "").find("vemakin config set server"),
            std::string::npos)
      << r.err;

  // A sign-in remembers its server; it outlives the sign-out.
  r = VemakinWithInput(
      db, {"register", "--server", Url(), "--email", email, "--password-stdin", "--name", "C"},
      std::string(kPassword) + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonOut(Vemakin(db, {"--json", "config"})), json({{"server", Url()}}));
  ASSERT_EQ(Vemakin(db, {"logout"}).exit_code, 0);
  r = Vemakin(db, {"config", "get", "server"});
  EXPECT_EQ(r.out, Url() + "\n") << r.err;
  r = VemakinWithInput(db, {"--json", "login", "--email", email, "--password-stdin"},
                       std::string(kPassword) + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(JsonOut(Vemakin(db, {"--json", "status"})).at("account"), email);

  // Bad settings are refused with exit 2 and change nothing.
  r = Vemakin(db, {"--json", "config", "set", "server", "ftp://elsewhere"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(json::parse(r.err, nullptr, false).contains("error")) << r.err;
  r = Vemakin(db, {"--json", "config", "set", "colour", "blue"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(JsonOut(Vemakin(db, {"--json", "config", "get", "server"})), json({{"server", Url()}}));
  ASSERT_EQ(Vemakin(db, {"config", "unset", "server"}).exit_code, 0);
  r = Vemakin(db, {"--json", "config", "get", "server"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
}

}  // namespace
}  // namespace vemakin::testing
