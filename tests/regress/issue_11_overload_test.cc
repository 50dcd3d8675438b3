// Issue 11: the server under overload.
// - Workers were sized to pool_size, so max_overflow was never used and a
//   request waited in the worker queue with no deadline: with the workers
//   blocked on a locked table, an unrelated GET /api/projects waited until
//   the lock went. Now pool_size + max_overflow connections are usable, and
//   no request waits longer than pool_timeout for capacity (then 503 with
//   Retry-After), in the queue or the pool.
// - Nothing capped connections (in all or per address), parked long polls,
//   or made the accept loop survive running out of file descriptors.
// - Every commit woke every parked pull; now only pulls of the scopes it
//   touched wake.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/digest.h"
#include "core/model.h"
#include "tests/e2e/api_test_support.h"

namespace vemakin::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

template <class Pred>
bool Eventually(Pred pred, std::chrono::milliseconds limit = 20s) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// The value of an unlabelled gauge or counter in /metrics; -1 when absent.
double Metric(int port, const std::string& name) {
  ApiClient c(port);
  const std::string text = c.Get("/metrics").raw;
  const std::string key = "\n" + name + " ";
  const size_t at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + key.size()));
}

int StatusOf(const std::string& reply) {
  if (reply.rfind("HTTP/1.1 ", 0) != 0) return 0;
  return std::stoi(reply.substr(9, 3));
}

std::string Request(const std::string& method, const std::string& path, const std::string& token,
                    const std::string& body = "") {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n";
  if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty()) {
    r +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return r + "\r\n" + body;
}

// A shot list blocked on the locked table, run in the background.
std::future<std::string> BlockedList(int port, const std::string& token,
                                     const std::string& project) {
  return std::async(std::launch::async, [=] {
    return RawExchange(port, Request("GET", "/api/shots?project_id=" + project, token), 60000);
  });
}

// Backends waiting for a lock on this schema's shots table (the connection's
// search_path is the test schema).
int LockWaiters(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  const pqxx::row r =
      tx.exec1("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'shots'::regclass");
  return r[0].as<int>();
}

