// Issue 10: sync scope under membership change.
// - A member invited after a rename got an empty project: the one-project
//   backfill started only when a child arrived before its project, and the
//   project's own row (the rename) arrived first.
// - The same with remove → rename → re-add between two of the member's syncs.
// - A new member's pull from the beginning returned every earlier row image
//   of the project (a note's title before an edit, notes deleted before the
//   invitation).
// - A deleted project's id could be re-created by another account, which then
//   pulled the old project's history.
// Each check compares the member's mirror with what the server lets that user
// read (REST), row for row, not only the digest.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "server/sync_history.h"
#include "tests/e2e/sync_test_support.h"

namespace vemakin::testing {
namespace {

using client::Collection;
using Issue10Membership = SyncFixture;

// "id:title" of every row of a project's list, sorted: from the mirror, and
// from the server as `reader` sees it.
std::set<std::string> MirrorRows(Store& store, Collection c, const std::string& project) {
  std::set<std::string> out;
  client::ListQuery q = ByProject(project);
  q.limit = 1000;
  for (const json& row : store.List(c, q).items) {
    out.insert(row.at("id").get<std::string>() + ":" + row.at("title").get<std::string>());
  }
  return out;
}
std::set<std::string> ServerRows(ApiClient& reader, const std::string& route,
                                 const std::string& project) {
  std::set<std::string> out;
  const Resp r = reader.Get("/api/" + route + "?limit=1000&project_id=" + project);
  EXPECT_EQ(r.status, 200) << r.raw;
  for (const json& row : r.body.at("items")) {
    out.insert(row.at("id").get<std::string>() + ":" + row.at("title").get<std::string>());
  }
  return out;
}

// The member's mirror holds exactly the project as the server shows it to them.
void ExpectHoldsProject(SyncFixture::Device& member, ApiClient& as_member,
                        const std::string& project) {
  const Resp p = as_member.Get("/api/projects/" + project);
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(member.store->Get(Collection::kProjects, project).at("name"), p.body.at("name"));
  EXPECT_EQ(MirrorRows(*member.store, Collection::kShots, project),
            ServerRows(as_member, "shots", project));
  EXPECT_EQ(MirrorRows(*member.store, Collection::kNotes, project),
            ServerRows(as_member, "notes", project));
  EXPECT_FALSE(ServerRows(as_member, "shots", project).empty());
}

TEST_F(Issue10Membership, AMemberInvitedAfterARenameGetsTheWholeProject) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");  // has synced once: its cursor is past the project's start
  const std::string project = a.store->Create(Collection::kProjects, {{"name", "Film"}})["id"];
  a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "Opening"}});
  a.store->Create(Collection::kNotes, {{"project_id", project}, {"title", "Call sheet"}});
  a.sync->Sync();
  b.sync->Sync();
  a.store->Update(Collection::kProjects, project, {{"name", "Film (final title)"}});
  a.sync->Sync();
  a.sync->AddMember(project, b.email, "viewer");
  b.sync->Sync();
  ApiClient as_b = Rest(b);
  ExpectHoldsProject(b, as_b, project);
  ExpectConverged(b);
}

TEST_F(Issue10Membership, RemoveRenameAndReAddBetweenTwoSyncsBringsTheProjectBack) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = SharedProject(a, b, "editor");
  a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "Before"}});
  a.sync->Sync();
  b.sync->Sync();
  ApiClient as_a = Rest(a);
  ASSERT_EQ(as_a.Delete("/api/projects/" + project + "/members/" + b.user_id).status, 204);
  a.store->Update(Collection::kProjects, project, {{"name", "Renamed while B was out"}});
  a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "While B was out"}});
  a.sync->Sync();
  a.sync->AddMember(project, b.email, "viewer");
  b.sync->Sync();
  ApiClient as_b = Rest(b);
  ExpectHoldsProject(b, as_b, project);
  EXPECT_EQ(MirrorRows(*b.store, Collection::kShots, project).size(), 2u);
  ExpectConverged(b);
}

