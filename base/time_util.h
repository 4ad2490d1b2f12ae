// Time formats of the S3 protocol: the SigV4 timestamp (20150830T123600Z), ISO 8601 in listings
// (2009-10-12T17:50:30.000Z) and HTTP dates in Last-Modified (Mon, 12 Oct 2009 17:50:30 GMT);
// and RFC 3339, the format of times in replica objects (the lease's expires_at, Litestream's
// timestamp metadata). Implemented with plain calendar arithmetic: no locale, no TZ environment,
// thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ltxvfs::base {

// "YYYYMMDDTHHMMSSZ" in UTC.
std::string amz_date(std::chrono::system_clock::time_point t);
// Milliseconds since the epoch from "YYYY-MM-DDTHH:MM:SS[.fff]Z".
std::optional<int64_t> parse_iso8601_ms(std::string_view s);
// Milliseconds since the epoch from an RFC 7231 IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<int64_t> parse_http_date_ms(std::string_view s);
// "2026-12-01T10:00:03.250Z": RFC 3339 in UTC with milliseconds (the form the project writes).
std::string format_rfc3339_ms(int64_t ms);
// Milliseconds since the epoch from any RFC 3339 date-time: "Z" or a numeric offset ("+01:00"),
// a fraction of any length (truncated to milliseconds), 'T'/'Z' in either case. What Go's
// time.Time writes in JSON ("2026-12-01T11:00:03.123456789+01:00") is accepted.
std::optional<int64_t> parse_rfc3339_ms(std::string_view s);
// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

}  // namespace ltxvfs::base
