// Randomized, model-checked convergence (SPEC.md section 4.5) on the suite's
// server, with device c on a second server instance over the same database
// (tests/e2e/convergence_world.h).
#include <gtest/gtest.h>

#include "tests/e2e/convergence_world.h"

namespace vemakin::testing {
namespace {

using SyncConvergence = SyncFixture;

TEST_F(SyncConvergence, RandomOfflineEditsConvergeToTheServerForManySeeds) {
  for (unsigned seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    WorldOptions options;
    options.urls = {"", "", SyncFixture::SecondUrl()};  // c talks to a second instance
    World world(*this, rng, options);
    world.Build();
    for (int i = 0; i < 250; ++i) world.Step();
    world.Converge();
    world.Check();
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace vemakin::testing