TEST_F(Issue10Membership, ANewMemberPullsNothingFromBeforeTheInvitation) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = a.store->Create(Collection::kProjects, {{"name", "Film"}})["id"];
  const std::string note = a.store->Create(
      Collection::kNotes, {{"project_id", project}, {"title", "draft secret title"}})["id"];
  a.store->Update(Collection::kNotes, note, {{"title", "Final"}});
  const std::string gone = a.store->Create(
      Collection::kNotes,
      {{"project_id", project}, {"title", "x"}, {"content", "deleted secret"}})["id"];
  a.sync->Sync();
  a.store->Delete(Collection::kNotes, gone);
  a.sync->Sync();
  a.sync->AddMember(project, b.email, "viewer");
  ApiClient as_b = Rest(b);
  const Resp pull = as_b.Get("/api/sync/pull?cursor=&limit=10000");
  ASSERT_EQ(pull.status, 200) << pull.raw;
  bool begins = false;
  for (const json& c : pull.body.at("changes")) {
    EXPECT_EQ(c.dump().find("secret"), std::string::npos) << c.dump();
    EXPECT_NE(c.at("id"), gone) << c.dump();
    EXPECT_NE(c.at("id"), note) << "a row image from before the invitation: " << c.dump();
    if (c.value("begins_access", false)) {
      begins = true;
      EXPECT_EQ(c.at("table"), "project_members");
      EXPECT_EQ(c.at("data").at("user_id"), b.user_id);
    }
  }
  EXPECT_TRUE(begins) << pull.raw;  // the client is told to take the project whole
  // Later changes do reach the member.
  a.store->Update(Collection::kNotes, note, {{"title", "After the invitation"}});
  a.sync->Sync();
  b.sync->Sync();
  EXPECT_EQ(b.store->Get(Collection::kNotes, note).at("title"), "After the invitation");
  EXPECT_THROW(b.store->Get(Collection::kNotes, gone), Error);
  ExpectConverged(b);
}

TEST_F(Issue10Membership, ADeletedRowsIdIsNeverReusedByAnyone) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = a.store->Create(Collection::kProjects, {{"name", "Old"}})["id"];
  const std::string shot =
      a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "Old shot"}})["id"];
  a.sync->Sync();
  a.store->Delete(Collection::kProjects, project);
  a.sync->Sync();
  ApiClient as_a = Rest(a);
  ApiClient as_b = Rest(b);
  for (ApiClient* who : {&as_b, &as_a}) {  // another account, and the owner again
    const Resp again = who->Post("/api/projects", {{"id", project}, {"name", "Old"}});
    EXPECT_EQ(again.status, 409) << again.raw;
    EXPECT_TRUE(again.body.at("detail").is_string()) << again.raw;
  }
  // A cascaded child's id too, in a project of B's own.
  const Resp own = as_b.Post("/api/projects", {{"name", "B's"}});
  ASSERT_EQ(own.status, 201) << own.raw;
  const Resp child = as_b.Post(
      "/api/shots", {{"id", shot}, {"project_id", own.body.at("id")}, {"title", "Old shot"}});
  EXPECT_EQ(child.status, 409) << child.raw;
  // An offline client that creates such an id gets a rejection, not a stuck outbox.
  b.store->Create(Collection::kProjects, {{"id", project}, {"name", "Offline"}});
  const client::SyncReport report = b.sync->Sync();
  EXPECT_EQ(report.rejected, 1);
  EXPECT_EQ(b.store->Status().pending_mutations, 0);
  ASSERT_EQ(b.sync->Conflicts().size(), 1u);
  EXPECT_EQ(b.sync->Conflicts()[0].row_id, project);
  EXPECT_THROW(b.store->Get(Collection::kProjects, project), Error);
  // Nothing of the old project reaches B.
  const Resp pull = as_b.Get("/api/sync/pull?cursor=&limit=10000");
  ASSERT_EQ(pull.status, 200) << pull.raw;
  EXPECT_EQ(pull.raw.find("Old shot"), std::string::npos) << pull.raw;
  ExpectConverged(b);
}

