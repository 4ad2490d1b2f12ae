// HistoryPolicy: how the history engine shapes a replica's remote history (Litestream v0.5's
// defaults), and the parsing of its configuration.
//
//   URI parameter      environment             default     meaning
//   levels             LTX_LEVELS              30s,5m,1h   compaction interval of levels 1, 2, ...
//                                                          ('off': no compaction levels)
//   snapshot_interval  LTX_SNAPSHOT_INTERVAL   24h         how often a level-9 snapshot is built
//                                                          ('off': never)
//   retention          LTX_RETENTION           24h         how far back restores must keep working
//                                                          ('off': delete nothing)
//   retention_grace    LTX_RETENTION_GRACE     5m          how long a file no restore point needs
//                                                          any more (level 0 once compacted, a
//                                                          superseded compaction) is kept, for
//                                                          readers that planned with it
//
// Durations: a whole number and a unit, ms, s, m, h or d (500ms, 30s, 5m, 1h, 24h, 7d).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "history/index_hints.h"

namespace ltxvfs::history {

class HistoryPolicyError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct HistoryPolicy {
  // interval_ms[i] is the compaction interval of level i + 1. Strictly increasing; at most 8
  // levels (level 9 holds snapshots).
  std::vector<int64_t> level_intervals_ms = {30'000, 300'000, 3'600'000};
  int64_t snapshot_interval_ms = 24 * 3'600'000;  // 0: no snapshots
  int64_t retention_ms = 24 * 3'600'000;          // 0: retention off (nothing is deleted)
  int64_t retention_grace_ms = 300'000;
  // Levels are also due early, whatever their intervals, when the short page indexes of the
  // chain (those a replica's open reads whole: no directory in the head, index_hints.h) come to
  // more than this, as the head's tails say (HistoryEngine::early). A
  // fast writer's level 0 can grow by hundreds of files within one interval: a 1 GiB load in
  // 5 MB transactions left 205-210 level-0 files, and an open read 2.2-4.1 MiB of their
  // indexes. The default is issue 17's bound for an open's bytes: a chain within it stays as
  // written (W4's 121 MiB, 29 files, 245 KiB: compacted at 128 KiB, its objects grew 16-fold and
  // its first queries waited longer for them on moto, 46 -> 57 ms, for no fewer bytes). The
  // snapshot's index and the top level's count too, though nothing early shortens them: a first
  // snapshot of a young database (short) left the levels below its share less.
  // 0: on intervals only. Not a configuration parameter: tests set it.
  uint64_t early_index_bytes = 256 * 1024;

  // The highest compaction level (0 when there are none).
  uint32_t top_level() const { return static_cast<uint32_t>(level_intervals_ms.size()); }
  // "levels=30s,5m,1h snapshot_interval=24h retention=24h retention_grace=5m"
  std::string describe() const;
};

inline constexpr size_t kMaxCompactionLevels = 8;

// The configuration names, in one place for config parsing, messages and the README.
inline constexpr std::string_view kLevelsParam = "levels";
inline constexpr std::string_view kSnapshotIntervalParam = "snapshot_interval";
inline constexpr std::string_view kRetentionParam = "retention";
inline constexpr std::string_view kRetentionGraceParam = "retention_grace";
inline constexpr std::string_view kLevelsEnv = "LTX_LEVELS";
inline constexpr std::string_view kSnapshotIntervalEnv = "LTX_SNAPSHOT_INTERVAL";
inline constexpr std::string_view kRetentionEnv = "LTX_RETENTION";
inline constexpr std::string_view kRetentionGraceEnv = "LTX_RETENTION_GRACE";

// "500ms", "30s", "5m", "1h", "24h", "7d" -> milliseconds (> 0). Throws HistoryPolicyError naming
// `param` and the accepted forms.
int64_t parse_duration_ms(std::string_view param, std::string_view text);
// The same, where zero is a value (a grace period): "0", "0s", "0m" all give 0.
int64_t parse_duration_or_zero_ms(std::string_view param, std::string_view text);
// The same, also accepting "off" / "0" (-> 0) where a feature can be turned off.
int64_t parse_duration_or_off_ms(std::string_view param, std::string_view text);
// "30s,5m,1h" -> {30000, 300000, 3600000}; "off" or "" -> {}. Intervals must increase strictly.
std::vector<int64_t> parse_levels(std::string_view param, std::string_view text);
// 90000 -> "90s", 3600000 -> "1h", 1500 -> "1500ms": the shortest exact form.
std::string format_duration_ms(int64_t ms);

// Looks a name up; nullopt when absent (the same shape as config.h's Lookup).
using PolicyLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The policy from URI parameters (first) and environment variables (second), defaults last.
// Throws HistoryPolicyError naming the parameter (or variable) and what is accepted.
HistoryPolicy load_history_policy(const PolicyLookup& uri, const PolicyLookup& env);

}  // namespace ltxvfs::history
