// The sync session against a scripted in-memory Transport: which requests it
// sends, and what it does with well-formed, rejecting and malformed answers,
// without a server.
#include "vemakin/client/sync.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/transport.h"
#include "core/error.h"
#include "vemakin/client/store.h"

namespace vemakin::client {
namespace {

using nlohmann::json;

constexpr char kUser[] = "0b9a4a5e-2a44-4c1e-9d51-3f4f6f2b7c11";
constexpr char kBrand[] = "6f1d2c3b-4a59-4e8d-8c7b-1a2b3c4d5e6f";
constexpr char kStamp[] = "2026-03-01T10:00:00.000000Z";

// Answers each request with the next scripted reply (in order) and records it.
class ScriptedTransport : public Transport {
 public:
  struct Step {
    std::string method;
    std::string path_prefix;
    int status;
    std::string body;
    bool lost = false;  // the server got the request, its answer never arrives
    std::function<void()> meanwhile = nullptr;  // runs while the request is in flight
  };

  ScriptedTransport(std::deque<Step> steps, std::vector<TransportRequest>* seen)
      : steps_(std::move(steps)), seen_(seen) {}

  TransportResponse Exchange(const TransportRequest& request) override {
    seen_->push_back(request);
    if (steps_.empty())
      throw Error(ErrorCode::kUnavailable, "no scripted reply for " + request.path);
    Step step = steps_.front();
    steps_.pop_front();
    EXPECT_EQ(request.method, step.method) << request.path;
    EXPECT_EQ(request.path.rfind(step.path_prefix, 0), 0u) << request.path;
    if (step.meanwhile) step.meanwhile();
    if (step.lost) throw Error(ErrorCode::kUnavailable, "connection lost");
    TransportResponse r;
    r.status = step.status;
    r.body = step.body;
    r.bytes_received = static_cast<long long>(r.body.size());
    return r;
  }

