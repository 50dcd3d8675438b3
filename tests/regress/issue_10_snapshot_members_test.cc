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
  // Every stage that names a project is re-authorized: not a member, 404.
  for (const char* stage : {"m", "s", "t", "n"}) {
    const Resp page =
        stranger.Get(std::string("/api/sync/snapshot?after=") + stage + "~" + project + "~");
    EXPECT_EQ(page.status, 404) << stage << ": " << page.raw;
    EXPECT_EQ(page.raw.find("Secret"), std::string::npos) << page.raw;
    EXPECT_EQ(page.raw.find(a.store->Status().owner_id), std::string::npos) << page.raw;
  }
  EXPECT_EQ(stranger.Get("/api/sync/snapshot?project=" + project).status, 404);
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
