// The sync client against a real server and real SQLite stores: guest claim,
// field-level convergence, conflicts, rejections that never block, access
// loss and gain, rebase after compaction, live updates.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "server/sync_history.h"
#include "tests/e2e/sync_test_support.h"
#include "vemakin/client/store.h"
#include "vemakin/client/sync.h"

namespace vemakin::testing {
namespace {

using client::Collection;
using client::Store;
using client::SyncClient;

using SyncClientTest = SyncFixture;

TEST_F(SyncClientTest, GuestDataIsClaimedOnceWithTheSameIds) {
  auto store = OpenStore("guest");
  const std::string project = store->Create(Collection::kProjects, {{"name", "Guest film"}})["id"];
  std::vector<std::string> shots;
  for (int i = 0; i < 5; ++i) {
    shots.push_back(
        store->Create(Collection::kShots,
                      {{"project_id", project}, {"title", "Shot " + std::to_string(i)}})["id"]);
  }
  const std::string gear =
      store->Create(Collection::kInventory, {{"name", "Camera A"}, {"category", "Camera"}})["id"];
  store->Update(Collection::kShots, shots[0], {{"status", "done"}});
  ASSERT_EQ(store->Status().pending_mutations, 8);

  // An earlier attempt reached the server but its response was lost: the
  // first three mutations are already applied under the account.
  ApiClient rest(server_->port());
  const std::string email = "guest-" + RandomUuid().substr(0, 8) + "@example.com";
  ASSERT_EQ(rest.Post("/api/auth/register",
                      {{"email", email}, {"password", kPassword}, {"name", "Guest"}})
                .status,
            201);
  {
    const Resp login = rest.Post("/api/auth/login", {{"email", email}, {"password", kPassword}});
    rest.token = login.body.value("token", "");
    json mutations = json::array();
    for (const client::OutboxEntry& e : store->Outbox(3)) {
      mutations.push_back({{"mutation_id", e.mutation_id},
                           {"table", e.table},
                           {"op", e.op},
                           {"id", e.row_id},
                           {"fields", e.fields}});
    }
    const Resp r = rest.Post("/api/sync/push",
                             {{"client_id", store->Status().client_id}, {"mutations", mutations}});
    ASSERT_EQ(r.status, 200) << r.raw;
  }

  SyncClient sync(*store);
  const json user = sync.Login(Url(), email, kPassword);
  EXPECT_EQ(store->Status().pending_mutations, 0);
  EXPECT_EQ(store->Status().owner_id, user.at("id"));
  // Same ids on the server, each row once.
  const Resp p = rest.Get("/api/projects/" + project);
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(p.body.at("user_id"), user.at("id"));
  const Resp list = rest.Get("/api/shots?project_id=" + project);
  EXPECT_EQ(list.body.at("total"), 5);
  EXPECT_EQ(rest.Get("/api/shots/" + shots[0]).body.at("status"), "done");
  EXPECT_EQ(rest.Get("/api/inventory/" + gear).status, 200);
  EXPECT_EQ(rest.Get("/api/projects").body.at("total"), 1);
  // Syncing again uploads nothing more.
  const client::SyncReport again = sync.Sync();
  EXPECT_EQ(again.pushed, 0);
  EXPECT_EQ(rest.Get("/api/shots?project_id=" + project).body.at("total"), 5);
  const client::VerifyReport v = sync.Verify();
  EXPECT_TRUE(v.equal) << v.ToJson().dump(2) << rest.Get("/api/inventory/" + gear).raw << "\n"
                       << store->Get(Collection::kInventory, gear).dump();
}

TEST_F(SyncClientTest, ConcurrentEditsOfDifferentFieldsBothSurvive) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = SharedProject(a, b, "editor");
  const std::string shot =
      a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "Wide"}})["id"];
  a.sync->Sync();
  b.sync->Sync();
  // Both offline: A renames, B marks it done.
  a.store->Update(Collection::kShots, shot, {{"title", "Wide, golden hour"}});
  b.store->Update(Collection::kShots, shot, {{"status", "done"}});
  a.sync->Sync();
  // B sees A's title under its own pending status before pushing it.
  b.sync->PullOnly();
  const json mid = b.store->Get(Collection::kShots, shot);
  EXPECT_EQ(mid.at("title"), "Wide, golden hour");
  EXPECT_EQ(mid.at("status"), "done");
  b.sync->Sync();
  a.sync->Sync();
  for (Device* d : {&a, &b}) {
    const json row = d->store->Get(Collection::kShots, shot);
    EXPECT_EQ(row.at("title"), "Wide, golden hour");
    EXPECT_EQ(row.at("status"), "done");
    ExpectConverged(*d);
  }
}