 private:
  std::deque<Step> steps_;
  std::vector<TransportRequest>* seen_;
};

std::string LoginReply() {
  return json{{"user", {{"id", kUser}, {"email", "a@example.com"}}}, {"token", "t0k3n"}}.dump();
}

// Sign-in, then the first sync's snapshot (one page) and its pull.
std::deque<ScriptedTransport::Step> SignInSteps() {
  const json page = {
      {"cursor", "7.3"},
      {"estimate", 1},
      {"tables",
       {{{"table", "gear_brands"}, {"rows", {{{"id", kBrand}, {"name", "Scripted Brand"}}}}}}},
      {"next", nullptr}};
  const json pull = {
      {"changes", json::array()}, {"cursor", "7.3"}, {"has_more", false}, {"latest", "7.3"}};
  return {{"POST", "/api/auth/login", 200, LoginReply()},
          {"GET", "/api/sync/snapshot?limit=", 200, page.dump()},
          {"GET", "/api/sync/pull?cursor=7.3&", 200, pull.dump()}};
}

std::unique_ptr<Store> OpenStore() {
  ClientOptions o;
  o.path = ":memory:";
  return Store::Open(o);
}

TEST(SyncSession, SignInLoadsTheSnapshotThenPullsFromItsCursor) {
  auto store = OpenStore();
  SyncClient sync(*store);
  std::vector<TransportRequest> seen;
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(SignInSteps(), &seen));
  const json user = sync.Login("http://scripted", "a@example.com", "password");
  EXPECT_EQ(user.at("id"), kUser);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_FALSE(seen[0].bearer.has_value());  // sign-ins carry no token
  EXPECT_EQ(seen[1].bearer, std::optional<std::string>("t0k3n"));
  EXPECT_EQ(store->Status().cursor, std::optional<std::string>("7.3"));
  EXPECT_EQ(store->Status().owner_id, kUser);
  EXPECT_EQ(sync.last_report().snapshot_rows, 1);
  const ListPage brands = store->Catalog(core::Entity::kGearBrand, ListQuery{});
  bool found = false;
  for (const json& b : brands.items) found = found || b.at("id") == kBrand;
  EXPECT_TRUE(found);
}

TEST(SyncSession, APushRejectedAsNotFoundIsAnOrphanedConflictAndTheRowIsUndone) {
  auto store = OpenStore();
  SyncClient sync(*store);
  std::vector<TransportRequest> seen;
  std::deque<ScriptedTransport::Step> steps = SignInSteps();
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(steps, &seen));
  sync.Login("http://scripted", "a@example.com", "password");
  const json project = store->Create(Collection::kProjects, {{"name", "Film"}});
  const std::string id = project.at("id");
  const std::string mutation = store->Outbox().at(0).mutation_id;
  const json results = {{"results",
                         {{{"mutation_id", mutation},
                           {"status", "rejected"},
                           {"code", "not_found"},
                           {"detail", "project gone"},
                           {"current", nullptr}}}}};
  const json pull = {
      {"changes", json::array()}, {"cursor", "7.4"}, {"has_more", false}, {"latest", "7.4"}};
  seen.clear();
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{{"POST", "/api/sync/push", 200, results.dump()},
                                          {"GET", "/api/sync/pull?cursor=7.3&", 200, pull.dump()}},
      &seen));
  const SyncReport report = sync.Sync();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].gzip);
  const json pushed = json::parse(seen[0].body);
  EXPECT_EQ(pushed.at("client_id"), store->Status().client_id);
  ASSERT_EQ(pushed.at("mutations").size(), 1u);
  EXPECT_EQ(pushed.at("mutations")[0].at("op"), "create");
  EXPECT_EQ(pushed.at("mutations")[0].at("table"), "projects");
  EXPECT_EQ(pushed.at("mutations")[0].at("id"), id);
  EXPECT_EQ(report.rejected, 1);
  EXPECT_EQ(report.cursor, "7.4");
  const std::vector<Conflict> conflicts = sync.Conflicts();
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].kind, "orphaned");
  EXPECT_EQ(conflicts[0].reason, "project gone");
  EXPECT_EQ(conflicts[0].detail.at("http_status"), 404);
  EXPECT_EQ(store->Status().pending_mutations, 0);
  EXPECT_THROW(store->Get(Collection::kProjects, id), Error);  // undone
}

TEST(SyncSession, AMalformedPushAnswerKeepsTheOutbox) {
  auto store = OpenStore();
  SyncClient sync(*store);
  std::vector<TransportRequest> seen;
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(SignInSteps(), &seen));
  sync.Login("http://scripted", "a@example.com", "password");
  store->Create(Collection::kProjects, {{"name", "Film"}});
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{
          {"POST", "/api/sync/push", 200, R"({"results": [{"status": "maybe"}]})"}},
      &seen));
  try {
    sync.Sync();
    FAIL() << "a malformed push answer was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("push refused"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store->Status().pending_mutations, 1);
}

TEST(SyncSession, AMalformedPullAnswerIsUnavailableAndMovesNoCursor) {
  auto store = OpenStore();
  SyncClient sync(*store);
  std::vector<TransportRequest> seen;
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(SignInSteps(), &seen));
  sync.Login("http://scripted", "a@example.com", "password");
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{
          {"GET", "/api/sync/pull?cursor=7.3&", 200, R"({"changes": [], "cursor": "x.y"})"}},
      &seen));
  try {
    sync.PullOnly();
    FAIL() << "a malformed pull answer was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
  }
  EXPECT_EQ(store->Status().cursor, std::optional<std::string>("7.3"));
}

