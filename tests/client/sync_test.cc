// The sync session against a scripted in-memory Transport: which requests it
// sends, and what it does with well-formed, rejecting and malformed answers,
// without a server.
#include "vemakin/client/sync.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <memory>
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

// Answers each request with the next scripted reply (in order) and records it.
class ScriptedTransport : public Transport {
 public:
  struct Step {
    std::string method;
    std::string path_prefix;
    int status;
    std::string body;
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

}  // namespace
}  // namespace vemakin::client
