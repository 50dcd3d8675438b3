// Pulls from a streaming read replica (issue 12, server/read_replicas.h):
// a real hot standby of the test cluster (the replica fixture), whose replay
// the tests pause and resume (pg_wal_replay_pause). Pulls alternate between
// it and the primary; the checker is stricter than the code: the changes
// pulled page by page, concatenated, must be exactly the stream one pull of
// the whole history returns at the end (nothing missed, nothing twice), the
// cursor never moves back, and a replica never serves a request whose
// freshness token it has not replayed.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "core/sync_protocol.h"
#include "tests/e2e/convergence_world.h"

namespace vemakin::testing {
namespace {

std::uint64_t Lsn(pqxx::connection& c, const std::string& sql) {
  pqxx::nontransaction tx(c);
  return core::ParseLsn(tx.exec1(sql)[0].c_str()).value_or(0);
}

// The standby, to pause and resume its replay and to wait for it.
class Standby {
 public:
  Standby() : conn_(TestReplicaUrl()), primary_(TestDatabaseUrl()) {}
  void Pause() { Exec("SELECT pg_wal_replay_pause()"); }
  void Resume() { Exec("SELECT pg_wal_replay_resume()"); }
  std::uint64_t Replayed() { return Lsn(conn_, "SELECT pg_last_wal_replay_lsn()::text"); }
  // Resumes and waits until it has replayed what the primary has written now.
  void CatchUp() {
    Resume();
    const std::uint64_t target = Lsn(primary_, "SELECT pg_current_wal_insert_lsn()::text");
    // A record past it: the insert position can sit just past a page header,
    // which replay reaches only with the next record.
    {
      pqxx::work tx(primary_);
      tx.exec("SELECT pg_current_xact_id()");
      tx.commit();
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (Replayed() < target) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the standby does not catch up";
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a poll, with a deadline
    }
  }