// Holds ACCESS EXCLUSIVE on `table` until destroyed.
class TableLock {
 public:
  TableLock(const TestServer& server, const std::string& table) : conn_(server.Connect()) {
    tx_.emplace(*conn_);
    tx_->exec0("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
  }
  ~TableLock() { tx_->abort(); }

 private:
  std::unique_ptr<pqxx::connection> conn_;
  std::optional<pqxx::work> tx_;
};

server::ServerOptions SmallPool(int size, int overflow, int workers = 0) {
  server::ServerOptions o;
  o.pool_size = size;
  o.max_overflow = overflow;
  o.workers = workers;
  o.pool_timeout = 2s;
  o.statement_timeout = 30s;
  return o;
}

class Issue11HeadOfLine : public ServerSuite {
 protected:
  static void SetUpTestSuite() { StartServer(SmallPool(2, 2)); }
};

TEST_F(Issue11HeadOfLine, AnUnrelatedRequestIsServedWhileListsWaitOnALockedTable) {
  ApiClient owner(port());
  owner.Register();
  const std::string project = owner.Post("/api/projects", {{"name", "Locked"}}).body["id"];
  auto watcher = server_->Connect();
  std::vector<std::future<std::string>> blocked;
  {
    TableLock lock(*server_, "shots");
    // Three lists hold three of the four connections, waiting on the lock.
    for (int i = 0; i < 3; ++i) blocked.push_back(BlockedList(port(), owner.token, project));
    ASSERT_TRUE(Eventually([&] { return LockWaiters(*watcher) == 3; }));
    auto start = Clock::now();
    Resp mine = owner.Get("/api/projects");
    EXPECT_EQ(mine.status, 200) << mine.raw;
    EXPECT_LT(Clock::now() - start, 3s);  // pool_timeout + 1 s
    // The fourth takes the last worker and connection: now the server is
    // full, and a request is answered 503 once its pool_timeout has passed.
    blocked.push_back(BlockedList(port(), owner.token, project));
    ASSERT_TRUE(Eventually([&] { return LockWaiters(*watcher) == 4; }));
    start = Clock::now();
    const std::string busy = RawExchange(port(), Request("GET", "/api/projects", owner.token));
    const auto waited = Clock::now() - start;
    EXPECT_EQ(StatusOf(busy), 503) << busy;
    EXPECT_NE(busy.find("Retry-After: 1"), std::string::npos) << busy;
    EXPECT_NE(busy.find("\"detail\""), std::string::npos) << busy;
    EXPECT_GE(waited, 1900ms);
    EXPECT_LT(waited, 3s);
  }
  // The lock is gone: every list that waited completes.
  for (auto& f : blocked) EXPECT_EQ(StatusOf(f.get()), 200);
  EXPECT_GE(Metric(port(), "vemakin_worker_queue_expired_total"), 1);
  EXPECT_EQ(owner.Get("/api/projects").status, 200);
}

// More workers than connections: a request waits in the pool, not the queue,
// and still gets its 503 at pool_timeout.
class Issue11SmallPool : public ServerSuite {
 protected:
  static void SetUpTestSuite() { StartServer(SmallPool(1, 0, 3)); }
};

TEST_F(Issue11SmallPool, APoolTimeoutIs503WithRetryAfter) {
  ApiClient owner(port());
  owner.Register();
  const std::string project = owner.Post("/api/projects", {{"name", "Small"}}).body["id"];
  auto watcher = server_->Connect();
  std::future<std::string> blocked;
  {
    TableLock lock(*server_, "shots");
    blocked = BlockedList(port(), owner.token, project);
    ASSERT_TRUE(Eventually([&] { return LockWaiters(*watcher) == 1; }));
    const auto start = Clock::now();
    const std::string busy = RawExchange(port(), Request("GET", "/api/projects", owner.token));
    const auto waited = Clock::now() - start;
    EXPECT_EQ(StatusOf(busy), 503) << busy;
    EXPECT_NE(busy.find("Retry-After: 1"), std::string::npos) << busy;
    EXPECT_NE(busy.find("no database connection available"), std::string::npos) << busy;
    EXPECT_LT(waited, 3s);
  }
  EXPECT_EQ(StatusOf(blocked.get()), 200);
  EXPECT_GE(Metric(port(), "vemakin_pool_timeouts"), 1);
}

class Issue11Bounds : public ServerSuite {
 protected:
  static void SetUpTestSuite() {
    server::ServerOptions o;
    o.max_connections = 60;
    o.max_connections_per_address = 20;
    o.max_parked_pulls = 6;
    o.max_parked_pulls_per_user = 4;
    StartServer(o);
  }
};

TEST_F(Issue11Bounds, MadeUpPathsLeaveTheMetricsBounded) {
  ApiClient c(port());
  c.Register();
  const size_t before = c.Get("/metrics").raw.size();
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(c.Get("/api/made-up-" + std::to_string(i) + "/x").status, 404);
    EXPECT_EQ(c.Get("/nothing/" + std::to_string(i)).status, 404);
  }
  const std::string after = c.Get("/metrics").raw;
  EXPECT_LT(after.size(), before + 4096) << after.substr(0, 2000);
  EXPECT_EQ(after.find("made-up-17"), std::string::npos);
  EXPECT_NE(after.find("route=\"unmatched\""), std::string::npos) << after.substr(0, 2000);
}