// A project of kUser's as the server renders it, and its owner membership.
json ProjectRow(const std::string& id, const std::string& name) {
  return {{"id", id},
          {"user_id", kUser},
          {"name", name},
          {"created_at", kStamp},
          {"updated_at", kStamp}};
}
json OwnerRow(const std::string& project) {
  return {{"project_id", project}, {"user_id", kUser}, {"role", "owner"}, {"created_at", kStamp}};
}
json ShotRow(const std::string& id, const std::string& project, const std::string& title) {
  return {{"id", id},
          {"project_id", project},
          {"title", title},
          {"description", ""},
          {"status", "pending"},
          {"date", nullptr},
          {"start_time", nullptr},
          {"duration", ""},
          {"location", ""},
          {"location_lat", nullptr},
          {"location_lng", nullptr},
          {"remarks", nullptr},
          {"scene_number", nullptr},
          {"equipment_ids", json::array()},
          {"prepared_equipment_ids", json::array()},
          {"created_at", kStamp},
          {"updated_at", kStamp}};
}
std::string SnapshotOf(const json& tables, const std::string& cursor,
                       const std::optional<std::string>& next) {
  return json{{"cursor", cursor},
              {"estimate", 10},
              {"tables", tables},
              {"next", next ? json(*next) : json()}}
      .dump();
}
std::string PullOf(const json& changes, const std::string& cursor) {
  return json{{"changes", changes}, {"cursor", cursor}, {"has_more", false}, {"latest", cursor}}
      .dump();
}
// The ids of a list, sorted.
std::vector<std::string> Ids(const ListPage& page) {
  std::vector<std::string> out;
  for (const json& row : page.items) out.push_back(row.at("id"));
  std::sort(out.begin(), out.end());
  return out;
}

constexpr char kP1[] = "11111111-1111-4111-8111-111111111111";
constexpr char kP2[] = "22222222-2222-4222-8222-222222222222";
constexpr char kShot[] = "33333333-3333-4333-8333-333333333333";

TEST(SyncSession, A410RebasesOntoAFreshSnapshotKeepingPendingWork) {
  auto store = OpenStore();
  SyncClient sync(*store);
  std::vector<TransportRequest> seen;
  const json both = {
      {{"table", "projects"}, {"rows", {ProjectRow(kP1, "One"), ProjectRow(kP2, "Two")}}},
      {{"table", "project_members"}, {"rows", {OwnerRow(kP1), OwnerRow(kP2)}}}};
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{
          {"POST", "/api/auth/login", 200, LoginReply()},
          {"GET", "/api/sync/snapshot?limit=", 200, SnapshotOf(both, "7.3", std::nullopt)},
          {"GET", "/api/sync/pull?cursor=7.3&", 200, PullOf(json::array(), "7.3")}},
      &seen));
  sync.Login("http://scripted", "a@example.com", "password");
  ASSERT_EQ(Ids(store->List(Collection::kProjects, ListQuery{})),
            (std::vector<std::string>{kP1, kP2}));
  const std::string local = store->Create(Collection::kProjects, {{"name", "Offline"}}).at("id");
  store->Update(Collection::kProjects, kP1, {{"name", "One, renamed offline"}});
  // Behind the horizon: the fresh snapshot no longer has P2 (deleted while
  // this client was away) and has P1 under its server name.
  const json only_p1 = {{{"table", "projects"}, {"rows", {ProjectRow(kP1, "One")}}},
                        {{"table", "project_members"}, {"rows", {OwnerRow(kP1)}}}};
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{
          {"GET", "/api/sync/pull?cursor=7.3&", 410, R"({"detail": "behind the horizon"})"},
          {"GET", "/api/sync/snapshot?limit=", 200, SnapshotOf(only_p1, "9.1", std::nullopt)},
          {"GET", "/api/sync/pull?cursor=9.1&", 200, PullOf(json::array(), "9.1")}},
      &seen));
  const SyncReport report = sync.PullOnly();
  EXPECT_TRUE(report.rebased);
  EXPECT_EQ(report.cursor, "9.1");
  std::vector<std::string> expected = {kP1, local};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Ids(store->List(Collection::kProjects, ListQuery{})), expected);  // P2 pruned
  // The pending rename is re-applied on top of the server's row.
  EXPECT_EQ(store->Get(Collection::kProjects, kP1).at("name"), "One, renamed offline");
  EXPECT_EQ(store->Status().pending_mutations, 2);
}

