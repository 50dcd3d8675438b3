// Crash safety: a process writing in a loop is SIGKILLed; the file must pass
// integrity_check and hold every write the process reported done, each with
// its outbox entry.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>

#include "vemakin/client/store.h"

namespace vemakin::client {
namespace {

std::string QueryOne(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return out;
}

TEST(CrashSafety, EveryReportedWriteSurvivesSigkill) {
  char tmpl[] = "/tmp/vemakin-crash-XXXXXX";
  const std::filesystem::path dir = mkdtemp(tmpl);
  const std::filesystem::path file = dir / "store.db";
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    ClientOptions o;
    o.path = file;
    o.logger = std::make_shared<NullLogger>();
    auto store = Store::Open(o);
    const std::string project = store->Create(Collection::kProjects, {{"name", "Crash"}}).at("id");
    for (long i = 0;; ++i) {
      const std::string id =
          store
              ->Create(Collection::kShots,
                       {{"project_id", project}, {"title", "take " + std::to_string(i)}})
              .at("id");
      const std::string line = id + "\n";  // reported only after Create returned
      if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(1);
    }
  }
  close(fds[1]);
  std::string received;
  char buf[4096];
  // Kill it once it has reported 150 writes, in the middle of its next one.
  while (std::count(received.begin(), received.end(), '\n') < 150) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    ASSERT_GT(n, 0) << "the writer stopped early";
    received.append(buf, static_cast<size_t>(n));
  }
  kill(child, SIGKILL);
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    received.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  std::set<std::string> reported;
  for (size_t pos = 0, nl; (nl = received.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    reported.insert(received.substr(pos, nl - pos));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(QueryOne(db, "PRAGMA integrity_check"), "ok");
  int missing = 0;
  for (const std::string& id : reported) {
    const std::string in_table = QueryOne(db, "SELECT count(*) FROM shots WHERE id = '" + id + "'");
    const std::string in_outbox =
        QueryOne(db, "SELECT count(*) FROM outbox WHERE op = 'create' AND row_id = '" + id + "'");
    if (in_table != "1" || in_outbox != "1") ++missing;
  }
  EXPECT_EQ(missing, 0) << "of " << reported.size() << " reported writes";
  EXPECT_GE(reported.size(), 150u);
  sqlite3_close(db);
  // The store opens again and keeps working.
  ClientOptions o;
  o.path = file;
  o.logger = std::make_shared<NullLogger>();
  auto store = Store::Open(o);
  EXPECT_GE(store->Status().pending_mutations, static_cast<long long>(reported.size()) + 1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vemakin::client
