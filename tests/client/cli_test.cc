// The vemakin CLI through the real binary on a real store file.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/process.h"

namespace vemakin {
namespace {

using nlohmann::json;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vemakin-cli-XXXXXX";
    dir_ = mkdtemp(tmpl);
    db_ = (dir_ / "crew.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  testing::RunResult Run(std::vector<std::string> args) {
    std::vector<std::string> argv = {VEMAKIN_CLI_BIN, "--db", db_};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::Run(argv);
  }
  json Json(std::vector<std::string> args) {
    args.push_back("--json");
    const testing::RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  std::filesystem::path dir_;
  std::string db_;
};

TEST_F(Cli, ProjectLifecycle) {
  const json p = Json({"project", "add", "Neon Paradox"});
  ASSERT_EQ(p.at("name"), "Neon Paradox");
  const std::string id = p.at("id");
  EXPECT_EQ(Json({"project", "list"}).at("total"), 1);
  EXPECT_EQ(Json({"project", "update", id, "--name", "Neon Paradox II"}).at("name"),
            "Neon Paradox II");
  EXPECT_EQ(Json({"project", "show", id}).at("name"), "Neon Paradox II");
  const testing::RunResult table = Run({"project", "list"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("Neon Paradox II"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("1 of 1"), std::string::npos);
  EXPECT_EQ(Json({"project", "delete", id}).at("deleted"), id);
  EXPECT_EQ(Json({"project", "list"}).at("total"), 0);
}

TEST_F(Cli, ShotsNotesTasksAndGear) {
  const std::string p = Json({"project", "add", "P"}).at("id");
  const json shot = Json({"shot", "add", "--project", p, "--title", "Crane", "--date", "2026-12-01",
                          "--start-time", "06:30", "--lat", "43.29", "--location", "Harbour"});
  EXPECT_EQ(shot.at("location_lat"), 43.29);
  const std::string sid = shot.at("id");
  Json({"shot", "add", "--project", p, "--title", "Dolly", "--status", "done"});
  EXPECT_EQ(Json({"shot", "list", "--project", p}).at("total"), 2);
  EXPECT_EQ(Json({"shot", "list", "--project", p, "--status", "done"}).at("total"), 1);
  EXPECT_EQ(Json({"shot", "list", "--project", p, "--limit", "1"}).at("has_more"), true);
  EXPECT_EQ(Json({"shot", "update", sid, "--status", "done", "--remarks", "null"}).at("status"),
            "done");
  const json note = Json({"note", "add", "--project", p, "--title", "Wind", "--shot", sid});
  EXPECT_EQ(note.at("shot_id"), sid);
  const json task = Json({"task", "add", "--project", p, "--title", "Grade", "--category", "Color",
                          "--priority", "high", "--due-date", "2027-01-15"});
  EXPECT_EQ(task.at("priority"), "high");
  const json gear = Json({"gear", "add", "--name", "FX3", "--category", "Camera", "--quantity", "2",
                          "--price-per-day", "89.5", "--is-owned", "false"});
  EXPECT_EQ(gear.at("quantity"), 2);
  EXPECT_EQ(gear.at("is_owned"), false);
  EXPECT_EQ(Json({"gear", "list", "--category", "Camera"}).at("total"), 1);
  EXPECT_EQ(Json({"shot", "delete", sid}).at("deleted"), sid);
  EXPECT_EQ(Json({"note", "show", note.at("id")}).at("shot_id"), nullptr);
  const json status = Json({"status"});
  EXPECT_EQ(status.at("mode"), "guest");
  EXPECT_EQ(status.at("pending_mutations"), 8);
}

TEST_F(Cli, CatalogWorksOfflineInGuestMode) {
  EXPECT_EQ(Json({"catalog", "categories"}).at("total"), 13);
  const json items = Json({"catalog", "items", "--limit", "1000"});
  EXPECT_GE(items.at("total").get<int>(), 150);
  const std::string category = items.at("items")[0].at("category_id");
  EXPECT_GE(Json({"catalog", "brands", "--category", category}).at("total").get<int>(), 1);
}

// Issue 14 (part 4): with --json every failure is JSON on stderr, usage
// errors too, with the documented exit codes.
TEST_F(Cli, UsageErrorsAreJsonWithExitCodeTwoAndVersionPrints) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--json", "frobnicate"},
                                             {"--json"},
                                             {"shot", "list", "--skip", "abc", "--json"},
                                             {"--json", "shot", "add", "--no-such-flag", "1"},
                                             {"--json", "member", "add", "--project", "p"}}) {
    const testing::RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << args.back() << " " << r.err;
    const json err = json::parse(r.err, nullptr, false);
    ASSERT_TRUE(err.is_object() && err.contains("error")) << r.err;
    EXPECT_EQ(err.at("exit_code"), 2);
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  const testing::RunResult plain = Run({"frobnicate"});
  EXPECT_EQ(plain.exit_code, 2);
  EXPECT_FALSE(json::parse(plain.err, nullptr, false).is_object()) << plain.err;
  const testing::RunResult version = Run({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("vemakin ", 0), 0u) << version.out;
  // Server unreachable: 5.
  const testing::RunResult away =
      Run({"--json", "login", "--server", "http://127.0.0.1:1", "--email", "a@example.com",
           "--password", "long enough password"});
  EXPECT_EQ(away.exit_code, 5) << away.err;
  EXPECT_TRUE(json::parse(away.err, nullptr, false).contains("error")) << away.err;
}

TEST_F(Cli, BadInputGivesAClearMessageAndANonZeroExit) {
  const std::string p = Json({"project", "add", "P"}).at("id");
  testing::RunResult r =
      Run({"shot", "add", "--project", p, "--title", "", "--date", "2026-02-30", "--status", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--date: must be a date"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--status: must be one of"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--title: must not be empty"), std::string::npos) << r.err;
  r = Run({"shot", "add", "--title", "No project"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--project: is required"), std::string::npos) << r.err;
  r = Run({"shot", "show", "00000000-0000-4000-8000-000000000000", "--json"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(json::parse(r.err).contains("error")) << r.err;
  r = Run({"gear", "add", "--name", "X", "--category", "Lens", "--quantity", "lots"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--quantity: must be an integer"), std::string::npos) << r.err;
  EXPECT_NE(Run({"shot", "frobnicate"}).exit_code, 0);
  EXPECT_NE(Run({"shot", "show"}).exit_code, 0);                     // missing ID
  EXPECT_EQ(Json({"shot", "list", "--project", p}).at("total"), 0);  // nothing half-written
}

TEST_F(Cli, EveryCommandHasHelp) {
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"project", "add", "--help"},
                                             {"shot", "list", "--help"},
                                             {"shot", "update", "--help"},
                                             {"note", "add", "--help"},
                                             {"task", "delete", "--help"},
                                             {"gear", "show", "--help"},
                                             {"catalog", "items", "--help"},
                                             {"status", "--help"}}) {
    const testing::RunResult r = Run(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd.front();
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  }
  EXPECT_NE(Run({"shot", "add", "--help"}).out.find("--start-time"), std::string::npos);
}

TEST_F(Cli, RefusesAFileThatIsNotAStore) {
  std::ofstream(db_) << std::string(8192, 'x');
  const testing::RunResult r = Run({"project", "list"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("damaged or not a vemakin store"), std::string::npos) << r.err;
}

// Issue 11: with no --password, the password comes from stdin or a prompt;
// neither available is a clear error before anything is sent.
TEST_F(Cli, SignInWithNoPasswordSourceSaysHowToGiveOne) {
  // No server listens on port 9: the CLI must stop before trying it.
  const testing::RunResult r =
      Run({"login", "--server", "http://127.0.0.1:9", "--email", "a@example.com"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--password-stdin"), std::string::npos) << r.err;
  std::vector<std::string> argv = {VEMAKIN_CLI_BIN,
                                   "--db",
                                   db_,
                                   "register",
                                   "--server",
                                   "http://127.0.0.1:9",
                                   "--email",
                                   "a@example.com",
                                   "--password-stdin",
                                   "--name",
                                   "A"};
  const testing::RunResult empty = testing::RunWithInput(argv, "");
  EXPECT_EQ(empty.exit_code, 2) << empty.err;
  EXPECT_NE(empty.err.find("no password line"), std::string::npos) << empty.err;
  argv.push_back("--password");
  argv.push_back("in argv too");
  const testing::RunResult both = testing::RunWithInput(argv, "secret line\n");
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
  EXPECT_EQ(Json({"status"}).at("mode"), "guest");
}

TEST_F(Cli, ANewStoreIsCreatedPrivateToItsOwner) {
  const mode_t old_umask = umask(022);
  const testing::RunResult r = Run({"project", "list"});
  umask(old_umask);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(static_cast<unsigned>(std::filesystem::status(db_).permissions()) & 0777u, 0600u);
}

TEST_F(Cli, ListSkipBeyondTheMaximumIsAValidationError) {
  const std::string p = Json({"project", "add", "P"}).at("id");
  const testing::RunResult r =
      Run({"shot", "list", "--project", p, "--skip", "9223372036854775807"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("skip"), std::string::npos) << r.err;
  EXPECT_EQ(Json({"shot", "list", "--project", p, "--skip", "1000000000"}).at("items"),
            json::array());
}

}  // namespace
}  // namespace vemakin
