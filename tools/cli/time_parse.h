// Parsing the times users type for --timestamp: RFC 3339 in UTC ("2026-11-20T10:00:00Z",
// optional fraction, or a numeric offset like +02:00).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ltxvfs::cli {

// Milliseconds since the Unix epoch, or nullopt when `text` is not RFC 3339.
std::optional<int64_t> parse_rfc3339_ms(std::string_view text);

}  // namespace ltxvfs::cli