TEST_F(SyncClientTest, SameFieldLaterInServerOrderWins) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = SharedProject(a, b, "editor");
  const std::string shot =
      a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "Close-up"}})["id"];
  a.sync->Sync();
  b.sync->Sync();
  b.store->Update(Collection::kShots, shot, {{"title", "B's title"}});
  a.store->Update(Collection::kShots, shot, {{"title", "A's title"}, {"location", "Roof"}});
  // B pushes first, A second: A's write is later in the server's order.
  b.sync->Sync();
  // A pulls B's write before pushing: A's pending edit stays on top.
  a.sync->PullOnly();
  EXPECT_EQ(a.store->Get(Collection::kShots, shot).at("title"), "A's title");
  EXPECT_EQ(a.store->Status().pending_mutations, 1);
  a.sync->Sync();
  b.sync->Sync();
  EXPECT_EQ(a.store->Get(Collection::kShots, shot).at("title"), "A's title");
  EXPECT_EQ(b.store->Get(Collection::kShots, shot).at("title"), "A's title");
  ExpectConverged(a);
  ExpectConverged(b);
}

TEST_F(SyncClientTest, UpdateOfARowDeletedElsewhereIsLoggedAndDeleteWins) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = SharedProject(a, b, "editor");
  const std::string shot =
      a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "Insert"}})["id"];
  const std::string kept =
      a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "Kept"}})["id"];
  a.sync->Sync();
  b.sync->Sync();
  a.store->Delete(Collection::kShots, shot);
  b.store->Update(Collection::kShots, shot, {{"title", "Insert, new angle"}});
  b.store->Update(Collection::kShots, kept, {{"status", "done"}});  // after it: not blocked
  a.sync->Sync();
  const client::SyncReport r = b.sync->Sync();
  EXPECT_EQ(r.rejected, 1);
  EXPECT_EQ(r.pushed, 1);
  EXPECT_THROW(b.store->Get(Collection::kShots, shot), Error);
  EXPECT_EQ(b.store->Get(Collection::kShots, kept).at("status"), "done");
  const std::vector<client::Conflict> c = b.sync->Conflicts();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].kind, "deleted");
  EXPECT_EQ(c[0].row_id, shot);
  a.sync->Sync();
  ExpectConverged(a);
  ExpectConverged(b);
}

TEST_F(SyncClientTest, AChildCreatedUnderAParentDeletedElsewhereIsOrphaned) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = SharedProject(a, b, "editor");
  a.store->Delete(Collection::kProjects, project);
  const std::string note =
      b.store->Create(Collection::kNotes, {{"project_id", project}, {"title", "Call sheet"}})["id"];
  a.sync->Sync();
  const client::SyncReport r = b.sync->Sync();
  EXPECT_EQ(r.rejected, 1);
  EXPECT_THROW(b.store->Get(Collection::kProjects, project), Error);
  EXPECT_THROW(b.store->Get(Collection::kNotes, note), Error);
  const std::vector<client::Conflict> c = b.sync->Conflicts();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].kind, "orphaned");
  ExpectConverged(b);
}

