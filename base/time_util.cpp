#include "base/time_util.h"

#include <array>
#include <cstdio>

namespace ltxvfs::base {
namespace {

// Inverse of days_from_civil (H. Hinnant's algorithm).
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
}

std::optional<unsigned> digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  unsigned v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return v;
}

std::optional<int64_t> to_ms(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi,
                             unsigned s, unsigned ms) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  const int64_t days = days_from_civil(y, mo, d);
  return ((days * 24 + h) * 60 + mi) * 60000 + static_cast<int64_t>(s) * 1000 + ms;
}

}  // namespace

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

namespace {
// The UTC calendar date and the second of that day of `secs` since 1970 (floor division, so
// times before 1970 come out as the calendar says).
struct CivilSecond {
  int64_t y = 0;
  unsigned m = 0, d = 0;
  int64_t rem = 0;  // seconds into the day
};
CivilSecond civil_from_seconds(int64_t secs) {
  CivilSecond c;
  int64_t days = secs / 86400;
  c.rem = secs % 86400;
  if (c.rem < 0) {
    c.rem += 86400;
    --days;
  }
  civil_from_days(days, c.y, c.m, c.d);
  return c;
}
}  // namespace

std::string amz_date(std::chrono::system_clock::time_point t) {
  const auto [y, m, d, rem] = civil_from_seconds(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  char buf[64];  // room for any int64 fields: the compiler cannot bound them here
  std::snprintf(buf, sizeof buf, "%04lld%02u%02uT%02lld%02lld%02lldZ", static_cast<long long>(y), m,
                d, static_cast<long long>(rem / 3600), static_cast<long long>(rem % 3600 / 60),
                static_cast<long long>(rem % 60));
  return buf;
}

std::optional<int64_t> parse_iso8601_ms(std::string_view s) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      s.back() != 'Z') {
    return std::nullopt;
  }
  auto y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2), h = digits(s, 11, 2),
       mi = digits(s, 14, 2), sec = digits(s, 17, 2);
  if (!y || !mo || !d || !h || !mi || !sec) return std::nullopt;
  unsigned ms = 0;
  if (s[19] == '.') {
    // Fractions of any length; keep milliseconds.
    size_t i = 20;
    unsigned scale = 100;
    for (; i + 1 < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      ms += static_cast<unsigned>(s[i] - '0') * scale;
      scale /= 10;
    }
    if (i == 20) return std::nullopt;
  } else if (s.size() != 20) {
    return std::nullopt;
  }
  return to_ms(*y, *mo, *d, *h, *mi, *sec, ms);
}

std::string format_rfc3339_ms(int64_t ms) {
  // Floor division, so times before 1970 format as the calendar says.
  int64_t secs = ms / 1000;
  int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  const auto [y, m, d, rem] = civil_from_seconds(secs);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                static_cast<long long>(rem % 3600 / 60), static_cast<long long>(rem % 60),
                static_cast<long long>(frac));
  return buf;
}

std::optional<int64_t> parse_rfc3339_ms(std::string_view s) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  auto y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2), h = digits(s, 11, 2),
       mi = digits(s, 14, 2), sec = digits(s, 17, 2);
  if (!y || !mo || !d || !h || !mi || !sec) return std::nullopt;
  size_t pos = 19;
  unsigned ms = 0;
  if (s[pos] == '.') {
    unsigned scale = 100;
    const size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ms += static_cast<unsigned>(s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offset_ms = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    auto oh = digits(s, pos + 1, 2), om = digits(s, pos + 4, 2);
    if (!oh || !om || pos + 3 >= s.size() || s[pos + 3] != ':' || *oh > 23 || *om > 59) {
      return std::nullopt;
    }
    offset_ms = (static_cast<int64_t>(*oh) * 60 + *om) * 60'000 * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;  // RFC 3339 requires a zone
  }
  if (pos != s.size()) return std::nullopt;
  auto local = to_ms(*y, *mo, *d, *h, *mi, *sec, ms);
  if (!local) return std::nullopt;
  return *local - offset_ms;
}

std::optional<int64_t> parse_http_date_ms(std::string_view s) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed positions after the comma.
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto comma = s.find(", ");
  if (comma == std::string_view::npos) return std::nullopt;
  s.remove_prefix(comma + 2);
  if (s.size() != 24 || s[2] != ' ' || s[6] != ' ' || s[11] != ' ' || s[14] != ':' ||
      s[17] != ':' || s.substr(20) != " GMT") {
    return std::nullopt;
  }
  unsigned month = 0;
  for (unsigned i = 0; i < kMonths.size(); ++i) {
    if (s.substr(3, 3) == kMonths[i]) month = i + 1;
  }
  auto d = digits(s, 0, 2), y = digits(s, 7, 4), h = digits(s, 12, 2), mi = digits(s, 15, 2),
       sec = digits(s, 18, 2);
  if (month == 0 || !d || !y || !h || !mi || !sec) return std::nullopt;
  return to_ms(*y, month, *d, *h, *mi, *sec, 0);
}

}  // namespace ltxvfs::base