TEST(SyncSession, AChildBeforeItsProjectLoadsTheWholeProjectFirst) {
  auto store = OpenStore();
  SyncClient sync(*store);
  std::vector<TransportRequest> seen;
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(SignInSteps(), &seen));
  sync.Login("http://scripted", "a@example.com", "password");
  // Invited to P1 after the cursor: the first change seen is one of its shots.
  const json change = {{"table", "shots"},
                       {"id", kShot},
                       {"op", "upsert"},
                       {"data", ShotRow(kShot, kP1, "Scene 1")}};
  const json project = {{{"table", "projects"}, {"rows", {ProjectRow(kP1, "Shared")}}},
                        {{"table", "project_members"}, {"rows", {OwnerRow(kP1)}}},
                        {{"table", "shots"}, {"rows", {ShotRow(kShot, kP1, "Scene 1")}}}};
  seen.clear();
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{
          {"GET", "/api/sync/pull?cursor=7.3&", 200, PullOf(json::array({change}), "7.5")},
          {"GET", std::string("/api/sync/snapshot?project=") + kP1 + "&limit=", 200,
           SnapshotOf(project, "7.5", std::nullopt)},
          {"GET", "/api/sync/pull?cursor=7.5&", 200, PullOf(json::array(), "7.5")}},
      &seen));
  const SyncReport report = sync.PullOnly();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(report.snapshot_rows, 3);
  EXPECT_EQ(store->Get(Collection::kProjects, kP1).at("name"), "Shared");
  EXPECT_EQ(store->Get(Collection::kShots, kShot).at("title"), "Scene 1");
  EXPECT_EQ(report.cursor, "7.5");
}

TEST(SyncSession, AClaimIsRetriedAfterALostAnswerWithTheSameMutations) {
  auto store = OpenStore();
  const std::string project =
      store->Create(Collection::kProjects, {{"name", "Guest film"}}).at("id");
  store->Create(Collection::kShots, {{"project_id", project}, {"title", "Guest shot"}});
  SyncClient sync(*store);
  std::vector<TransportRequest> seen;
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{{"POST", "/api/auth/login", 200, LoginReply()},
                                          {"POST", "/api/sync/push", 0, "", true}},
      &seen));
  try {
    sync.Login("http://scripted", "a@example.com", "password");
    FAIL() << "a lost push answer went unnoticed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
  }
  // Claimed: the account owns the guest rows; the upload is still pending.
  EXPECT_EQ(store->Status().owner_id, kUser);
  EXPECT_EQ(store->Get(Collection::kProjects, project).at("user_id"), kUser);
  ASSERT_EQ(store->Status().pending_mutations, 2);
  const json first_push = json::parse(seen.at(1).body);
  json results = json::array();
  for (const json& m : first_push.at("mutations")) {
    results.push_back({{"mutation_id", m.at("mutation_id")}, {"status", "applied"}});
  }
  const json server_rows = {{{"table", "projects"}, {"rows", {ProjectRow(project, "Guest film")}}},
                            {{"table", "project_members"}, {"rows", {OwnerRow(project)}}}};
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{
          {"POST", "/api/sync/push", 200, json{{"results", results}}.dump()},
          {"GET", "/api/sync/snapshot?limit=", 200, SnapshotOf(server_rows, "8.0", std::nullopt)},
          {"GET", "/api/sync/pull?cursor=8.0&", 200, PullOf(json::array(), "8.0")}},
      &seen));
  const SyncReport report = sync.Sync();
  EXPECT_EQ(json::parse(seen.at(2).body).at("mutations"), first_push.at("mutations"));
  EXPECT_EQ(report.pushed, 2);
  EXPECT_EQ(store->Status().pending_mutations, 0);
  EXPECT_EQ(store->List(Collection::kProjects, ListQuery{}).total, 1);
}

