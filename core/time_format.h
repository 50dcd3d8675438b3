// Wire formats of time values (SPEC.md section 1): timestamps are UTC ISO 8601
// with `Z`, dates `YYYY-MM-DD`, times of day `HH:MM`. Pure functions, no I/O,
// no locale and no time zone database: safe from any thread.
#ifndef VEMAKIN_CORE_TIME_FORMAT_H_
#define VEMAKIN_CORE_TIME_FORMAT_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vemakin {

// Microseconds since the Unix epoch, UTC: PostgreSQL's timestamptz precision.
using UnixMicros = std::int64_t;

// "2026-11-26T14:34:09.123456Z": always six fraction digits, so the text sorts
// in time order and one instant has exactly one spelling.
std::string FormatTimestamp(UnixMicros micros);
std::string FormatTimestamp(std::chrono::system_clock::time_point tp);

// Accepts ISO 8601 / RFC 3339 and PostgreSQL's text output:
// "YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]](Z|z|+HH|+HH:MM|+HHMM|-…)". Fractions
// beyond microseconds are truncated. Returns nullopt for anything else,
// including out-of-range fields and a missing zone (local time is ambiguous).
std::optional<UnixMicros> ParseTimestamp(std::string_view text);

// "YYYY-MM-DD" naming a real calendar day (leap years included), years 0001-9999.
bool IsValidDate(std::string_view text);
// "HH:MM" with HH 00-23 and MM 00-59.
bool IsValidTimeOfDay(std::string_view text);

// Days since 1970-01-01 of a proleptic Gregorian date (no validation).
std::int64_t DaysFromCivil(int year, unsigned month, unsigned day);

}  // namespace vemakin

#endif  // VEMAKIN_CORE_TIME_FORMAT_H_