TEST_F(Issue11Bounds, ConnectionsPastTheCapsAreRefusedCleanly) {
  const long rss_before = RssKiB();
  std::vector<int> held;
  for (int i = 0; i < 20; ++i) {
    const int fd = ConnectTcp(port(), "127.0.0.2");
    ASSERT_GE(fd, 0);
    held.push_back(fd);
  }
  // The 21st from that address is refused, with a JSON 429...
  const std::string refused =
      RawExchange(port(), "GET /health HTTP/1.1\r\nHost: t\r\n\r\n", 5000, "127.0.0.2");
  EXPECT_EQ(StatusOf(refused), 429) << refused;
  EXPECT_NE(refused.find("\"detail\""), std::string::npos) << refused;
  // ...while another address is served.
  ApiClient other(port());
  EXPECT_EQ(other.Get("/health").status, 200);
  // Up to the total cap from several addresses, then 503 for everyone new.
  for (int a = 3; held.size() < 60; ++a) {
    const std::string source = "127.0.0." + std::to_string(a);
    for (int i = 0; i < 20 && held.size() < 60; ++i) {
      const int fd = ConnectTcp(port(), source.c_str());
      ASSERT_GE(fd, 0);
      held.push_back(fd);
    }
  }
  const std::string full =
      RawExchange(port(), "GET /health HTTP/1.1\r\nHost: t\r\n\r\n", 5000, "127.0.0.99");
  EXPECT_EQ(StatusOf(full), 503) << full;
  EXPECT_NE(full.find("Retry-After: 1"), std::string::npos) << full;
  for (int fd : held) close(fd);
  // Once they are gone, new connections are served again.
  EXPECT_TRUE(Eventually([&] {
    return StatusOf(RawExchange(port(), "GET /health HTTP/1.1\r\nHost: t\r\n\r\n", 5000,
                                "127.0.0.2")) == 200;
  }));
  EXPECT_GE(Metric(port(), "vemakin_http_connections_refused_total"), 2);
  std::printf("[flood] connections: rss before %ld KiB, after %ld KiB\n", rss_before, RssKiB());
}

// A long poll for `token` from cursor `cursor`, in the background.
std::future<std::string> ParkedPull(int port, const std::string& token, const std::string& cursor) {
  return std::async(std::launch::async, [=] {
    return RawExchange(port, Request("GET", "/api/sync/pull?wait=20&cursor=" + cursor, token),
                       60000);
  });
}

// The cursor of a fully caught-up pull.
std::string CaughtUp(ApiClient& c) {
  std::string cursor = "0.0";
  for (;;) {
    const Resp r = c.Get("/api/sync/pull?cursor=" + cursor);
    EXPECT_EQ(r.status, 200) << r.raw;
    cursor = r.body["cursor"];
    if (!r.body.value("has_more", false) && !r.body.value("pending", false)) return cursor;
  }
}

TEST_F(Issue11Bounds, LongPollsAreCappedAndWakeOnlyForTheirScopes) {
  ApiClient a(port()), b(port()), c(port());
  a.Register();
  b.Register();
  c.Register();
  const std::string pa = a.Post("/api/projects", {{"name", "A's"}}).body["id"];
  const std::string pb = b.Post("/api/projects", {{"name", "B's"}}).body["id"];
  const std::string ca = CaughtUp(a), cb = CaughtUp(b), cc = CaughtUp(c);
  const long rss_before = RssKiB();
  std::vector<std::future<std::string>> as, bs;
  for (int i = 0; i < 4; ++i) as.push_back(ParkedPull(port(), a.token, ca));
  ASSERT_TRUE(Eventually([&] { return Metric(port(), "vemakin_sync_pulls_waiting") == 4; }));
  // A fifth for the same account: 429 at once.
  const std::string fifth =
      RawExchange(port(), Request("GET", "/api/sync/pull?wait=20&cursor=" + ca, a.token));
  EXPECT_EQ(StatusOf(fifth), 429) << fifth;
  for (int i = 0; i < 2; ++i) bs.push_back(ParkedPull(port(), b.token, cb));
  ASSERT_TRUE(Eventually([&] { return Metric(port(), "vemakin_sync_pulls_waiting") == 6; }))
      << Metric(port(), "vemakin_sync_pulls_waiting") << " "
      << (bs[0].wait_for(0s) == std::future_status::ready ? bs[0].get() : "parked");
  // The server's total is reached: 503 for anyone else.
  const std::string full =
      RawExchange(port(), Request("GET", "/api/sync/pull?wait=20&cursor=" + cc, c.token));
  EXPECT_EQ(StatusOf(full), 503) << full;
  EXPECT_NE(full.find("Retry-After: 1"), std::string::npos) << full;
  // A writes in A's project: A's four pulls answer, B's two stay parked.
  const double woken_before = Metric(port(), "vemakin_sync_pulls_woken_total");
  ASSERT_EQ(a.Post("/api/shots", {{"project_id", pa}, {"title", "Wake A"}}).status, 201);
  for (auto& f : as) {
    const std::string reply = f.get();
    EXPECT_EQ(StatusOf(reply), 200) << reply;
    EXPECT_NE(reply.find("Wake A"), std::string::npos) << reply;
  }
  EXPECT_EQ(Metric(port(), "vemakin_sync_pulls_woken_total") - woken_before, 4);
  EXPECT_EQ(Metric(port(), "vemakin_sync_pulls_waiting"), 2);
  // And B's wake for B's own change.
  ASSERT_EQ(b.Post("/api/shots", {{"project_id", pb}, {"title", "Wake B"}}).status, 201);
  for (auto& f : bs) {
    const std::string reply = f.get();
    EXPECT_EQ(StatusOf(reply), 200) << reply;
    EXPECT_NE(reply.find("Wake B"), std::string::npos) << reply;
  }
  std::printf("[flood] long polls: rss before %ld KiB, after %ld KiB\n", rss_before, RssKiB());
}