TEST(SyncSession, ASnapshotPageCommitsWithItsPositionAndAResumeAsksForTheNext) {
  auto store = OpenStore();
  SyncClient sync(*store);
  std::vector<TransportRequest> seen;
  const json page1 = {{{"table", "projects"}, {"rows", {ProjectRow(kP1, "One")}}},
                      {{"table", "project_members"}, {"rows", {OwnerRow(kP1)}}}};
  // The second page's request finds no server: the first page stays applied.
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{{"POST", "/api/auth/login", 200, LoginReply()},
                                          {"GET", "/api/sync/snapshot?limit=", 200,
                                           SnapshotOf(page1, "7.3", "p~" + std::string(kP1))}},
      &seen));
  EXPECT_THROW(sync.Login("http://scripted", "a@example.com", "password"), Error);
  EXPECT_EQ(store->Get(Collection::kProjects, kP1).at("name"), "One");
  EXPECT_EQ(store->Status().cursor, std::nullopt);  // not up to date yet
  const json page2 = {{{"table", "projects"}, {"rows", {ProjectRow(kP2, "Two")}}},
                      {{"table", "project_members"}, {"rows", {OwnerRow(kP2)}}}};
  seen.clear();
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{
          {"GET", "/api/sync/snapshot?limit=", 200, SnapshotOf(page2, "7.9", std::nullopt)},
          {"GET", "/api/sync/pull?cursor=7.3&", 200, PullOf(json::array(), "7.3")}},
      &seen));
  const SyncReport report = sync.Sync();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].path.find(std::string("&after=p~") + kP1), std::string::npos) << seen[0].path;
  EXPECT_EQ(report.snapshot_rows, 2);
  // Pulls start where the snapshot's first page was taken, not its last.
  EXPECT_EQ(report.cursor, "7.3");
  EXPECT_EQ(Ids(store->List(Collection::kProjects, ListQuery{})),
            (std::vector<std::string>{kP1, kP2}));
}

TEST(SyncSession, ALogoutDuringAPullKeepsNothingOfTheOldAccount) {
  auto store = OpenStore();
  SyncClient sync(*store);
  std::vector<TransportRequest> seen;
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(SignInSteps(), &seen));
  sync.Login("http://scripted", "a@example.com", "password");
  // While the pull is in flight, another SyncClient of the store signs out.
  SyncClient other(*store);
  other.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{{"POST", "/api/auth/logout", 204, ""}}, &seen));
  const json change = {{"table", "projects"},
                       {"id", kP1},
                       {"op", "upsert"},
                       {"data", ProjectRow(kP1, "The old account's")}};
  ScriptedTransport::Step pull{"GET", "/api/sync/pull?cursor=7.3&", 200,
                               PullOf(json::array({change}), "7.9")};
  pull.meanwhile = [&other] { other.Logout(true); };
  sync.TestOnlySetTransport(
      std::make_unique<ScriptedTransport>(std::deque<ScriptedTransport::Step>{pull}, &seen));
  try {
    sync.PullOnly();
    FAIL() << "a pull applied its changes to the store that replaced its account's";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition) << e.what();
  }
  const StoreStatus status = store->Status();
  EXPECT_FALSE(status.account.has_value());
  EXPECT_FALSE(status.cursor.has_value());
  EXPECT_NE(status.owner_id, kUser);
  EXPECT_EQ(store->List(Collection::kProjects, ListQuery{}).total, 0);
}

