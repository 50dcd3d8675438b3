// Issue 10: a snapshot position names a project, and the members stage read
// that project's members without checking that the caller is one of them:
// `GET /api/sync/snapshot?after=m~<any project id>~` returned another
// project's member list (user ids, roles) to any signed-in user.
#include <gtest/gtest.h>

#include "tests/e2e/sync_test_support.h"

namespace vemakin::testing {
namespace {

using client::Collection;
using Issue10 = SyncFixture;

TEST_F(Issue10, ASnapshotPositionDoesNotOpenAnotherUsersProject) {
  Device a = NewAccount("a");
  Device b = NewAccount("b");
  const std::string project = a.store->Create(Collection::kProjects, {{"name", "Private"}})["id"];
  a.store->Create(Collection::kShots, {{"project_id", project}, {"title", "Secret"}});
  a.sync->Sync();
  ApiClient stranger = Rest(b);
  for (const char* stage : {"m", "s", "t", "n"}) {
    const Resp page =
        stranger.Get(std::string("/api/sync/snapshot?after=") + stage + "~" + project + "~");
    ASSERT_EQ(page.status, 200) << page.raw;
    for (const json& t : page.body.at("tables")) {
      for (const json& row : t.at("rows")) {
        EXPECT_NE(row.value("project_id", ""), project) << stage << ": " << t.dump();
        EXPECT_NE(row.value("user_id", ""), a.store->Status().owner_id)
            << stage << ": " << t.dump();
      }
    }
  }
  // Its owner still gets them.
  const Resp own = Rest(a).Get("/api/sync/snapshot?after=m~" + project + "~");
  ASSERT_EQ(own.status, 200) << own.raw;
  bool members = false;
  for (const json& t : own.body.at("tables"))
    members = members || t.at("table") == "project_members";
  EXPECT_TRUE(members) << own.raw;
}

}  // namespace
}  // namespace vemakin::testing