TEST_F(SyncClientTest, AViewersWritesAreRejectedUndoneAndNeverBlockTheQueue) {
  Device a = NewAccount("a");
  Device v = NewAccount("v");
  const std::string project = SharedProject(a, v, "viewer");
  const std::string shot =
      a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "Master"}})["id"];
  a.sync->Sync();
  v.sync->Sync();
  // The local store knows the role and refuses at once...
  EXPECT_THROW(v.store->Update(Collection::kShots, shot, {{"title", "Viewer edit"}}), Error);
  const std::string gear =
      v.store->Create(Collection::kInventory, {{"name", "Light"}, {"category", "Light"}})["id"];
  // A stale client's pushes, raw: the server is the judge of roles.
  ApiClient rest = Rest(v);
  const Resp r = rest.Post("/api/sync/push", {{"client_id", RandomUuid()},
                                              {"mutations",
                                               {{{"mutation_id", RandomUuid()},
                                                 {"table", "shots"},
                                                 {"op", "update"},
                                                 {"id", shot},
                                                 {"fields", {{"title", "Viewer edit"}}}},
                                                {{"mutation_id", RandomUuid()},
                                                 {"table", "equipment"},
                                                 {"op", "update"},
                                                 {"id", gear},
                                                 {"fields", {{"quantity", 2}}}}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  // The gear is not on the server yet (its create is still in v's outbox):
  // the first is refused (403) with the row's current state, the second (404).
  EXPECT_EQ(r.body["results"][0]["http_status"], 403);
  EXPECT_EQ(r.body["results"][0]["current"]["title"], "Master");
  EXPECT_EQ(r.body["results"][1]["status"], "rejected");
  const client::SyncReport report = v.sync->Sync();
  EXPECT_EQ(report.pushed, 1);  // the gear create went through
  EXPECT_EQ(v.store->Status().pending_mutations, 0);
  ExpectConverged(v);
}

TEST_F(SyncClientTest, ARejectedMutationIsUndoneLocallyAndLogged) {
  Device a = NewAccount("a");
  Device v = NewAccount("v");
  const std::string project = SharedProject(a, v, "editor");
  const std::string shot =
      a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "Master"}})["id"];
  a.sync->Sync();
  v.sync->Sync();
  // While v is offline, the owner makes v a viewer; v keeps editing.
  ApiClient owner = Rest(a);
  ASSERT_EQ(owner.Delete("/api/projects/" + project + "/members/" + v.user_id).status, 204);
  ASSERT_EQ(
      owner.Post("/api/projects/" + project + "/members", {{"email", v.email}, {"role", "viewer"}})
          .status,
      201);
  v.store->Update(Collection::kShots, shot, {{"title", "Edited by a former editor"}});
  const std::string new_shot =
      v.store->Create(Collection::kShots, {{"project_id", project}, {"title", "New"}})["id"];
  const std::string gear =
      v.store->Create(Collection::kInventory, {{"name", "Light"}, {"category", "Light"}})["id"];
  const client::SyncReport r = v.sync->Sync();
  EXPECT_EQ(r.rejected, 2);
  EXPECT_EQ(r.pushed, 1);  // the inventory write after them was not blocked
  EXPECT_EQ(v.store->Status().pending_mutations, 0);
  EXPECT_EQ(v.store->Get(Collection::kShots, shot).at("title"), "Master");  // undone
  EXPECT_THROW(v.store->Get(Collection::kShots, new_shot), Error);          // undone
  EXPECT_EQ(v.store->Get(Collection::kInventory, gear).at("name"), "Light");
  const std::vector<client::Conflict> c = v.sync->Conflicts();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].kind, "rejected");
  EXPECT_EQ(c[0].detail.at("http_status"), 403);
  EXPECT_FALSE(c[0].reason.empty());
  ExpectConverged(v);
}

TEST_F(SyncClientTest, LosingMembershipRemovesTheProjectAtTheNextPull) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = SharedProject(a, b, "editor");
  for (int i = 0; i < 3; ++i) {
    a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "S"}});
  }
  a.sync->Sync();
  b.sync->Sync();
  ASSERT_EQ(b.store->List(Collection::kShots, ByProject(project)).total, 3);
  ApiClient owner = Rest(a);
  ASSERT_EQ(owner.Delete("/api/projects/" + project + "/members/" + b.user_id).status, 204);
  b.sync->Sync();
  EXPECT_THROW(b.store->Get(Collection::kProjects, project), Error);
  EXPECT_THROW(b.store->List(Collection::kShots, ByProject(project)), Error);
  ExpectConverged(b);
}

TEST_F(SyncClientTest, GainingMembershipBringsTheProjectsWholeHistory) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  b.sync->Sync();  // b's cursor is now past everything a does next
  const std::string project = a.store->Create(Collection::kProjects, {{"name", "Old"}})["id"];
  const std::string shot =
      a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "Early"}})["id"];
  a.store->Create(Collection::kNotes,
                  {{"project_id", project}, {"title", "On it"}, {"shot_id", shot}});
  a.sync->Sync();
  a.sync->AddMember(project, b.email, "viewer");
  b.sync->Sync();
  EXPECT_EQ(b.store->Get(Collection::kShots, shot).at("title"), "Early");
  EXPECT_EQ(b.store->List(Collection::kNotes, ByProject(project)).total, 1);
  ExpectConverged(b);
}