TEST_F(Issue11Bounds, AnInvitationWakesTheNewMembersParkedPull) {
  ApiClient owner(port()), guest(port());
  owner.Register();
  guest.Register();
  const std::string project = owner.Post("/api/projects", {{"name", "Invite"}}).body["id"];
  const std::string cursor = CaughtUp(guest);
  auto parked = ParkedPull(port(), guest.token, cursor);
  ASSERT_TRUE(Eventually([&] { return Metric(port(), "vemakin_sync_pulls_waiting") >= 1; }));
  const Resp added = owner.Post("/api/projects/" + project + "/members",
                                {{"email", guest.email}, {"role", "viewer"}});
  ASSERT_EQ(added.status, 201) << added.raw;
  const std::string reply = parked.get();
  EXPECT_EQ(StatusOf(reply), 200) << reply;
  EXPECT_NE(reply.find(project), std::string::npos) << reply;
}

// An account with more projects than the old cap (256) used to park on
// "any change": every commit by anyone woke its pulls. It now watches each
// of its projects and sleeps through other accounts' commits.
TEST_F(Issue11Bounds, AnAccountWithManyProjectsSleepsThroughOthersCommits) {
  ApiClient a(port()), b(port());
  a.Register();
  b.Register();
  std::string last;
  for (int i = 0; i < 300; ++i) {
    const Resp r = a.Post("/api/projects", {{"name", "P" + std::to_string(i)}});
    ASSERT_EQ(r.status, 201) << r.raw;
    last = r.body["id"];
  }
  const std::string pb = b.Post("/api/projects", {{"name", "B's"}}).body["id"];
  const std::string ca = CaughtUp(a);
  auto parked = ParkedPull(port(), a.token, ca);
  ASSERT_TRUE(Eventually([&] { return Metric(port(), "vemakin_sync_pulls_waiting") == 1; }));
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(b.Post("/api/shots", {{"project_id", pb}, {"title", "B"}}).status, 201);
  }
  // A third account's pull, parked after B's commits, wakes for its own
  // next one: notifications arrive in commit order, so by then the bell has
  // rung for all of B's, and only C's pull was woken (A's still sleeps).
  ApiClient c(port());
  c.Register();
  const std::string pc = c.Post("/api/projects", {{"name", "C's"}}).body["id"];
  auto c_parked = ParkedPull(port(), c.token, CaughtUp(c));
  ASSERT_TRUE(Eventually([&] { return Metric(port(), "vemakin_sync_pulls_waiting") == 2; }));
  const double woken_before = Metric(port(), "vemakin_sync_pulls_woken_total");
  ASSERT_EQ(c.Post("/api/shots", {{"project_id", pc}, {"title", "C"}}).status, 201);
  EXPECT_EQ(StatusOf(c_parked.get()), 200);
  EXPECT_EQ(Metric(port(), "vemakin_sync_pulls_woken_total") - woken_before, 1);
  EXPECT_EQ(parked.wait_for(0s), std::future_status::timeout);
  // A change in A's 300th project wakes it.
  ASSERT_EQ(a.Post("/api/shots", {{"project_id", last}, {"title", "Wake A"}}).status, 201);
  const std::string reply = parked.get();
  EXPECT_EQ(StatusOf(reply), 200) << reply;
  EXPECT_NE(reply.find("Wake A"), std::string::npos) << reply;
}

