// The change log's one total order (SPEC.md section 4, promise 3): a pull
// never skips a change, however transactions interleave their writes and
// commits. Writers are direct PostgreSQL sessions, so the test controls when
// each transaction commits; the puller is the real GET /api/sync/pull.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "tests/e2e/api_test_support.h"

namespace vemakin::testing {
namespace {

class SyncOrder : public ServerSuite {
 protected:
};

// Pulls until caught up; returns the ids of the shots seen (with repeats).
std::vector<std::string> PullShots(ApiClient& c, std::string* cursor) {
  std::vector<std::string> ids;
  for (;;) {
    const Resp r = c.Get("/api/sync/pull?limit=50" + (cursor->empty() ? "" : "&cursor=" + *cursor));
    EXPECT_EQ(r.status, 200) << r.raw;
    if (r.status != 200) return ids;
    for (const json& ch : r.body.at("changes")) {
      if (ch.at("table") == "shots") ids.push_back(ch.at("id"));
    }
    *cursor = r.body.at("cursor");
    if (!r.body.at("has_more").get<bool>()) return ids;
  }
}

// Pulls until `want` shot changes have arrived (bounded): pulls also wait for
// transactions of other tests sharing the cluster, which hold back the horizon.
std::vector<std::string> PullShotsUntil(ApiClient& c, std::string* cursor, size_t want) {
  std::vector<std::string> ids;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ids.size() < want && std::chrono::steady_clock::now() < deadline) {
    const std::vector<std::string> more = PullShots(c, cursor);
    ids.insert(ids.end(), more.begin(), more.end());
  }
  return ids;
}

std::string InsertShot(pqxx::transaction_base& tx, const std::string& project,
                       const std::string& title) {
  return tx
      .exec_params(
          "INSERT INTO shots (id, project_id, title) "
          "VALUES (gen_random_uuid(), $1, $2) RETURNING id",
          project, title)[0][0]
      .as<std::string>();
}

// The race of issue #5: A takes the earlier position, B commits first, a puller
// runs in between, then A commits. A plain sequence cursor loses A; the pull
// API returns it.
TEST_F(SyncOrder, AChangeCommittedLateIsNotSkipped) {
  ApiClient c(server_->port());
  c.Register();
  // Two projects: writers to one project queue on its list counter row.
  const std::string project_a = c.Post("/api/projects", {{"name", "Race A"}}).body.at("id");
  const std::string project_b = c.Post("/api/projects", {{"name", "Race B"}}).body.at("id");
  std::string cursor;
  PullShots(c, &cursor);  // caught up with everything so far

  auto conn_a = server_->Connect();
  auto conn_b = server_->Connect();
  pqxx::work a(*conn_a);
  const std::string shot_a = InsertShot(a, project_a, "A: written first, committed last");
  long long naive_cursor = 0;
  {
    pqxx::work b(*conn_b);
    const std::string shot_b = InsertShot(b, project_b, "B: written second, committed first");
    b.commit();
    // A naive puller orders by the sequence alone and moves past what it saw.
    auto naive = server_->Connect();
    pqxx::nontransaction tx(*naive);
    for (const auto& row : tx.exec("SELECT seq, row_id FROM sync_changes WHERE table_name = "
                                   "'shots' ORDER BY seq")) {
      naive_cursor = std::max(naive_cursor, row[0].as<long long>());
      EXPECT_NE(row[1].as<std::string>(), shot_a);  // A is not committed yet
    }
    // The real puller does not return B yet: an older transaction is still open.
    EXPECT_EQ(PullShots(c, &cursor), std::vector<std::string>{});
    a.commit();
    // After A commits, the naive cursor has already passed A's sequence value...
    auto naive2 = server_->Connect();
    pqxx::nontransaction tx2(*naive2);
    const pqxx::result missed = tx2.exec_params(
        "SELECT row_id FROM sync_changes WHERE table_name = 'shots' AND seq > $1", naive_cursor);
    EXPECT_TRUE(missed.empty()) << "the naive cursor would see A after all";
    // ...while the pull API returns both, in the one order: A before B.
    EXPECT_EQ(PullShotsUntil(c, &cursor, 2), (std::vector<std::string>{shot_a, shot_b}));
  }
}

// Many writers whose transactions interleave and commit in random order, and
// an eager puller: every change is seen exactly once.
TEST_F(SyncOrder, ConcurrentWritersAndAnEagerPullerMissNothing) {
  ApiClient c(server_->port());
  c.Register();
  constexpr int kWriters = 8, kPerWriter = 40;
  // A project per writer, so that writers do not queue on one counter row.
  std::vector<std::string> projects;
  for (int w = 0; w < kWriters; ++w) {
    projects.push_back(
        c.Post("/api/projects", {{"name", "Crowd " + std::to_string(w)}}).body.at("id"));
  }
  std::string cursor;
  PullShots(c, &cursor);

  std::mutex mu;
  std::set<std::string> written;
  std::atomic<int> writers_done{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto conn = server_->Connect();
      std::mt19937 gen(static_cast<unsigned>(w) * 7 + 1);
      for (int i = 0; i < kPerWriter; ++i) {
        pqxx::work tx(*conn);
        const std::string id = InsertShot(tx, projects[w], "w" + std::to_string(w));
        // Hold the transaction open a random while so commits reorder.
        tx.exec("SELECT pg_sleep(" + std::to_string((gen() % 4) / 1000.0) + ")");
        tx.commit();
        std::lock_guard<std::mutex> lock(mu);
        written.insert(id);
      }
      ++writers_done;
    });
  }
  std::vector<std::string> seen;
  while (writers_done.load() < kWriters) {
    const std::vector<std::string> batch = PullShots(c, &cursor);
    seen.insert(seen.end(), batch.begin(), batch.end());
  }
  for (std::thread& t : writers) t.join();
  const std::vector<std::string> rest =
      PullShotsUntil(c, &cursor, written.size() - std::min(written.size(), seen.size()));
  seen.insert(seen.end(), rest.begin(), rest.end());
  const std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "a change was delivered twice";
  EXPECT_EQ(unique, written);
  EXPECT_EQ(written.size(), static_cast<size_t>(kWriters * kPerWriter));
}