TEST_F(SyncClientTest, AClientBehindTheHorizonIsRebasedAndKeepsItsLocalWork) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = SharedProject(a, b, "editor");
  std::vector<std::string> shots;
  for (int i = 0; i < 4; ++i) {
    shots.push_back(
        a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "S"}})["id"]);
  }
  a.sync->Sync();
  b.sync->Sync();
  // b goes offline with work; meanwhile a deletes and edits, and the server
  // compacts its history past b's cursor.
  b.store->Update(Collection::kShots, shots[1], {{"location", "Harbour"}});
  const std::string mine =
      b.store->Create(Collection::kShots, {{"project_id", project}, {"title", "Mine"}})["id"];
  a.store->Delete(Collection::kShots, shots[0]);
  a.store->Update(Collection::kShots, shots[1], {{"title", "Renamed"}});
  a.sync->Sync();
  {
    auto conn = server_->Connect();
    EXPECT_GT(server::CompactSyncHistory(*conn, std::chrono::seconds(0)), 0);
  }
  const client::SyncReport r = b.sync->Sync();
  EXPECT_TRUE(r.rebased);
  EXPECT_THROW(b.store->Get(Collection::kShots, shots[0]), Error);  // deleted meanwhile
  const json s1 = b.store->Get(Collection::kShots, shots[1]);
  EXPECT_EQ(s1.at("title"), "Renamed");
  EXPECT_EQ(s1.at("location"), "Harbour");
  EXPECT_EQ(b.store->Get(Collection::kShots, mine).at("title"), "Mine");
  a.sync->Sync();
  EXPECT_EQ(a.store->Get(Collection::kShots, mine).at("title"), "Mine");
  ExpectConverged(a);
  ExpectConverged(b);
}

// Runs one WatchRound(30 s) of `watcher` on a thread, makes `write` once the
// round has started, and returns the round's report and duration.
std::pair<client::SyncReport, std::chrono::steady_clock::duration> WatchWhile(
    SyncClient& watcher, const std::function<void()>& write) {
  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  client::SyncReport round;
  std::chrono::steady_clock::duration took{};
  std::thread thread([&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      started = true;
    }
    cv.notify_all();
    const auto start = std::chrono::steady_clock::now();
    round = watcher.WatchRound(std::chrono::seconds(30));
    took = std::chrono::steady_clock::now() - start;
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return started; });
  }
  write();
  thread.join();
  return {round, took};
}

TEST_F(SyncClientTest, AWatchingClientIsWokenByAnotherMembersChange) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = SharedProject(a, b, "editor");
  ApiClient rest = Rest(a);
  Resp created;
  const auto [round, took] = WatchWhile(*b.sync, [&] {
    created = rest.Post("/api/shots", {{"project_id", project}, {"title", "Live"}});
  });
  ASSERT_EQ(created.status, 201) << created.raw;
  // The round ended because of the change, not at its 30-second wait (the
  // latency itself is measured by `vemakin-bench sync`).
  EXPECT_GE(round.pulled, 1);
  EXPECT_LT(took, std::chrono::seconds(15));
  EXPECT_EQ(b.store->Get(Collection::kShots, created.body.at("id")).at("title"), "Live");
}

// StopWatch() from another thread while the watch is parked in its long
// poll on the server (seen in the server's gauge) ends it well before the
// poll's 30 s, and the client then syncs as before.
TEST_F(SyncClientTest, StopWatchCutsALongPollInFlightShort) {
  Device a = NewAccount("a");
  std::atomic<int> changes{0};
  std::chrono::steady_clock::time_point returned;
  std::thread watcher([&] {
    a.sync->Watch(std::chrono::seconds(30), [&](const client::SyncReport&) {
      ++changes;
      return true;
    });
    returned = std::chrono::steady_clock::now();
  });
  const int port = server_->port();
  const bool parked =
      PollUntil([port] { return MetricOf(port, "vemakin_sync_pulls_waiting") >= 1; },
                std::chrono::seconds(20));
  const auto stopped = std::chrono::steady_clock::now();
  a.sync->StopWatch();
  watcher.join();
  ASSERT_TRUE(parked) << "the watch never parked";
  EXPECT_LT(returned - stopped, std::chrono::seconds(10));
  EXPECT_EQ(changes.load(), 0);
  // Not left cancelled: the next sync works, and so does another watch.
  a.store->Create(Collection::kProjects, {{"name", "After the stop"}});
  EXPECT_EQ(a.sync->Sync().pushed, 1);
  std::thread again([&] {
    a.sync->Watch(std::chrono::seconds(30), [&](const client::SyncReport&) { return true; });
  });
  a.sync->StopWatch();
  again.join();
}

