// The abuse limits' building blocks (server/auth.h, server/http_request.h):
// fixed windows with reservation and backoff under a test clock, and the key
// a client address is limited by. No database.
#include "server/auth.h"

#include <gtest/gtest.h>

#include "server/http_request.h"

namespace vemakin::server {
namespace {

using namespace std::chrono_literals;

class FakeClock {
 public:
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point(1000h);
  std::function<std::chrono::steady_clock::time_point()> Fn() {
    return [this] { return now; };
  }
};

TEST(RateLimiter, ReservationsNeverExceedTheLimitAndRefundsGiveThemBack) {
  FakeClock clock;
  RateLimiter limiter(3, 60s);
  limiter.TestOnlySetClock(clock.Fn());
  EXPECT_TRUE(limiter.Reserve("k"));
  EXPECT_TRUE(limiter.Reserve("k"));
  EXPECT_TRUE(limiter.Reserve("k"));
  EXPECT_FALSE(limiter.Reserve("k"));  // counted nothing
  EXPECT_TRUE(limiter.Reserve("other"));
  limiter.Refund("k");
  EXPECT_TRUE(limiter.Reserve("k"));
  EXPECT_FALSE(limiter.Reserve("k"));
  EXPECT_EQ(limiter.RetryAfter("k"), 61);
  clock.now += 60s;
  EXPECT_TRUE(limiter.Reserve("k"));  // a new window
}

TEST(RateLimiter, EveryLimitOfFailuresDoublesTheNextWindowUntilAReset) {
  FakeClock clock;
  RateLimiter limiter(2, 60s, 200s);
  limiter.TestOnlySetClock(clock.Fn());
  auto use_up = [&] {
    EXPECT_TRUE(limiter.Reserve("k"));
    EXPECT_TRUE(limiter.Reserve("k"));
    EXPECT_FALSE(limiter.Reserve("k"));
  };
  use_up();
  clock.now += 60s;
  use_up();  // the second window: 120 s
  EXPECT_EQ(limiter.RetryAfter("k"), 121);
  clock.now += 119s;
  EXPECT_FALSE(limiter.Reserve("k"));
  clock.now += 1s;
  use_up();  // the third: 240 s, capped at 200 s
  EXPECT_EQ(limiter.RetryAfter("k"), 201);
  clock.now += 200s;
  EXPECT_TRUE(limiter.Reserve("k"));
  EXPECT_EQ(limiter.RetryAfter("k"), 201);  // failures still count: no way back but a success
  limiter.Reset("k");
  EXPECT_TRUE(limiter.Reserve("k"));
  EXPECT_EQ(limiter.RetryAfter("k"), 61);
}

TEST(RateLimiter, SpreadingFailuresThinlyDoesNotEscapeTheBackoff) {
  FakeClock clock;
  RateLimiter limiter(2, 60s, 3600s);
  limiter.TestOnlySetClock(clock.Fn());
  EXPECT_TRUE(limiter.Reserve("k"));  // one per window, never using one up
  clock.now += 60s;
  EXPECT_TRUE(limiter.Reserve("k"));
  EXPECT_EQ(limiter.RetryAfter("k"), 61);
  clock.now += 60s;
  EXPECT_TRUE(limiter.Reserve("k"));  // two failures so far: this window is 120 s
  EXPECT_EQ(limiter.RetryAfter("k"), 121);
  limiter.Refund("k");  // an attempt that could not count does not drive it
  clock.now += 120s;
  EXPECT_TRUE(limiter.Reserve("k"));
  EXPECT_EQ(limiter.RetryAfter("k"), 121);
}

TEST(RateLimiter, AReservationIsGivenBackUnlessKept) {
  FakeClock clock;
  RateLimiter limiter(1, 60s);
  limiter.TestOnlySetClock(clock.Fn());
  {
    RateLimiter::Reservation unit = limiter.TryReserve("k");
    ASSERT_TRUE(unit);
    EXPECT_FALSE(limiter.TryReserve("k"));  // the one unit is out
  }                                         // ...and back
  {
    RateLimiter::Reservation moved;
    {
      RateLimiter::Reservation unit = limiter.TryReserve("k");
      moved = std::move(unit);  // the moved-from one gives back nothing
    }
    EXPECT_FALSE(limiter.TryReserve("k"));
    moved.Keep();
  }
  EXPECT_FALSE(limiter.TryReserve("k"));  // kept: spent for the window
  clock.now += 60s;
  EXPECT_TRUE(limiter.TryReserve("k"));
}

TEST(RateLimiter, AllowCountsEveryAttempt) {
  FakeClock clock;
  RateLimiter limiter(2, 10s);
  limiter.TestOnlySetClock(clock.Fn());
  EXPECT_TRUE(limiter.Allow("k"));
  EXPECT_TRUE(limiter.Allow("k"));
  EXPECT_FALSE(limiter.Allow("k"));
  EXPECT_FALSE(limiter.Allow("k"));
  clock.now += 10s;
  EXPECT_TRUE(limiter.Allow("k"));
}

TEST(ClientKey, GroupsIpv6ByItsSlash64AndUnmapsIpv4) {
  EXPECT_EQ(ClientKey("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(ClientKey("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(ClientKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientKey("2001:db8:1:2::1"), ClientKey("2001:db8:1:2:ffff::9"));
  EXPECT_NE(ClientKey("2001:db8:1:2::1"), ClientKey("2001:db8:1:3::1"));
  EXPECT_EQ(ClientKey("::1"), "::/64");
  EXPECT_EQ(ClientKey(""), "");
  EXPECT_EQ(ClientKey("not an address"), "not an address");
}

}  // namespace
}  // namespace vemakin::server
