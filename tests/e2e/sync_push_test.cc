// POST /api/sync/push: mutations apply in order, each at most once; refused
// ones are recorded with their reason and do not block the rest.
#include <gtest/gtest.h>

#include "tests/e2e/api_test_support.h"

namespace vemakin::testing {
namespace {

class SyncPush : public ServerSuite {
 protected:
  static json Mutation(const std::string& table, const std::string& op, const std::string& id,
                       json fields = json::object()) {
    return {{"mutation_id", RandomUuid()},
            {"table", table},
            {"op", op},
            {"id", id},
            {"fields", std::move(fields)}};
  }
  static json Push(ApiClient& c, const std::string& client_id, const json& mutations) {
    const Resp r = c.Post("/api/sync/push", {{"client_id", client_id}, {"mutations", mutations}});
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body.value("results", json::array());
  }
  static std::string Statuses(const json& results) {
    std::string out;
    for (const json& r : results) out += r.at("status").get<std::string>() + " ";
    return out;
  }
};

TEST_F(SyncPush, AppliesMutationsInOrder) {
  ApiClient c(server_->port());
  c.Register();
  const std::string client = RandomUuid(), project = RandomUuid(), shot = RandomUuid(),
                    note = RandomUuid();
  const json results =
      Push(c, client,
           {Mutation("projects", "create", project, {{"name", "Offline feature"}}),
            Mutation("shots", "create", shot, {{"project_id", project}, {"title", "Crane"}}),
            Mutation("shots", "update", shot, {{"status", "done"}}),
            Mutation("notes", "create", note, {{"project_id", project}, {"title", "N"}}),
            Mutation("notes", "delete", note)});
  EXPECT_EQ(Statuses(results), "applied applied applied applied applied ");
  EXPECT_EQ(c.Get("/api/shots/" + shot).body.at("status"), "done");
  EXPECT_EQ(c.Get("/api/notes/" + note).status, 404);
  EXPECT_EQ(c.Get("/api/projects/" + project).body.at("name"), "Offline feature");
  const std::string metrics = c.Get("/metrics").raw;
  EXPECT_NE(metrics.find("vemakin_sync_mutations_total{outcome=\"applied\"} "), std::string::npos)
      << metrics;
}

// A retry after a lost response applies nothing again, even when the row has
// changed since: the recorded outcome is returned instead.
TEST_F(SyncPush, ARepeatedMutationAppliesAtMostOnce) {
  ApiClient c(server_->port());
  c.Register();
  const std::string project = c.Post("/api/projects", {{"name", "P"}}).body.at("id");
  const std::string shot =
      c.Post("/api/shots", {{"project_id", project}, {"title", "S"}}).body.at("id");
  const std::string client = RandomUuid();
  const json batch = {Mutation("shots", "update", shot, {{"status", "done"}})};
  EXPECT_EQ(Statuses(Push(c, client, batch)), "applied ");
  ASSERT_EQ(c.Patch("/api/shots/" + shot, {{"status", "pending"}}).status, 200);
  const json again = Push(c, client, batch);
  EXPECT_EQ(Statuses(again), "applied ");
  EXPECT_EQ(again[0].at("replayed"), true);
  EXPECT_EQ(c.Get("/api/shots/" + shot).body.at("status"), "pending");  // not re-applied
  // Another client's mutation with the same id is its own mutation.
  EXPECT_FALSE(Push(c, RandomUuid(), batch)[0].contains("replayed"));
  // The same mutation twice in one push applies once.
  const json twice = Mutation("shots", "update", shot, {{"title", "Twice"}});
  const json both = Push(c, client, {twice, twice});
  EXPECT_EQ(Statuses(both), "applied applied ");
  EXPECT_FALSE(both[0].contains("replayed"));
  EXPECT_EQ(both[1].at("replayed"), true);
}

// One refused mutation inside a push rolls back only itself: the ones before
// and after it in the same push (one server transaction) stay applied.
TEST_F(SyncPush, ARefusalRollsBackOnlyItsOwnMutation) {
  ApiClient c(server_->port());
  c.Register();
  const std::string project = c.Post("/api/projects", {{"name", "P"}}).body.at("id");
  const std::string a = RandomUuid(), b = RandomUuid(), taken = RandomUuid();
  ApiClient other(server_->port());
  other.Register();
  const std::string theirs = other.Post("/api/projects", {{"name", "Theirs"}}).body.at("id");
  ASSERT_EQ(
      other.Post("/api/shots", {{"id", taken}, {"project_id", theirs}, {"title", "T"}}).status,
      201);
  const json results =
      Push(c, RandomUuid(),
           {Mutation("shots", "create", a, {{"project_id", project}, {"title", "A"}}),
            Mutation("shots", "create", taken, {{"project_id", project}, {"title", "Clash"}}),
            Mutation("notes", "create", RandomUuid(),
                     {{"project_id", project}, {"title", "N"}, {"shot_id", RandomUuid()}}),
            Mutation("shots", "create", b, {{"project_id", project}, {"title", "B"}})});
  // The clash is found before writing; the dangling shot_id only by the
  // database: both refused, alone.
  EXPECT_EQ(Statuses(results), "applied rejected rejected applied ");
  EXPECT_EQ(results[2].at("http_status"), 422) << results[2].dump();
  EXPECT_EQ(results[1].at("http_status"), 409) << results[1].dump();
  EXPECT_EQ(results[1].at("current"), nullptr);  // not theirs to see
  EXPECT_EQ(c.Get("/api/shots/" + a).status, 200);
  EXPECT_EQ(c.Get("/api/shots/" + b).status, 200);
  EXPECT_EQ(other.Get("/api/shots/" + taken).body.at("title"), "T");
}

TEST_F(SyncPush, RefusedMutationsAreRecordedAndDoNotBlockTheQueue) {
  ApiClient owner(server_->port()), viewer(server_->port());
  owner.Register();
  viewer.Register();
  const std::string project = owner.Post("/api/projects", {{"name", "P"}}).body.at("id");
  owner.Post("/api/projects/" + project + "/members",
             {{"email", viewer.email}, {"role", "viewer"}});
  const std::string shot =
      owner.Post("/api/shots", {{"project_id", project}, {"title", "S"}}).body.at("id");
  const std::string client = RandomUuid(), gear = RandomUuid();
  const json batch = {
      Mutation("shots", "update", shot, {{"title", "Viewer edit"}}),
      Mutation("shots", "create", RandomUuid(), {{"project_id", project}, {"title", ""}}),
      Mutation("equipment", "create", gear, {{"name", "Own lens"}, {"category", "Lens"}})};
  const json results = Push(viewer, client, batch);
  EXPECT_EQ(Statuses(results), "rejected rejected applied ");
  EXPECT_EQ(results[0].at("http_status"), 403);
  EXPECT_EQ(results[1].at("http_status"), 422);
  EXPECT_EQ(owner.Get("/api/shots/" + shot).body.at("title"), "S");
  EXPECT_EQ(viewer.Get("/api/inventory/" + gear).status, 200);
  EXPECT_EQ(Statuses(Push(viewer, client, batch)), "rejected rejected applied ");
}

TEST_F(SyncPush, UpdatesOfDeletedRowsAreRejectedAndDeletesAreIdempotent) {
  ApiClient c(server_->port());
  c.Register();
  const std::string project = c.Post("/api/projects", {{"name", "P"}}).body.at("id");
  const std::string shot =
      c.Post("/api/shots", {{"project_id", project}, {"title", "S"}}).body.at("id");
  ASSERT_EQ(c.Delete("/api/shots/" + shot).status, 204);
  const json results = Push(c, RandomUuid(),
                            {Mutation("shots", "update", shot, {{"title", "Too late"}}),
                             Mutation("shots", "delete", shot)});
  EXPECT_EQ(Statuses(results), "rejected applied ");
  EXPECT_EQ(results[0].at("http_status"), 404);
}

TEST_F(SyncPush, RefusesAMalformedEnvelope) {
  ApiClient c(server_->port());
  c.Register();
  EXPECT_EQ(c.Post("/api/sync/push", {{"client_id", "x"}, {"mutations", json::array()}}).status,
            422);
  EXPECT_EQ(c.Post("/api/sync/push", {{"client_id", RandomUuid()},
                                      {"mutations",
                                       {{{"mutation_id", RandomUuid()},
                                         {"table", "users"},
                                         {"op", "create"},
                                         {"id", RandomUuid()}}}}})
                .status,
            422);
  ApiClient anonymous(server_->port());
  EXPECT_EQ(
      anonymous.Post("/api/sync/push", {{"client_id", RandomUuid()}, {"mutations", json::array()}})
          .status,
      401);
}

}  // namespace
}  // namespace vemakin::testing