TEST_F(SyncClientTest, AStrangerReceivesNothingOfOthersProjects) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string before = b.store->Status().cursor.value_or("");
  const std::string project = a.store->Create(Collection::kProjects, {{"name", "Private"}})["id"];
  a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "Secret"}});
  a.store->Create(Collection::kInventory, {{"name", "Camera"}, {"category", "Camera"}});
  a.sync->Sync();
  b.sync->Sync();
  EXPECT_EQ(b.store->List(Collection::kProjects, {}).total, 0);
  EXPECT_EQ(b.store->List(Collection::kInventory, {}).total, 0);
  ExpectConverged(b);
  ApiClient rest = Rest(b);
  const Resp pull = rest.Get("/api/sync/pull?cursor=" + before);
  ASSERT_EQ(pull.status, 200) << pull.raw;
  for (const json& c : pull.body.at("changes")) {
    const json& data = c.at("data");
    EXPECT_FALSE(data.is_object() && data.value("project_id", "") == project) << c.dump();
    EXPECT_NE(c.at("table"), "equipment") << c.dump();
  }
  EXPECT_EQ(rest.Get("/api/sync/snapshot?project=" + project).status, 404);
  // b's pushes cannot reach into a's project either.
  const Resp push = rest.Post("/api/sync/push",
                              {{"client_id", RandomUuid()},
                               {"mutations",
                                {{{"mutation_id", RandomUuid()},
                                  {"table", "shots"},
                                  {"op", "create"},
                                  {"id", RandomUuid()},
                                  {"fields", {{"project_id", project}, {"title", "Intruder"}}}}}}});
  ASSERT_EQ(push.status, 200) << push.raw;
  EXPECT_EQ(push.body["results"][0]["status"], "rejected");
  EXPECT_EQ(push.body["results"][0]["http_status"], 404);
}

TEST_F(SyncClientTest, AChangeOnOneServerInstanceWakesAWatcherOnAnother) {
  Device a = NewAccount("a");
  Device b = NewAccount("b", SecondUrl());
  const std::string project = SharedProject(a, b, "editor");
  ApiClient rest = Rest(a);  // the first instance
  Resp created;
  const auto [round, took] = WatchWhile(*b.sync, [&] {
    created = rest.Post("/api/notes", {{"project_id", project}, {"title", "Cross"}});
  });
  ASSERT_EQ(created.status, 201) << created.raw;
  EXPECT_GE(round.pulled, 1);
  EXPECT_LT(took, std::chrono::seconds(15));
  EXPECT_EQ(b.store->Get(Collection::kNotes, created.body.at("id")).at("title"), "Cross");
}

// The server's catalog edition moved an item to a new id under the same
// (brand, name): the guest store's starter row is stale and makes way
// instead of jamming every sync on the unique key.
TEST_F(SyncClientTest, AStaleLocalCatalogRowNeverJamsTheSync) {
  TestServer own;  // a catalog of its own to edit
  auto conn = own.Connect();
  std::string moved;
  {
    pqxx::work tx(*conn);
    moved =
        tx.exec1("SELECT id::text FROM gear_catalog ORDER BY name LIMIT 1")[0].as<std::string>();
    tx.exec_params("UPDATE gear_catalog SET id = gen_random_uuid() WHERE id = $1::uuid", moved);
    tx.commit();
  }
  auto store = OpenStore("stale-catalog");
  ASSERT_NO_THROW(store->CatalogItem(moved));  // the starter edition has it
  SyncClient sync(*store);
  sync.Register("http://127.0.0.1:" + std::to_string(own.port()),
                "stale-" + RandomUuid().substr(0, 8) + "@example.com", kPassword, "Stale");
  EXPECT_THROW(store->CatalogItem(moved), Error);
  const client::VerifyReport v = sync.Verify();
  EXPECT_TRUE(v.equal) << v.ToJson().dump(2);
}