// Past the projects a pull watches (1024), the rest are re-checked every
// second: a change there arrives long before the pull's 20 s wait ends.
TEST_F(Issue11Bounds, ProjectsPastTheWatchedOnesAreRecheckedEverySecond) {
  ApiClient a(port());
  a.Register();
  const std::string me = a.Get("/api/users/me").body["id"];
  std::string last;
  {
    auto conn = server_->Connect();
    pqxx::work tx(*conn);
    tx.exec0("INSERT INTO projects (id, user_id, name) SELECT gen_random_uuid(), '" + me +
             "', 'bulk ' || g FROM generate_series(1, 1100) g");
    tx.exec0(
        "INSERT INTO project_members (project_id, user_id, role) SELECT id, user_id, "
        "'owner' FROM projects WHERE user_id = '" +
        me + "' ON CONFLICT DO NOTHING");
    last = tx.exec1("SELECT max(id::text) FROM projects WHERE user_id = '" + me + "'")[0]
               .as<std::string>();
    tx.commit();
  }
  const std::string ca = CaughtUp(a);
  const double unwatched_before = Metric(port(), "vemakin_sync_pulls_unwatched_total");
  auto parked = ParkedPull(port(), a.token, ca);
  ASSERT_TRUE(Eventually(
      [&] { return Metric(port(), "vemakin_sync_pulls_unwatched_total") > unwatched_before; }));
  const auto wrote = std::chrono::steady_clock::now();
  ASSERT_EQ(a.Post("/api/shots", {{"project_id", last}, {"title", "Unwatched"}}).status, 201);
  const std::string reply = parked.get();
  EXPECT_EQ(StatusOf(reply), 200) << reply;
  EXPECT_NE(reply.find("Unwatched"), std::string::npos) << reply;
  EXPECT_LT(std::chrono::steady_clock::now() - wrote, 10s);  // the wait was 20 s
}

class Issue11PageBytes : public ServerSuite {
 protected:
  static void SetUpTestSuite() {
    server::ServerOptions o;
    o.max_page_bytes = 256 << 10;
    StartServer(o);
  }
};

