// The times a user may name (replica time=, PRAGMA ltx_time, ltxvfs restore --timestamp), and
// the RFC 3339 format every message and the litestream-timestamp metadata use:
//   'latest'                         follow the primary
//   '2026-11-20T10:00:00Z'           RFC 3339 (fraction and a numeric offset like +02:00 allowed)
//   '2026-11-20 10:00:00'            SQLite's datetime() format, taken as UTC
//   '5 minutes ago'                  N second(s)|minute(s)|hour(s)|day(s)|week(s) ago
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/time_util.h"  // format_rfc3339_ms, the one formatter

namespace ltxvfs::base {

inline constexpr std::string_view kTimeSpecHelp =
    "expected 'latest', an RFC 3339 time like '2026-11-20T10:00:00Z', 'YYYY-MM-DD HH:MM:SS' "
    "(UTC) or 'N minutes ago' (seconds, minutes, hours, days, weeks)";

struct TimeTarget {
  bool latest = false;
  int64_t ms = 0;  // milliseconds since the Unix epoch, when !latest
};

// nullopt when `text` is none of the accepted forms; `now_ms` anchors 'N units ago'.
std::optional<TimeTarget> parse_time_target(std::string_view text, int64_t now_ms);

int64_t now_ms();

}  // namespace ltxvfs::base
