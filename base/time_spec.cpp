#include "base/time_spec.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>

#include "base/time_util.h"

namespace ltxvfs::base {
namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[pos + i]))) return false;
    out = out * 10 + (s[pos + i] - '0');
  }
  return true;
}

std::string lower_trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Calendar time; a missing zone designator means UTC (SQLite's datetime() output has none).
std::optional<int64_t> parse_absolute(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (s.size() < 19 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, h) ||
      s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  size_t pos = 19;
  int64_t ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100;
    const size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && s[pos] == 'z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om)) {
      return std::nullopt;
    }
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  }
  if (pos != s.size()) return std::nullopt;
  const int64_t days =
      base::days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * 1000 + ms;
}

std::optional<int64_t> parse_relative(std::string_view s, int64_t now) {
  size_t pos = 0;
  uint64_t n = 0;
  while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
    n = n * 10 + static_cast<uint64_t>(s[pos] - '0');
    if (n > (uint64_t{1} << 40)) return std::nullopt;
    ++pos;
  }
  if (pos == 0) return std::nullopt;
  while (pos < s.size() && s[pos] == ' ') ++pos;
  const size_t unit_start = pos;
  while (pos < s.size() && std::isalpha(static_cast<unsigned char>(s[pos]))) ++pos;
  std::string unit(s.substr(unit_start, pos - unit_start));
  if (unit.size() > 1 && unit.back() == 's') unit.pop_back();
  while (pos < s.size() && s[pos] == ' ') ++pos;
  if (s.substr(pos) != "ago") return std::nullopt;
  int64_t unit_ms = 0;
  if (unit == "second" || unit == "sec") {
    unit_ms = 1000;
  } else if (unit == "minute" || unit == "min") {
    unit_ms = 60'000;
  } else if (unit == "hour") {
    unit_ms = 3'600'000;
  } else if (unit == "day") {
    unit_ms = 86'400'000;
  } else if (unit == "week") {
    unit_ms = 7 * 86'400'000LL;
  } else {
    return std::nullopt;
  }
  return now - static_cast<int64_t>(n) * unit_ms;
}

}  // namespace

std::optional<TimeTarget> parse_time_target(std::string_view text, int64_t now) {
  const std::string s = lower_trimmed(text);
  if (s == "latest" || s == "now") return TimeTarget{true, 0};
  if (auto ms = parse_absolute(s)) return TimeTarget{false, *ms};
  if (auto ms = parse_relative(s, now)) return TimeTarget{false, *ms};
  return std::nullopt;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace ltxvfs::base
