// Issue 13 (found by the adversarial review of the push changes): a push
// whose rejected mutation quoted a NUL back in its detail (an unknown field
// named "x\u0000") failed whole with 422: the server keeps every result as
// jsonb, PostgreSQL refuses \u0000 there, so the valid mutations beside it
// were refused too, and every retry failed the same way (SPEC.md 4.6: the
// queue never blocks). The detail now carries U+FFFD instead.
#include <gtest/gtest.h>

#include "tests/e2e/api_test_support.h"

namespace vemakin::testing {
namespace {

class Issue13PushNul : public ServerSuite {};

TEST_F(Issue13PushNul, ARejectionQuotingANulDoesNotFailThePush) {
  ApiClient c(server_->port());
  c.Register();
  const std::string project = c.Post("/api/projects", {{"name", "P"}}).body.at("id");
  const std::string good = RandomUuid(), bad = RandomUuid(), client = RandomUuid();
  const std::string body =
      R"({"client_id":")" + client + R"(","mutations":[)" + R"({"mutation_id":")" + RandomUuid() +
      R"(","table":"shots","op":"create","id":")" + good + R"(","fields":{"project_id":")" +
      project + R"(","title":"Good"}},)" + R"({"mutation_id":")" + RandomUuid() +
      R"(","table":"shots","op":"create","id":")" + bad + R"(","fields":{"project_id":")" +
      project + R"(","title":"Bad","x\u0000":1}}]})";
  for (int attempt = 0; attempt < 2; ++attempt) {  // the retry replays the same answers
    const Resp r = c.PostRaw("/api/sync/push", body);
    ASSERT_EQ(r.status, 200) << r.raw;
    const json& results = r.body.at("results");
    ASSERT_EQ(results.size(), 2u) << r.raw;
    EXPECT_EQ(results[0].at("status"), "applied");
    EXPECT_EQ(results[1].at("status"), "rejected");
    EXPECT_EQ(results[1].at("http_status"), 422);
    EXPECT_EQ(r.raw.find("\\u0000"), std::string::npos) << r.raw;
    EXPECT_EQ(results[0].contains("replayed"), attempt == 1) << r.raw;
  }
  EXPECT_EQ(c.Get("/api/shots/" + good).body.at("title"), "Good");
  EXPECT_EQ(c.Get("/api/shots/" + bad).status, 404);
}

}  // namespace
}  // namespace vemakin::testing