// A rejected mutation sent again (a retry after a lost answer) is answered
// from its record, but with the row as it is now: the client restores its
// mirror from `current`, and the state at the first refusal may be stale.
TEST_F(Issue10Membership, AReplayedRejectionCarriesTheRowAsItIsNow) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = SharedProject(a, b, "viewer");
  const std::string shot =
      a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "One"}})["id"];
  a.sync->Sync();
  ApiClient as_b = Rest(b);
  const json push = {{"client_id", RandomUuid()},
                     {"mutations",
                      {{{"mutation_id", RandomUuid()},
                        {"table", "shots"},
                        {"op", "update"},
                        {"id", shot},
                        {"fields", {{"title", "Viewer's edit"}}}}}}};
  const Resp first = as_b.Post("/api/sync/push", push);
  ASSERT_EQ(first.status, 200) << first.raw;
  ASSERT_EQ(first.body.at("results")[0].at("status"), "rejected") << first.raw;
  EXPECT_EQ(first.body.at("results")[0].at("current").at("title"), "One");
  a.store->Update(Collection::kShots, shot, {{"title", "Two"}});
  a.sync->Sync();
  const Resp again = as_b.Post("/api/sync/push", push);
  ASSERT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(again.body.at("results")[0].at("status"), "rejected") << again.raw;
  EXPECT_EQ(again.body.at("results")[0].at("current").at("title"), "Two") << again.raw;
}

// `verify` on a busy server: another member writes all the time, and every
// comparison is still equal (the mirror is compared at the digest's
// position); without that, each write between the pull and the digest was a
// reported mismatch.
TEST_F(Issue10Membership, VerifyOnABusyServerReportsNoFalseMismatch) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = SharedProject(a, b, "editor");
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  ApiClient writer = Rest(a);
  std::thread busy([&] {
    while (!stop) {
      const Resp r = writer.Post("/api/shots", {{"project_id", project}, {"title", "Busy"}});
      if (r.status == 201) ++writes;
    }
  });
  // At least 8 comparisons, and on until 20 writes have landed meanwhile.
  int runs = 0, equal = 0;
  while (runs < 8 || (writes < 20 && runs < 500)) {
    const client::VerifyReport v = b.sync->Verify();
    ++runs;
    if (v.equal) ++equal;
    EXPECT_TRUE(v.equal) << v.ToJson().dump();
    if (HasFailure()) break;
  }
  stop = true;
  busy.join();
  EXPECT_EQ(equal, runs);
  EXPECT_GE(writes, 20);  // the server really was busy while verifying
}

// Compaction commits while pulls run: a client may be rebased (410), but it
// never skips a range: at the end it holds every shot.
TEST_F(Issue10Membership, CompactionRacingPullsNeverSkipsARange) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = SharedProject(a, b, "viewer");
  std::atomic<bool> stop{false};
  std::thread compactor([&] {
    auto conn = server_->Connect();
    while (!stop) server::CompactSyncHistory(*conn, std::chrono::seconds(0));
  });
  ApiClient writer = Rest(a);
  for (int round = 0; round < 15; ++round) {
    for (int i = 0; i < 5; ++i) {
      ASSERT_EQ(writer.Post("/api/shots", {{"project_id", project}, {"title", "S"}}).status, 201);
    }
    b.sync->Sync();
  }
  stop = true;
  compactor.join();
  b.sync->Sync();
  ApiClient as_b = Rest(b);
  EXPECT_EQ(MirrorRows(*b.store, Collection::kShots, project).size(), 75u);
  EXPECT_EQ(MirrorRows(*b.store, Collection::kShots, project), ServerRows(as_b, "shots", project));
  ExpectConverged(b);
}

// A refused delete is undone with its local cascade: the note that pointed
// at the deleted shot points at it again (it had been set null locally).
TEST_F(Issue10Membership, AnUndoneDeleteRestoresTheLinksItsCascadeCleared) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = SharedProject(a, b, "editor");
  const std::string shot =
      a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "Kept"}})["id"];
  const std::string note =
      a.store->Create(Collection::kNotes,
                      {{"project_id", project}, {"title", "About it"}, {"shot_id", shot}})["id"];
  a.sync->Sync();
  b.sync->Sync();
  b.store->Delete(Collection::kShots, shot);  // offline, as an editor
  EXPECT_TRUE(b.store->Get(Collection::kNotes, note).at("shot_id").is_null());
  // Meanwhile the owner makes b a viewer (a role change, not a new
  // membership): the delete will be refused.
  a.sync->AddMember(project, b.email, "viewer");
  const client::SyncReport report = b.sync->Sync();
  EXPECT_EQ(report.rejected, 1);
  EXPECT_EQ(b.store->Get(Collection::kShots, shot).at("title"), "Kept");
  EXPECT_EQ(b.store->Get(Collection::kNotes, note).at("shot_id"), shot);
  ExpectConverged(b);
}

