// Configuration of the history engine: durations, levels, the URI-over-environment order, and
// messages that name the parameter.
#include <catch2/catch.hpp>

#include <map>

#include "history/history_policy.h"

using namespace ltxvfs::history;

namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const HistoryPolicyError& e) {
    return e.what();
  }
  return "(no error)";
}

PolicyLookup from(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST_CASE("policy: durations", "[policy]") {
  CHECK(parse_duration_ms("x", "500ms") == 500);
  CHECK(parse_duration_ms("x", "30s") == 30'000);
  CHECK(parse_duration_ms("x", "5m") == 300'000);
  CHECK(parse_duration_ms("x", "1h") == 3'600'000);
  CHECK(parse_duration_ms("x", "24h") == 86'400'000);
  CHECK(parse_duration_ms("x", "7d") == 7 * 86'400'000LL);
  CHECK(parse_duration_ms("x", " 90s ") == 90'000);
  for (const char* bad : {"", "30", "s", "-5s", "0s", "1.5h", "5 m", "5M", "30sec", "1h30m",
                          "99999999999999999999s"}) {
    INFO(bad);
    CHECK_THAT(error_of([&] { parse_duration_ms("retention", bad); }),
               Catch::StartsWith(std::string("retention='") + bad + "'"));
  }
  CHECK_THAT(error_of([&] { parse_duration_ms("retention", "5 m"); }),
             Catch::Contains("500ms, 30s, 5m, 1h, 24h"));
  // A grace period may be zero in any unit (issue 19: `--retention-grace 0s` was refused).
  for (const char* zero : {"0", "0s", "0ms", "0m", " 0h "}) {
    INFO(zero);
    CHECK(parse_duration_or_zero_ms("x", zero) == 0);
  }
  CHECK(parse_duration_or_zero_ms("x", "2s") == 2'000);
  CHECK_THROWS(parse_duration_or_zero_ms("x", "-1s"));
  CHECK_THROWS(parse_duration_or_zero_ms("x", "0x"));
  CHECK(parse_duration_or_off_ms("x", "off") == 0);
  CHECK(parse_duration_or_off_ms("x", "0") == 0);
  CHECK_THAT(error_of([&] { parse_duration_or_off_ms("snapshot_interval", "never"); }),
             Catch::Contains("or 'off'"));
  CHECK(format_duration_ms(90'000) == "90s");
  CHECK(format_duration_ms(3'600'000) == "1h");
  CHECK(format_duration_ms(1500) == "1500ms");
  CHECK(format_duration_ms(86'400'000) == "24h");
}

TEST_CASE("policy: levels", "[policy]") {
  CHECK(parse_levels("levels", "30s,5m,1h") == std::vector<int64_t>{30'000, 300'000, 3'600'000});
  CHECK(parse_levels("levels", "100ms") == std::vector<int64_t>{100});
  CHECK(parse_levels("levels", "off").empty());
  CHECK(parse_levels("levels", "").empty());
  CHECK_THAT(error_of([] { parse_levels("levels", "5m,30s"); }),
             Catch::Contains("level 2 (30s) must compact less often than level 1 (5m)"));
  CHECK_THAT(error_of([] { parse_levels("levels", "30s,,1h"); }), Catch::Contains("empty"));
  CHECK_THAT(error_of([] { parse_levels("levels", "1s,2s,3s,4s,5s,6s,7s,8s,9s"); }),
             Catch::Contains("at most 8 levels"));
  CHECK_THAT(error_of([] { parse_levels("LTX_LEVELS", "30s,5x"); }),
             Catch::StartsWith("LTX_LEVELS='30s,5x'"));
}

TEST_CASE("policy: defaults, URI parameters over environment", "[policy]") {
  const HistoryPolicy d = load_history_policy(from({}), from({}));
  CHECK(d.level_intervals_ms == std::vector<int64_t>{30'000, 300'000, 3'600'000});
  CHECK(d.snapshot_interval_ms == 86'400'000);
  CHECK(d.retention_ms == 86'400'000);
  CHECK(d.retention_grace_ms == 300'000);
  CHECK(d.describe() == "levels=30s,5m,1h snapshot_interval=24h retention=24h retention_grace=5m");

  const HistoryPolicy p = load_history_policy(from({{"levels", "1s,10s"}, {"retention", "off"}}),
                                              from({{"LTX_LEVELS", "5s"},
                                                    {"LTX_SNAPSHOT_INTERVAL", "1h"},
                                                    {"LTX_RETENTION", "2h"},
                                                    {"LTX_RETENTION_GRACE", "0"}}));
  CHECK(p.level_intervals_ms == std::vector<int64_t>{1000, 10'000});
  CHECK(p.snapshot_interval_ms == 3'600'000);
  CHECK(p.retention_ms == 0);
  CHECK(p.retention_grace_ms == 0);
  CHECK(p.top_level() == 2);

  CHECK_THAT(error_of([] {
               load_history_policy(from({{"snapshot_interval", "daily"}}), from({}));
             }),
             Catch::StartsWith("snapshot_interval='daily'"));
  CHECK_THAT(error_of([] {
               load_history_policy(from({}), from({{"LTX_RETENTION_GRACE", "off"}}));
             }),
             Catch::StartsWith("LTX_RETENTION_GRACE='off'"));
}