// Another SyncClient of the store signs out and in to another server: this
// one's next round takes the new sign-in's token with its server, and never
// sends the first server's token to the second (issue 14's review, H2).
TEST(SyncSession, ATokenIsOnlyEverSentToTheServerThatIssuedIt) {
  auto store = OpenStore();
  SyncClient sync(*store);
  std::vector<TransportRequest> seen;
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(SignInSteps(), &seen));
  sync.Login("http://first", "a@example.com", "password");
  SyncClient other(*store);
  std::deque<ScriptedTransport::Step> elsewhere = SignInSteps();
  elsewhere.front().body =
      json{{"user", {{"id", kUser}, {"email", "a@example.com"}}}, {"token", "s3cond"}}.dump();
  elsewhere.push_front({"POST", "/api/auth/logout", 204, ""});
  other.TestOnlySetTransport(std::make_unique<ScriptedTransport>(elsewhere, &seen));
  other.Logout(true);
  other.Login("http://second", "a@example.com", "password");
  const json pull = {
      {"changes", json::array()}, {"cursor", "7.3"}, {"has_more", false}, {"latest", "7.3"}};
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{{"GET", "/api/sync/pull?cursor=7.3&", 200, pull.dump()}},
      &seen));
  seen.clear();
  sync.PullOnly();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].base, "http://second");
  EXPECT_EQ(seen[0].bearer, std::optional<std::string>("s3cond"));
}

// A snapshot page's rows are counted once at its end (schema/sqlite/
// 0007_counts_set_aside.sql), not by a trigger per row: the list total is exact
// after pages that bring new rows and rows already here, and the triggers
// count local writes again afterwards.
TEST(SyncSession, ListTotalsAreExactAfterSnapshotPagesAndCountLocalWritesAgain) {
  auto store = OpenStore();
  SyncClient sync(*store);
  std::vector<TransportRequest> seen;
  const char* shots[] = {"5d1e2f3a-4b5c-4d6e-8f70-000000000001",
                         "5d1e2f3a-4b5c-4d6e-8f70-000000000002",
                         "5d1e2f3a-4b5c-4d6e-8f70-000000000003"};
  const json page1 = {
      {{"table", "projects"}, {"rows", {ProjectRow(kP1, "One")}}},
      {{"table", "project_members"}, {"rows", {OwnerRow(kP1)}}},
      {{"table", "shots"}, {"rows", {ShotRow(shots[0], kP1, "A"), ShotRow(shots[1], kP1, "B")}}}};
  // The second page repeats a row (an update, not a new row) and adds one.
  const json page2 = {{{"table", "shots"},
                       {"rows", {ShotRow(shots[1], kP1, "B again"), ShotRow(shots[2], kP1, "C")}}}};
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{
          {"POST", "/api/auth/login", 200, LoginReply()},
          {"GET", "/api/sync/snapshot?limit=", 200, SnapshotOf(page1, "7.3", "s~x")},
          {"GET", "/api/sync/snapshot?limit=", 200, SnapshotOf(page2, "7.3", std::nullopt)},
          {"GET", "/api/sync/pull?cursor=7.3&", 200, PullOf(json::array(), "7.3")}},
      &seen));
  sync.Login("http://scripted", "a@example.com", "password");
  ListQuery q;
  q.filters["project_id"] = kP1;
  EXPECT_EQ(store->List(Collection::kShots, q).total, 3);
  EXPECT_EQ(store->List(Collection::kShots, q).items.size(), 3u);
  store->Create(Collection::kShots, {{"project_id", kP1}, {"title", "Local"}});
  EXPECT_EQ(store->List(Collection::kShots, q).total, 4);
  store->Delete(Collection::kShots, shots[0]);
  EXPECT_EQ(store->List(Collection::kShots, q).total, 3);
}