// A transaction left open on the database holds every change committed after
// it began: `sync` says so and fails instead of reporting "up to date", and
// /metrics shows the lag. (Held about a second: the cluster is shared with
// the tests running beside this one.)
TEST_F(Issue10Membership, AHeldBackHorizonIsVisibleAndFailsTheSync) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = SharedProject(a, b, "viewer");
  client::SyncClientOptions quick;
  quick.horizon_patience = std::chrono::milliseconds(500);
  SyncClient impatient(*b.store, quick);
  auto conn = server_->Connect();
  auto held = std::make_unique<pqxx::work>(*conn);
  held->exec("SELECT pg_current_xact_id()");  // takes an xid: the horizon stops here
  ApiClient writer = Rest(a);
  const std::string shot =
      writer.Post("/api/shots", {{"project_id", project}, {"title", "Held"}}).body.at("id");
  const Resp metrics = writer.Get("/metrics");
  const size_t at = metrics.raw.find("\nvemakin_sync_horizon_lag_seconds ");
  ASSERT_NE(at, std::string::npos) << metrics.raw;
  EXPECT_GT(std::stod(metrics.raw.substr(at + 34)), 0.0);
  try {
    impatient.Sync();
    ADD_FAILURE() << "a sync held back by an open transaction reported up to date";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("not up to date"), std::string::npos) << e.what();
  }
  // A watcher parked meanwhile re-checks on a backoff (20 ms doubling to
  // 1 s): a few times in its one-second wait, not fifty.
  auto parked = [&writer] {
    const std::string text = writer.Get("/metrics").raw;
    const size_t p = text.find("\nvemakin_sync_pulls_parked_total ");
    return p == std::string::npos ? 0.0 : std::stod(text.substr(p + 33));
  };
  const double parked_before = parked();
  EXPECT_THROW(impatient.WatchRound(std::chrono::seconds(1)), Error);
  const double parks = parked() - parked_before;
  EXPECT_GE(parks, 2.0);
  EXPECT_LE(parks, 15.0);
  held->abort();
  held.reset();
  impatient.Sync();
  EXPECT_EQ(b.store->Get(Collection::kShots, shot).at("title"), "Held");
}

// A cursor names the database it came from: one from another database (a
// dump restored elsewhere, a rebuilt server under the same URL) gets 410 and
// the client rebases, where it used to stall silently at a position that
// meant nothing there. A cursor written before positions carried it is
// still accepted.
TEST_F(Issue10Membership, ACursorFromAnotherDatabaseLeadsToARebase) {
  Device a = NewAccount("a");
  a.store->Create(Collection::kProjects, {{"name", "Here"}});
  a.sync->Sync();
  ApiClient as_a = Rest(a);
  const Resp old_client = as_a.Get("/api/sync/pull?cursor=");
  ASSERT_EQ(old_client.status, 200) << old_client.raw;
  EXPECT_EQ(old_client.body.at("cursor").get<std::string>().find('@'), std::string::npos)
      << "a client that did not ask got a position it cannot read";
  const Resp here = as_a.Get("/api/sync/pull?cursor=&positions=2");
  ASSERT_EQ(here.status, 200) << here.raw;
  const std::string cursor = here.body.at("cursor");
  const size_t at = cursor.find('@');
  ASSERT_NE(at, std::string::npos) << cursor;
  EXPECT_EQ(as_a.Get("/api/sync/pull?cursor=" + cursor.substr(0, at)).status, 200);
  EXPECT_EQ(as_a.Get("/api/sync/pull?cursor=" + cursor.substr(0, at) + "%40" + std::string(16, 'f'))
                .status,
            410);
  // The same account on another database (its server rebuilt, its users
  // registered again): this cursor is refused with 410, which a client
  // answers by rebasing (SyncSession.A410RebasesOntoAFreshSnapshot…).
  TestServer elsewhere;
  ApiClient there(elsewhere.port());
  ASSERT_EQ(
      there.Post("/api/auth/register", {{"email", a.email}, {"password", kPassword}, {"name", "a"}})
          .status,
      201);
  const Resp login = there.Post("/api/auth/login", {{"email", a.email}, {"password", kPassword}});
  ASSERT_EQ(login.status, 200) << login.raw;
  there.token = login.body.at("token");
  const Resp foreign =
      there.Get("/api/sync/pull?cursor=" + cursor.substr(0, at) + "%40" + cursor.substr(at + 1));
  EXPECT_EQ(foreign.status, 410) << foreign.raw;
  EXPECT_TRUE(foreign.body.at("detail").is_string());
}