// Pulls every change visible now, repeating (bounded) until `done` holds:
// other tests' open transactions may hold the horizon back for a moment.
std::vector<json> PullAll(ApiClient& c, const std::function<bool(const std::vector<json>&)>& done) {
  std::vector<json> all;
  std::string cursor;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  do {
    for (;;) {
      const Resp r =
          c.Get("/api/sync/pull?limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor));
      if (r.status != 200) return all;
      for (const json& ch : r.body.at("changes")) all.push_back(ch);
      cursor = r.body.at("cursor");
      if (!r.body.at("has_more").get<bool>()) break;
    }
  } while (!done(all) && std::chrono::steady_clock::now() < deadline);
  return all;
}

TEST_F(SyncOrder, PullsAreScopedToWhatTheUserMayRead) {
  ApiClient a(server_->port()), b(server_->port());
  a.Register();
  b.Register();
  const std::string project = a.Post("/api/projects", {{"name", "Private"}}).body.at("id");
  a.Post("/api/shots", {{"project_id", project}, {"title", "Secret"}});
  a.Post("/api/inventory", {{"name", "Lens"}, {"category", "Lens"}});
  auto has = [](const std::vector<json>& changes, const std::string& table, const std::string& id,
                const std::string& op) {
    for (const json& ch : changes) {
      if (ch.at("table") == table && (id.empty() || ch.at("id") == id) && ch.at("op") == op) {
        return true;
      }
    }
    return false;
  };
  // A sees its own rows; once it does, B's view of the same moment is checked.
  PullAll(a, [&](const std::vector<json>& ch) { return has(ch, "equipment", "", "upsert"); });
  const std::vector<json> seen_by_b = PullAll(
      b, [&](const std::vector<json>& ch) { return has(ch, "gear_catalog", "", "upsert"); });
  std::set<std::string> tables_b;
  for (const json& ch : seen_by_b) {
    tables_b.insert(ch.at("table"));
    EXPECT_NE(ch.at("id"), json(project));
  }
  // The catalog is everyone's; A's project, shots and gear are not B's.
  EXPECT_EQ(tables_b.count("gear_catalog"), 1u);
  EXPECT_EQ(tables_b.count("shots"), 0u);
  EXPECT_EQ(tables_b.count("equipment"), 0u);
  EXPECT_EQ(tables_b.count("projects"), 0u);
  // The deletion of a project reaches its member as a tombstone.
  a.Delete("/api/projects/" + project);
  const std::vector<json> after = PullAll(
      a, [&](const std::vector<json>& ch) { return has(ch, "projects", project, "delete"); });
  EXPECT_TRUE(has(after, "projects", project, "delete"));
  EXPECT_EQ(b.Get("/api/sync/pull?cursor=nonsense").status, 422);
}

}  // namespace
}  // namespace vemakin::testing