// A change committed before a sync began but held back by the server's
// horizon (an older write transaction still open elsewhere) is waited for:
// "up to date" means everything committed before the sync asked.
TEST_F(SyncClientTest, ASyncWaitsForAChangeHeldBackByAnOlderOpenTransaction) {
  Device a = NewAccount("a");
  const std::string project = a.store->Create(Collection::kProjects, {{"name", "P"}})["id"];
  a.sync->Sync();
  // An older write transaction, left open: it holds the pull horizon.
  auto conn = server_->Connect();
  auto open = std::make_unique<pqxx::work>(*conn);
  open->exec(
      "INSERT INTO sync_changes (table_name, row_id, op, data) "
      "VALUES ('gear_brands', 'held', 'upsert', '{}'::jsonb)");
  ApiClient rest = Rest(a);
  const Resp shot = rest.Post("/api/shots", {{"project_id", project}, {"title", "Held back"}});
  ASSERT_EQ(shot.status, 201) << shot.raw;
  client::SyncClientOptions options;
  bool released = false;
  options.progress = [&](const client::SyncProgress& p) {
    if (p.phase != "pull" || released) return;
    released = true;  // the first batch came back without the shot: now let it pass
    open->abort();
  };
  SyncClient sync(*a.store, options);
  sync.PullOnly();
  EXPECT_TRUE(released);
  EXPECT_EQ(a.store->Get(Collection::kShots, shot.body.at("id")).at("title"), "Held back");
}

TEST_F(SyncClientTest, VerifyNamesTheTableThatDiffers) {
  Device a = NewAccount("a");
  const std::string project = a.store->Create(Collection::kProjects, {{"name", "P"}})["id"];
  const std::string shot =
      a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "T"}})["id"];
  a.sync->Sync();
  ExpectConverged(a);
  // Change the server behind the change log's back (no trigger would miss a
  // real write; this simulates a diverged mirror).
  auto conn = server_->Connect();
  pqxx::work tx(*conn);
  tx.exec("ALTER TABLE shots DISABLE TRIGGER shots_capture");
  tx.exec_params("UPDATE shots SET title = 'Changed' WHERE id = $1::uuid", shot);
  tx.exec("ALTER TABLE shots ENABLE TRIGGER shots_capture");
  tx.commit();
  const client::VerifyReport v = a.sync->Verify();
  EXPECT_FALSE(v.equal);
  ASSERT_EQ(v.mismatched.size(), 1u);
  EXPECT_EQ(v.mismatched[0], "shots");
}

TEST_F(SyncClientTest, SigningInAgainKeepsTheStoreAndAnotherAccountNeedsALogout) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = a.store->Create(Collection::kProjects, {{"name", "Mine"}})["id"];
  a.sync->Sync();
  a.store->Update(Collection::kProjects, project, {{"name", "Mine, renamed offline"}});
  a.sync->Login(Url(), a.email, kPassword);  // e.g. after the token expired
  EXPECT_EQ(a.store->Get(Collection::kProjects, project).at("name"), "Mine, renamed offline");
  EXPECT_EQ(a.store->Status().pending_mutations, 0);
  try {
    a.sync->Login(Url(), b.email, kPassword);
    FAIL() << "signed a store into a second account";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
  }
  EXPECT_EQ(a.store->Status().account, a.email);
  a.sync->Logout();
  EXPECT_EQ(a.store->Status().account, std::nullopt);
  EXPECT_EQ(a.store->List(Collection::kProjects, {}).total, 0);
  EXPECT_THROW(a.sync->Sync(), Error);  // signed out
}

TEST_F(SyncClientTest, SignInMistakesAreClearErrors) {
  auto store = OpenStore("x");
  SyncClient sync(*store);
  EXPECT_THROW(sync.Sync(), Error);  // not signed in
  try {
    sync.Login(Url(), "nobody@example.com", "wrong password");
    FAIL() << "signed in with a wrong password";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sign-in refused"), std::string::npos) << e.what();
  }
  try {
    sync.Login("http://127.0.0.1:1", "a@example.com", kPassword);
    FAIL() << "reached a closed port";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
  }
  EXPECT_EQ(store->Status().account, std::nullopt);
}

}  // namespace
}  // namespace vemakin::testing