// The catalog is data of the product: an update of it (a new edition of the
// seed, an operator's fix) reaches the server's cached copy within about a
// second and every client by pull, where the cache used to keep the first
// copy until a restart.
TEST_F(Issue10Membership, ACatalogUpdateReachesTheCacheAndTheClients) {
  Device a = NewAccount("a");
  const std::string renamed = "Renamed Brand " + RandomUuid().substr(0, 8);
  std::string brand;
  {
    auto conn = server_->Connect();
    pqxx::work tx(*conn);
    brand = tx.exec1("SELECT id::text FROM gear_brands ORDER BY name LIMIT 1")[0].as<std::string>();
    tx.exec_params("UPDATE gear_brands SET name = $1 WHERE id = $2::uuid", renamed, brand);
    tx.commit();
  }
  ApiClient as_a = Rest(a);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool served = false;
  while (!served && std::chrono::steady_clock::now() < deadline) {
    const Resp r = as_a.Get("/api/catalog/brands?limit=1000");
    ASSERT_EQ(r.status, 200) << r.raw;
    for (const json& b : r.body.at("items")) served = served || b.at("name") == renamed;
  }
  EXPECT_TRUE(served) << "the cached catalog never showed the update";
  a.sync->Sync();
  bool pulled = false;
  client::ListQuery q;
  q.limit = 1000;
  for (const json& b : a.store->Catalog(core::Entity::kGearBrand, q).items) {
    pulled = pulled || (b.at("id") == brand && b.at("name") == renamed);
  }
  EXPECT_TRUE(pulled);
  ExpectConverged(a);
}

// Racing the delete: a create of the id while the project's delete is not
// yet committed waits for it, then sees the id retired (409). Before, the
// insert's uniqueness check waited for the delete and then succeeded, so an
// account that knew the id could take it over at the moment it was deleted.
TEST_F(Issue10Membership, ACreateRacingTheDeleteOfItsIdIsRefused) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = a.store->Create(Collection::kProjects, {{"name", "Going"}})["id"];
  a.sync->Sync();
  auto conn = server_->Connect();
  pqxx::work deleting(*conn);
  deleting.exec_params("DELETE FROM projects WHERE id = $1::uuid", project);
  ApiClient as_b = Rest(b);
  Resp answer;
  std::thread racer([&] {
    answer = as_b.Post("/api/projects", {{"id", project}, {"name", "Mine now"}});
  });
  // Commit once the racer's insert is waiting on the delete's lock.
  auto watch = server_->Connect();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool waiting = false;
  while (!waiting && std::chrono::steady_clock::now() < deadline) {
    pqxx::nontransaction q(*watch);
    waiting = q.exec1(
                   "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                   "AND datname = current_database() AND query LIKE 'INSERT INTO projects%'")[0]
                  .as<long long>() > 0;
  }
  EXPECT_TRUE(waiting);
  deleting.commit();
  racer.join();
  EXPECT_EQ(answer.status, 409) << answer.raw;
  EXPECT_EQ(as_b.Get("/api/projects/" + project).status, 404);
}

}  // namespace
}  // namespace vemakin::testing