// Twelve notes of 90 KB: every page (list, pull, snapshot) stops near 256 KiB
// and says there is more, and following the pages yields every note once.
TEST_F(Issue11PageBytes, BigRowsEndAPageAtItsByteBudget) {
  ApiClient c(port());
  c.Register();
  const std::string project = c.Post("/api/projects", {{"name", "Big"}}).body["id"];
  const std::string big(90000, 'x');
  for (int i = 0; i < 12; ++i) {
    const Resp r =
        c.Post("/api/notes",
               {{"project_id", project}, {"title", "n" + std::to_string(i)}, {"content", big}});
    ASSERT_EQ(r.status, 201) << r.raw.substr(0, 300);
  }
  const long rss_before = RssKiB();
  constexpr size_t kCeiling = (256 << 10) + (100 << 10);  // the budget plus one row
  // The list, by cursor.
  std::set<std::string> listed;
  std::string next;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 12);
    const Resp r = c.Get("/api/notes?project_id=" + project + "&limit=100" +
                         (next.empty() ? "" : "&cursor=" + next));
    ASSERT_EQ(r.status, 200);
    EXPECT_LT(r.raw.size(), kCeiling);
    EXPECT_EQ(r.body["total"], 12);
    for (const json& item : r.body["items"]) {
      EXPECT_TRUE(listed.insert(item["id"]).second);
    }
    if (!r.body["has_more"].get<bool>()) break;
    EXPECT_LT(r.body["items"].size(), 12u);
    next = r.body["next_cursor"];
  }
  EXPECT_EQ(listed.size(), 12u);
  // The pull.
  std::set<std::string> pulled;
  std::string cursor = "0.0";
  // A transaction open elsewhere in the cluster (a test beside this one)
  // holds changes back ("pending"): the next pull then waits for them.
  bool pending = false;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 30);
    const Resp r = c.Get("/api/sync/pull?limit=1000&cursor=" + cursor + (pending ? "&wait=5" : ""));
    ASSERT_EQ(r.status, 200);
    EXPECT_LT(r.raw.size(), kCeiling);
    for (const json& ch : r.body["changes"]) {
      if (ch["table"] != "notes") continue;
      EXPECT_TRUE(pulled.insert(ch["id"]).second);
    }
    cursor = r.body["cursor"];
    pending = r.body["pending"].get<bool>();
    if (!r.body["has_more"].get<bool>() && !pending) break;
  }
  EXPECT_EQ(pulled, listed);
  // The snapshot.
  std::set<std::string> snapped;
  std::string after;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 30);
    const Resp r =
        c.Get("/api/sync/snapshot?limit=5000" + (after.empty() ? "" : "&after=" + after));
    ASSERT_EQ(r.status, 200) << r.raw.substr(0, 300);
    EXPECT_LT(r.raw.size(), kCeiling + (64 << 10));  // the catalog rides on the first page
    for (const json& t : r.body["tables"]) {
      if (t["table"] != "notes") continue;
      for (const json& row : t["rows"]) EXPECT_TRUE(snapped.insert(row["id"]).second);
    }
    if (r.body["next"].is_null()) break;
    after = r.body["next"];
  }
  EXPECT_EQ(snapped, listed);
  // The digest walks the notes in batches and counts all of them.
  const Resp d = c.Get("/api/sync/digest");
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(d.body["tables"]["notes"]["count"], 12);
  // ...each note once (several batches, each ended by the byte budget):
  // the digest of the listed rows.
  core::TableDigest expected;
  std::string page_cursor;
  for (;;) {
    const Resp r = c.Get("/api/notes?project_id=" + project + "&limit=100" +
                         (page_cursor.empty() ? "" : "&cursor=" + page_cursor));
    for (const json& item : r.body["items"]) expected.Add(core::Spec(core::Entity::kNote), item);
    if (!r.body["has_more"].get<bool>()) break;
    page_cursor = r.body["next_cursor"];
  }
  EXPECT_EQ(d.body["tables"]["notes"], expected.ToJson());
  std::printf("[flood] big-row pages: rss before %ld KiB, after %ld KiB\n", rss_before, RssKiB());
  // Every captured row image carries its size (what pulls budget by).
  auto conn = server_->Connect();
  pqxx::nontransaction tx(*conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM sync_changes WHERE op = 'upsert' AND "
                     "(data_bytes IS NULL OR data_bytes < octet_length(data::text) / 2)")[0]
                .as<long long>(),
            0);
}

// Notes of about 3 KB never set the list's big-row flag (migration 0012), so
// their pages are read without the size window and cut by the exact size of
// their JSON (100 rows of 3 KB would be 300 KB: the page stops near 256 KiB).
// The first note over 4 KB, created or grown by a PATCH, sets the flag; the
// list then takes the sized statement, and every note is still listed once.
TEST_F(Issue11PageBytes, SmallRowsAreCutByTheirSizeUntilABigRowFlagsTheList) {
  ApiClient c(port());
  c.Register();
  const std::string project = c.Post("/api/projects", {{"name", "Small"}}).body["id"];
  const std::string medium(3000, 'm');
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    const Resp r =
        c.Post("/api/notes",
               {{"project_id", project}, {"title", "n" + std::to_string(i)}, {"content", medium}});
    ASSERT_EQ(r.status, 201) << r.raw.substr(0, 300);
    ids.push_back(r.body["id"]);
  }
  auto flag = [&] {
    auto conn = server_->Connect();
    pqxx::nontransaction tx(*conn);
    return tx
        .exec_params1("SELECT notes_big FROM project_stats WHERE project_id = $1::uuid", project)[0]
        .as<bool>();
  };
  constexpr size_t kCeiling = (256 << 10) + (4 << 10) + 200;  // the budget, a row, the envelope
  auto list_all = [&](size_t expected) {
    std::set<std::string> listed;
    std::string next;
    int pages = 0;
    for (;; ++pages) {
      EXPECT_LT(pages, 10);
      if (pages >= 10) break;
      const Resp r = c.Get("/api/notes?project_id=" + project + "&limit=100" +
                           (next.empty() ? "" : "&cursor=" + next));
      EXPECT_EQ(r.status, 200);
      EXPECT_LT(r.raw.size(), kCeiling);
      EXPECT_EQ(r.body["total"], expected);
      for (const json& item : r.body["items"]) EXPECT_TRUE(listed.insert(item["id"]).second);
      if (!r.body["has_more"].get<bool>()) break;
      EXPECT_LT(r.body["items"].size(), 100u);
      next = r.body["next_cursor"];
    }
    EXPECT_EQ(listed.size(), expected);
    return pages + 1;
  };
  EXPECT_FALSE(flag());
  EXPECT_EQ(list_all(100), 2);  // cut once, by size
  // A PATCH that grows a note past 4 KB flags the list.
  ASSERT_EQ(c.Patch("/api/notes/" + ids[0], {{"content", std::string(6000, 'b')}}).status, 200);
  EXPECT_TRUE(flag());
  EXPECT_EQ(list_all(100), 2);
  // So does a create, in another project; deleting the big row keeps the flag.
  const std::string other = c.Post("/api/projects", {{"name", "Other"}}).body["id"];
  const Resp big = c.Post(
      "/api/notes", {{"project_id", other}, {"title", "b"}, {"content", std::string(5000, 'b')}});
  ASSERT_EQ(big.status, 201);
  ASSERT_EQ(c.Delete("/api/notes/" + big.body["id"].get<std::string>()).status, 204);
  auto conn = server_->Connect();
  pqxx::nontransaction tx(*conn);
  EXPECT_TRUE(
      tx.exec_params1("SELECT notes_big FROM project_stats WHERE project_id = $1::uuid", other)[0]
          .as<bool>());
}