// A rebase snapshot brings back a row this store deleted offline (the delete
// still pending): the page inserts it and re-applies the delete on top. The
// list total counts the row once in and once out: exact, where counting the
// page's rows before and after it (the row absent both times) left the
// trigger's decrement uncorrected and the total one short.
TEST(SyncSession, ListTotalsStayExactWhenASnapshotRowHasAPendingDelete) {
  auto store = OpenStore();
  SyncClient sync(*store);
  std::vector<TransportRequest> seen;
  const char* shots[] = {"5d1e2f3a-4b5c-4d6e-8f70-000000000001",
                         "5d1e2f3a-4b5c-4d6e-8f70-000000000002"};
  const json page = {
      {{"table", "projects"}, {"rows", {ProjectRow(kP1, "One")}}},
      {{"table", "project_members"}, {"rows", {OwnerRow(kP1)}}},
      {{"table", "shots"}, {"rows", {ShotRow(shots[0], kP1, "A"), ShotRow(shots[1], kP1, "B")}}}};
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{
          {"POST", "/api/auth/login", 200, LoginReply()},
          {"GET", "/api/sync/snapshot?limit=", 200, SnapshotOf(page, "7.3", std::nullopt)},
          {"GET", "/api/sync/pull?cursor=7.3&", 200, PullOf(json::array(), "7.3")}},
      &seen));
  sync.Login("http://scripted", "a@example.com", "password");
  store->Delete(Collection::kShots, shots[0]);
  ListQuery q;
  q.filters["project_id"] = kP1;
  ASSERT_EQ(store->List(Collection::kShots, q).total, 1);
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{
          {"GET", "/api/sync/pull?cursor=7.3&", 410, R"({"detail": "behind the horizon"})"},
          {"GET", "/api/sync/snapshot?limit=", 200, SnapshotOf(page, "9.1", std::nullopt)},
          {"GET", "/api/sync/pull?cursor=9.1&", 200, PullOf(json::array(), "9.1")}},
      &seen));
  ASSERT_TRUE(sync.PullOnly().rebased);
  EXPECT_EQ(Ids(store->List(Collection::kShots, q)), (std::vector<std::string>{shots[1]}));
  EXPECT_EQ(store->List(Collection::kShots, q).total, 1);
  EXPECT_EQ(store->Status().pending_mutations, 1);
}

// A snapshot page whose position names a project the user has since lost
// (404) restarts the snapshot from its first page instead of failing every
// later sync at the same position.
TEST(SyncSession, ASnapshotPositionThatLostItsProjectRestartsTheSnapshot) {
  auto store = OpenStore();
  SyncClient sync(*store);
  std::vector<TransportRequest> seen;
  const json p1 = {{{"table", "projects"}, {"rows", {ProjectRow(kP1, "One")}}},
                   {{"table", "project_members"}, {"rows", {OwnerRow(kP1)}}}};
  const json p2 = {{{"table", "projects"}, {"rows", {ProjectRow(kP2, "Two")}}},
                   {{"table", "project_members"}, {"rows", {OwnerRow(kP2)}}}};
  sync.TestOnlySetTransport(std::make_unique<ScriptedTransport>(
      std::deque<ScriptedTransport::Step>{
          {"POST", "/api/auth/login", 200, LoginReply()},
          {"GET", "/api/sync/snapshot?limit=", 200,
           SnapshotOf(p1, "7.3", "s~" + std::string(kP1) + "~")},
          {"GET", "/api/sync/snapshot?limit=", 404, R"({"detail": "project not found"})"},
          {"GET", "/api/sync/snapshot?limit=", 200, SnapshotOf(p2, "8.0", std::nullopt)},
          {"GET", "/api/sync/pull?cursor=8.0&", 200, PullOf(json::array(), "8.0")}},
      &seen));
  sync.Login("http://scripted", "a@example.com", "password");
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_NE(seen[2].path.find("&after=s~"), std::string::npos) << seen[2].path;
  EXPECT_EQ(seen[3].path.find("after="), std::string::npos) << seen[3].path;  // from the start
  EXPECT_EQ(store->Status().cursor, std::optional<std::string>("8.0"));
  EXPECT_EQ(store->Get(Collection::kProjects, kP2).at("name"), "Two");
  EXPECT_THROW(store->Get(Collection::kProjects, kP1), Error);  // lost: pruned by the new walk
}

}  // namespace
}  // namespace vemakin::client
