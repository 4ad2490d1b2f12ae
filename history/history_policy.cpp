#include "history/history_policy.h"

#include <charconv>

namespace ltxvfs::history {
namespace {

constexpr std::string_view kDurationHelp =
    "expected a whole number and a unit: ms, s, m, h or d (e.g. 500ms, 30s, 5m, 1h, 24h)";

struct Unit {
  std::string_view suffix;
  int64_t ms;
};
// Longest suffix first, so "ms" is not read as "m".
constexpr Unit kUnits[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};

std::string quoted(std::string_view param, std::string_view text) {
  return std::string(param) + "='" + std::string(text) + "'";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

namespace {

int64_t parse_duration(std::string_view param, std::string_view text, bool allow_zero) {
  const std::string_view t = trim(text);
  for (const Unit& unit : kUnits) {
    if (t.size() <= unit.suffix.size() || !t.ends_with(unit.suffix)) continue;
    const std::string_view digits = t.substr(0, t.size() - unit.suffix.size());
    int64_t n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec == std::errc::result_out_of_range ||
        (ec == std::errc() && end == digits.data() + digits.size() && n > INT64_MAX / unit.ms)) {
      throw HistoryPolicyError(quoted(param, text) + ": too long a duration");
    }
    if (ec != std::errc() || end != digits.data() + digits.size()) break;
    if (n < 0 || (n == 0 && !allow_zero)) {
      throw HistoryPolicyError(quoted(param, text) + ": the duration must be positive");
    }
    return n * unit.ms;
  }
  throw HistoryPolicyError(quoted(param, text) + ": " + std::string(kDurationHelp));
}

}  // namespace

int64_t parse_duration_ms(std::string_view param, std::string_view text) {
  return parse_duration(param, text, false);
}

int64_t parse_duration_or_zero_ms(std::string_view param, std::string_view text) {
  if (trim(text) == "0") return 0;
  return parse_duration(param, text, true);
}

int64_t parse_duration_or_off_ms(std::string_view param, std::string_view text) {
  const std::string_view t = trim(text);
  if (t == "off" || t == "0") return 0;
  try {
    return parse_duration_ms(param, text);
  } catch (const HistoryPolicyError& e) {
    throw HistoryPolicyError(std::string(e.what()) + ", or 'off'");
  }
}

std::vector<int64_t> parse_levels(std::string_view param, std::string_view text) {
  const std::string_view t = trim(text);
  std::vector<int64_t> out;
  if (t.empty() || t == "off") return out;
  std::string_view rest = t;
  for (;;) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    if (trim(item).empty()) {
      throw HistoryPolicyError(quoted(param, text) +
                               ": an empty interval; expected comma-separated durations like "
                               "30s,5m,1h (levels 1, 2, 3), or 'off'");
    }
    int64_t ms = 0;
    try {
      ms = parse_duration_ms(param, item);
    } catch (const HistoryPolicyError&) {
      throw HistoryPolicyError(quoted(param, text) + ": '" + std::string(trim(item)) +
                               "' is not a duration; " + std::string(kDurationHelp) +
                               ", comma-separated for levels 1, 2, 3... (e.g. 30s,5m,1h), or "
                               "'off'");
    }
    if (!out.empty() && ms <= out.back()) {
      throw HistoryPolicyError(quoted(param, text) + ": level " + std::to_string(out.size() + 1) +
                               " (" + std::string(trim(item)) +
                               ") must compact less often than level " +
                               std::to_string(out.size()) + " (" + format_duration_ms(out.back()) +
                               "): intervals must increase");
    }
    out.push_back(ms);
    if (out.size() > kMaxCompactionLevels) {
      throw HistoryPolicyError(quoted(param, text) + ": at most " +
                               std::to_string(kMaxCompactionLevels) +
                               " levels (level 9 holds snapshots)");
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

std::string format_duration_ms(int64_t ms) {
  if (ms == 0) return "off";
  // Hours at most: "24h" reads better than "1d" in messages and describe().
  for (auto it = std::rbegin(kUnits); it != std::rend(kUnits); ++it) {
    if (it->ms > 1 && it->ms <= 3'600'000 && ms % it->ms == 0) {
      return std::to_string(ms / it->ms) + std::string(it->suffix);
    }
  }
  return std::to_string(ms) + "ms";
}

std::string HistoryPolicy::describe() const {
  std::string levels;
  for (int64_t ms : level_intervals_ms) {
    if (!levels.empty()) levels += ",";
    levels += format_duration_ms(ms);
  }
  if (levels.empty()) levels = "off";
  return std::string(kLevelsParam) + "=" + levels + " " + std::string(kSnapshotIntervalParam) +
         "=" + format_duration_ms(snapshot_interval_ms) + " " + std::string(kRetentionParam) + "=" +
         format_duration_ms(retention_ms) + " " + std::string(kRetentionGraceParam) + "=" +
         (retention_grace_ms == 0 ? "0s" : format_duration_ms(retention_grace_ms));
}

HistoryPolicy load_history_policy(const PolicyLookup& uri, const PolicyLookup& env) {
  // The name a value came from, so that an error names what the user wrote.
  auto find = [&](std::string_view param,
                  std::string_view var) -> std::optional<std::pair<std::string, std::string>> {
    if (uri) {
      if (auto v = uri(std::string(param))) return std::pair{std::string(param), *v};
    }
    if (env) {
      if (auto v = env(std::string(var))) return std::pair{std::string(var), *v};
    }
    return std::nullopt;
  };
  HistoryPolicy p;
  if (auto v = find(kLevelsParam, kLevelsEnv))
    p.level_intervals_ms = parse_levels(v->first, v->second);
  if (auto v = find(kSnapshotIntervalParam, kSnapshotIntervalEnv)) {
    p.snapshot_interval_ms = parse_duration_or_off_ms(v->first, v->second);
  }
  if (auto v = find(kRetentionParam, kRetentionEnv)) {
    p.retention_ms = parse_duration_or_off_ms(v->first, v->second);
  }
  if (auto v = find(kRetentionGraceParam, kRetentionGraceEnv)) {
    p.retention_grace_ms = parse_duration_or_zero_ms(v->first, v->second);
  }
  return p;
}

}  // namespace ltxvfs::history