 private:
  void Exec(const std::string& sql) {
    pqxx::nontransaction tx(conn_);
    tx.exec(sql);
  }
  pqxx::connection conn_;
  pqxx::connection primary_;
};

server::ServerOptions WithReplica() {
  server::ServerOptions o;
  o.replica_database_urls = {TestReplicaUrl()};
  return o;
}

class ReplicaPulls : public ::testing::Test {
 protected:
  void SetUp() override { standby_.CatchUp(); }
  void TearDown() override { standby_.Resume(); }
  Standby standby_;
};

struct Pulled {
  json changes;  // every change, in the order received
  std::string cursor;
  bool has_more = false;
  std::uint64_t lsn = 0;  // X-Vemakin-Lsn
  bool by_replica = false;
};

TEST_F(ReplicaPulls,
       PullsAlternatingBetweenThePrimaryAndAPausedReplicaMissNothingAndRepeatNothing) {
  auto s = StartTestServer(WithReplica());
  ApiClient rest(s->port());
  rest.Register();
  const std::string project =
      rest.Post("/api/projects", {{"name", "Replicated"}}).body.at("id").get<std::string>();
  httplib::Client http("127.0.0.1", s->port());
  std::uint64_t seen_lsn = 0;  // the highest X-Vemakin-Lsn of any answer
  auto pull = [&](const std::string& cursor, bool fresh, int limit) {
    httplib::Headers h = {{"Authorization", "Bearer " + rest.token}};
    if (fresh && seen_lsn > 0) h.emplace(core::kMinLsnHeader, core::FormatLsn(seen_lsn));
    const double before = MetricOf(s->port(), "vemakin_replica_reads_total");
    const auto r = http.Get(
        ("/api/sync/pull?limit=" + std::to_string(limit) + "&cursor=" + cursor).c_str(), h);
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    Pulled p;
    if (!r || r->status != 200) return p;
    const json body = json::parse(r->body);
    p.changes = body.at("changes");
    p.cursor = body.at("cursor");
    p.has_more = body.at("has_more");
    p.lsn = core::ParseLsn(r->get_header_value(core::kLsnHeader)).value_or(0);
    EXPECT_GT(p.lsn, 0u) << "a pull with replicas configured says how fresh it is";
    p.by_replica = MetricOf(s->port(), "vemakin_replica_reads_total") > before;
    seen_lsn = std::max(seen_lsn, p.lsn);
    return p;
  };
  std::vector<std::string> shots;
  auto write = [&](std::mt19937& rng) {
    const int what = std::uniform_int_distribution<int>(0, 4)(rng);
    Resp r;
    if (what <= 2 || shots.empty()) {
      r = rest.Post("/api/shots",
                    {{"project_id", project}, {"title", "Shot " + std::to_string(rng() % 1000)}});
      if (r.status == 201) shots.push_back(r.body.at("id"));
    } else if (what == 3) {
      r = rest.Patch("/api/shots/" + shots[rng() % shots.size()], {{"status", "done"}});
    } else {
      const size_t i = rng() % shots.size();
      r = rest.Delete("/api/shots/" + shots[i]);
      shots.erase(shots.begin() + static_cast<long>(i));
    }
    ASSERT_LT(r.status, 300) << r.raw;
    const auto lsn = r.headers.find(core::kLsnHeader);
    ASSERT_NE(lsn, r.headers.end()) << "a write with replicas configured says where it reached";
    seen_lsn = std::max(seen_lsn, core::ParseLsn(lsn->second).value_or(0));
  };

  std::mt19937 rng(12);
  const std::string start = "";
  std::string cursor = start;
  std::optional<core::PullPosition> last;
  json stream = json::array();
  bool paused = false;
  int by_replica = 0, by_primary = 0, stale_replica_reads = 0;
  for (int round = 0; round < 120; ++round) {
    const int action = std::uniform_int_distribution<int>(0, 9)(rng);
    if (action <= 2) {
      write(rng);
    } else if (action == 3) {
      standby_.Pause();
      paused = true;
    } else if (action == 4) {
      standby_.Resume();
      paused = false;
    } else {
      const bool fresh = rng() % 2 == 0;
      const std::uint64_t token = seen_lsn;
      const Pulled p = pull(cursor, fresh, 1 + static_cast<int>(rng() % 4));
      if (HasFailure()) return;
      for (const json& c : p.changes) stream.push_back(c);
      const auto position = core::PullPosition::Parse(p.cursor);
      ASSERT_TRUE(position) << p.cursor;
      if (last) {
        EXPECT_FALSE(*position < *last) << "the cursor moved back to " << p.cursor;
      }
      last = position;
      cursor = p.cursor;
      (p.by_replica ? by_replica : by_primary)++;
      if (p.by_replica && paused) {
        // Its replay stands still: what it has now is what it had.
        if (fresh) {
          EXPECT_GE(standby_.Replayed(), token) << "a replica served a stale read";
        } else {
          ++stale_replica_reads;
        }
      }
    }
  }
  standby_.CatchUp();
  for (int guard = 0; guard < 1000; ++guard) {
    const Pulled p = pull(cursor, true, 4);
    if (HasFailure()) return;
    for (const json& c : p.changes) stream.push_back(c);
    cursor = p.cursor;
    if (!p.has_more && p.changes.empty()) break;
  }
  // Both served, and the replica served reads while it lagged.
  EXPECT_GT(by_replica, 0);
  EXPECT_GT(by_primary, 0);
  EXPECT_GT(stale_replica_reads, 0);
  // The whole history in one pull, once every copy has caught up.
  const Pulled whole = pull(start, true, 10000);
  EXPECT_FALSE(whole.has_more);
  EXPECT_EQ(stream, whole.changes);
  // Past the last change, a cursor moves with the horizon, which other
  // accounts' traffic (parallel tests) moves too: only never backwards.
  const auto paged_end = core::PullPosition::Parse(cursor);
  const auto whole_end = core::PullPosition::Parse(whole.cursor);
  ASSERT_TRUE(paged_end && whole_end) << cursor << " " << whole.cursor;
  EXPECT_FALSE(*whole_end < *paged_end) << cursor << " then " << whole.cursor;
  RecordProperty("changes", static_cast<int>(stream.size()));
  RecordProperty("replica_reads", by_replica);
}

TEST_F(ReplicaPulls, AWatcherIsWokenByAChangeTheReplicaHasNotReplayed) {
  auto s = StartTestServer(WithReplica());
  ApiClient rest(s->port());
  rest.Register();
  const std::string project =
      rest.Post("/api/projects", {{"name", "Live"}}).body.at("id").get<std::string>();
  standby_.CatchUp();
  standby_.Pause();
  httplib::Client http("127.0.0.1", s->port());
  http.set_read_timeout(40, 0);
  const httplib::Headers h = {{"Authorization", "Bearer " + rest.token}};
  const auto first = http.Get("/api/sync/pull?limit=1000", h);
  ASSERT_TRUE(first && first->status == 200);
  const std::string cursor = json::parse(first->body).at("cursor");
  json woken;
  std::thread watcher([&] {
    // No freshness token: a replica may take it, and parks it.
    const auto r = http.Get(("/api/sync/pull?wait=30&cursor=" + cursor).c_str(), h);
    if (r && r->status == 200) woken = json::parse(r->body);
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (MetricOf(s->port(), "vemakin_sync_pulls_waiting") < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a poll, with a deadline
  }
  const auto started = std::chrono::steady_clock::now();
  ApiClient writer(s->port());
  writer.token = rest.token;
  const Resp created = writer.Post("/api/notes", {{"project_id", project}, {"title", "Now"}});
  watcher.join();
  ASSERT_EQ(created.status, 201) << created.raw;
  // Woken by the bell, it read a state that has the note (the primary's: the
  // replica has not replayed it), long before the 30 s deadline.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
  ASSERT_TRUE(woken.is_object()) << "the long poll got no answer";
  bool found = false;
  for (const json& c : woken.at("changes")) found |= c.at("id") == created.body.at("id");
  EXPECT_TRUE(found) << woken.dump();
}

// A snapshot's later pages must be as new as its first, whoever asks for
// them: the position token carries the first page's WAL position, so a
// client resuming in a new process (no freshness header) is not sent to a
// replica that lags behind it.
TEST_F(ReplicaPulls, LaterSnapshotPagesAreNeverReadFromACopyOlderThanTheFirst) {
  auto s = StartTestServer(WithReplica());
  ApiClient rest(s->port());
  rest.Register();
  const std::string project =
      rest.Post("/api/projects", {{"name", "Paged"}}).body.at("id").get<std::string>();
  standby_.CatchUp();
  standby_.Pause();
  std::string lsn;
  for (int i = 0; i < 4; ++i) {
    const Resp r =
        rest.Post("/api/shots", {{"project_id", project}, {"title", "S" + std::to_string(i)}});
    ASSERT_EQ(r.status, 201) << r.raw;
    const auto header = r.headers.find(core::kLsnHeader);
    ASSERT_NE(header, r.headers.end()) << "a write with replicas configured says where it reached";
    lsn = header->second;
  }
  httplib::Client http("127.0.0.1", s->port());
  const httplib::Headers fresh = {{"Authorization", "Bearer " + rest.token},
                                  {core::kMinLsnHeader, lsn}};
  const httplib::Headers plain = {{"Authorization", "Bearer " + rest.token}};
  // Page 1 knows the shots: the primary (the replica is paused before them).
  const auto first = http.Get("/api/sync/snapshot?limit=1", fresh);
  ASSERT_TRUE(first && first->status == 200);
  const auto next_of = [](const json& body) {
    return body.at("next").is_string() ? body.at("next").get<std::string>() : std::string();
  };
  std::string next = next_of(json::parse(first->body));
  ASSERT_FALSE(next.empty());
  const double replica_reads = MetricOf(s->port(), "vemakin_replica_reads_total");
  int pages = 0, shots = 0;
  while (!next.empty() && pages < 100) {
    // A new session: no freshness header, only the token.
    const auto page = http.Get(("/api/sync/snapshot?limit=1&after=" + next).c_str(), plain);
    ASSERT_TRUE(page && page->status == 200) << (page ? page->body : "no answer");
    const json body = json::parse(page->body);
    for (const json& t : body.at("tables"))
      shots += t.at("table") == "shots" ? static_cast<int>(t.at("rows").size()) : 0;
    next = next_of(body);
    ++pages;
  }
  EXPECT_EQ(shots, 4);
  EXPECT_EQ(MetricOf(s->port(), "vemakin_replica_reads_total"), replica_reads)
      << "a later page came from the paused replica";
}

class ReplicaSync : public SyncFixture {
 public:
  static void SetUpTestSuite() { server_ = StartTestServer(WithReplica()).release(); }
};

// The randomized convergence run against a server with a replica whose
// replay pauses and resumes every few steps: devices with a long-lived
// session carry freshness tokens, the mid-sync sessions start without.
TEST_F(ReplicaSync, RandomOfflineEditsConvergeWhileTheReplicaLags) {
  Standby standby;
  standby.CatchUp();
  for (unsigned seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    World world(*this, rng);
    world.Build();
    for (int i = 0; i < 250; ++i) {
      if (i % 25 == 0) (i % 50 == 0) ? standby.Pause() : standby.Resume();
      world.Step();
    }
    standby.CatchUp();
    world.Converge();
    world.Check();
    if (HasFailure()) break;
  }
  EXPECT_GT(MetricOf(server_->port(), "vemakin_replica_reads_total"), 0);
}

}  // namespace
}  // namespace vemakin::testing
