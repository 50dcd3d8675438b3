// Civil-calendar arithmetic after Howard Hinnant's public-domain algorithms
// (days_from_civil / civil_from_days), written out here for C++17.
#include "core/time_format.h"

#include <cstdio>

namespace vemakin {
namespace {

constexpr std::int64_t kMicrosPerSecond = 1000000;
constexpr std::int64_t kSecondsPerDay = 86400;

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

void CivilFromDays(std::int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0));
}

// Reads exactly `n` digits at text[*pos]; advances *pos.
bool ReadDigits(std::string_view text, size_t* pos, int n, int* out) {
  if (*pos + n > text.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

bool ParseDateAt(std::string_view text, size_t* pos, int* y, int* m, int* d) {
  return ReadDigits(text, pos, 4, y) && Expect(text, pos, '-') && ReadDigits(text, pos, 2, m) &&
         Expect(text, pos, '-') && ReadDigits(text, pos, 2, d) && *y >= 1 && *m >= 1 && *m <= 12 &&
         *d >= 1 && static_cast<unsigned>(*d) <= DaysInMonth(*y, static_cast<unsigned>(*m));
}

}  // namespace

std::int64_t DaysFromCivil(int year, unsigned month, unsigned day) {
  const int y = year - (month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string FormatTimestamp(UnixMicros micros) {
  std::int64_t days = micros / (kSecondsPerDay * kMicrosPerSecond);
  std::int64_t rem = micros % (kSecondsPerDay * kMicrosPerSecond);
  if (rem < 0) {
    rem += kSecondsPerDay * kMicrosPerSecond;
    --days;
  }
  int y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  const std::int64_t secs = rem / kMicrosPerSecond;
  const std::int64_t frac = rem % kMicrosPerSecond;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", y, m, d,
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                static_cast<int>(secs % 60), static_cast<int>(frac));
  return buf;
}

std::string FormatTimestamp(std::chrono::system_clock::time_point tp) {
  return FormatTimestamp(
      std::chrono::duration_cast<std::chrono::microseconds>(tp.time_since_epoch()).count());
}

std::optional<UnixMicros> ParseTimestamp(std::string_view text) {
  size_t pos = 0;
  int y, mo, d, h, mi, s = 0;
  if (!ParseDateAt(text, &pos, &y, &mo, &d)) return std::nullopt;
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) {
    return std::nullopt;
  }
  ++pos;
  if (!ReadDigits(text, &pos, 2, &h) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &mi)) {
    return std::nullopt;
  }
  std::int64_t frac_micros = 0;
  if (pos < text.size() && text[pos] == ':') {
    ++pos;
    if (!ReadDigits(text, &pos, 2, &s)) return std::nullopt;
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      ++pos;
      int digits = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (digits < 6) frac_micros = frac_micros * 10 + (text[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return std::nullopt;
      for (int i = digits; i < 6; ++i) frac_micros *= 10;
    }
  }
  if (h > 23 || mi > 59 || s > 59) return std::nullopt;
  // Zone designator.
  if (pos >= text.size()) return std::nullopt;
  std::int64_t offset_seconds = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om = 0;
    if (!ReadDigits(text, &pos, 2, &oh)) return std::nullopt;
    if (pos < text.size()) {
      if (text[pos] == ':') ++pos;
      if (!ReadDigits(text, &pos, 2, &om)) return std::nullopt;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  const std::int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const std::int64_t seconds = days * kSecondsPerDay + h * 3600 + mi * 60 + s - offset_seconds;
  return seconds * kMicrosPerSecond + frac_micros;
}

bool IsValidDate(std::string_view text) {
  size_t pos = 0;
  int y, m, d;
  return ParseDateAt(text, &pos, &y, &m, &d) && pos == text.size();
}

bool IsValidTimeOfDay(std::string_view text) {
  size_t pos = 0;
  int h, m;
  return ReadDigits(text, &pos, 2, &h) && Expect(text, &pos, ':') &&
         ReadDigits(text, &pos, 2, &m) && pos == text.size() && h <= 23 && m <= 59;
}

}  // namespace vemakin
