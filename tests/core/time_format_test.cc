#include "core/time_format.h"

#include <gtest/gtest.h>

namespace vemakin {
namespace {

TEST(FormatTimestamp, RendersEpochWithSixFractionDigitsAndZ) {
  EXPECT_EQ(FormatTimestamp(UnixMicros{0}), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatTimestamp(UnixMicros{1}), "1970-01-01T00:00:00.000001Z");
}

TEST(FormatTimestamp, HandlesTimesBeforeEpoch) {
  EXPECT_EQ(FormatTimestamp(UnixMicros{-1}), "1969-12-31T23:59:59.999999Z");
}

TEST(FormatTimestamp, RendersLeapDay) {
  const auto t = ParseTimestamp("2024-02-29T12:30:45.250Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatTimestamp(*t), "2024-02-29T12:30:45.250000Z");
}

TEST(ParseTimestamp, AcceptsPostgresTextOutput) {
  const auto t = ParseTimestamp("2026-11-26 14:34:09.123456+00");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatTimestamp(*t), "2026-11-26T14:34:09.123456Z");
}

TEST(ParseTimestamp, AppliesOffsets) {
  EXPECT_EQ(ParseTimestamp("2026-01-01T02:00:00+02:00"), ParseTimestamp("2026-01-01T00:00:00Z"));
  EXPECT_EQ(ParseTimestamp("2025-12-31T23:30:00-0030"), ParseTimestamp("2026-01-01T00:00:00Z"));
}

TEST(ParseTimestamp, TruncatesBeyondMicroseconds) {
  EXPECT_EQ(FormatTimestamp(*ParseTimestamp("2026-01-01T00:00:00.1234569Z")),
            "2026-01-01T00:00:00.123456Z");
}

TEST(ParseTimestamp, AcceptsMissingSeconds) {
  EXPECT_EQ(ParseTimestamp("2026-01-01T10:20Z"), ParseTimestamp("2026-01-01T10:20:00Z"));
}

TEST(ParseTimestamp, RejectsMalformedOrAmbiguousText) {
  for (const char* bad : {"", "2026-01-01", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z",
                          "2023-02-29T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z",
                          "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00Zjunk", "26-01-01T00:00:00Z",
                          "2026-01-01X00:00:00Z", "2026-01-01T00:00:00+25:00"}) {
    EXPECT_FALSE(ParseTimestamp(bad).has_value()) << bad;
  }
}

TEST(ParseTimestamp, RoundTripsThroughFormat) {
  for (UnixMicros t : {UnixMicros{0}, UnixMicros{951782400123456}, UnixMicros{1795000000000001},
                       UnixMicros{-86400000000}, UnixMicros{253402300799999999}}) {
    EXPECT_EQ(ParseTimestamp(FormatTimestamp(t)), t) << t;
  }
}

TEST(IsValidDate, AcceptsRealDaysOnly) {
  EXPECT_TRUE(IsValidDate("2026-11-26"));
  EXPECT_TRUE(IsValidDate("2000-02-29"));
  EXPECT_FALSE(IsValidDate("1900-02-29"));
  EXPECT_FALSE(IsValidDate("2026-04-31"));
  EXPECT_FALSE(IsValidDate("2026-00-10"));
  EXPECT_FALSE(IsValidDate("2026-1-10"));
  EXPECT_FALSE(IsValidDate("0000-01-01"));
  EXPECT_FALSE(IsValidDate("2026-01-01T00:00:00Z"));
  EXPECT_FALSE(IsValidDate(""));
}

TEST(IsValidTimeOfDay, AcceptsHoursAndMinutesOnly) {
  EXPECT_TRUE(IsValidTimeOfDay("00:00"));
  EXPECT_TRUE(IsValidTimeOfDay("23:59"));
  EXPECT_FALSE(IsValidTimeOfDay("24:00"));
  EXPECT_FALSE(IsValidTimeOfDay("12:60"));
  EXPECT_FALSE(IsValidTimeOfDay("9:30"));
  EXPECT_FALSE(IsValidTimeOfDay("09:30:00"));
  EXPECT_FALSE(IsValidTimeOfDay("ab:cd"));
}

}  // namespace
}  // namespace vemakin