// Collects the server's log messages; lets a test wait for one.
class WatchingLogger : public Logger {
 public:
  void Log(LogLevel, std::string_view, std::string_view message, const json&) override {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.emplace_back(message);
    cv_.notify_all();
  }
  bool Enabled(LogLevel) const override { return true; }
  bool WaitFor(const std::string& message, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [&] {
      for (const std::string& m : seen_) {
        if (m == message) return true;
      }
      return false;
    });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> seen_;
};

class Issue11Descriptors : public ServerSuite {
 protected:
  static void SetUpTestSuite() {
    server::ServerOptions o;
    o.logger = logger_ = std::make_shared<WatchingLogger>();
    StartServer(o);
  }
  static inline std::shared_ptr<WatchingLogger> logger_;
};

int OpenDescriptors() {
  int n = 0;
  for (int fd = 0; fd < 65536; ++fd) {
    if (fcntl(fd, F_GETFD) != -1) ++n;
  }
  return n;
}

// Out of file descriptors, the listener pauses accepting (and says so)
// instead of spinning, and serves again once descriptors are free. The
// clients are another process, so only the server's process runs short.
TEST_F(Issue11Descriptors, RunningOutOfDescriptorsPausesAcceptingAndRecovers) {
  ApiClient c(port());
  ASSERT_EQ(c.Get("/health").status, 200);
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  int go[2], ready[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(ready), 0);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(OpenDescriptors() + 12);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
  const pid_t child = fork();
  if (child == 0) {
    setrlimit(RLIMIT_NOFILE, &saved);
    std::vector<int> fds;
    for (int i = 0; i < 60; ++i) fds.push_back(ConnectTcp(port()));
    char byte = 1;
    (void)!write(ready[1], &byte, 1);
    (void)!read(go[0], &byte, 1);  // until the parent has seen the pause
    for (int fd : fds) close(fd);
    _exit(0);
  }
  ASSERT_GT(child, 0);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  const bool paused = logger_->WaitFor("out of file descriptors; pausing accept", 20s);
  setrlimit(RLIMIT_NOFILE, &saved);
  (void)!write(go[1], &byte, 1);
  int status = 0;
  waitpid(child, &status, 0);
  for (int fd : {go[0], go[1], ready[0], ready[1]}) close(fd);
  ASSERT_TRUE(paused);
  EXPECT_TRUE(Eventually([&] { return ApiClient(port()).Get("/health").status == 200; }));
  EXPECT_GE(Metric(port(), "vemakin_http_accept_pauses_total"), 1);
}

}  // namespace
}  // namespace vemakin::testing
