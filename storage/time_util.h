// Time formats of the S3 protocol: the SigV4 timestamp (20150830T123600Z), ISO 8601 in listings
// (2009-10-12T17:50:30.000Z) and HTTP dates in Last-Modified (Mon, 12 Oct 2009 17:50:30 GMT).
// Implemented with plain calendar arithmetic: no locale, no TZ environment, thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ltxvfs::storage {

// "YYYYMMDDTHHMMSSZ" in UTC.
std::string amz_date(std::chrono::system_clock::time_point t);
// Milliseconds since the epoch from "YYYY-MM-DDTHH:MM:SS[.fff]Z".
std::optional<int64_t> parse_iso8601_ms(std::string_view s);
// Milliseconds since the epoch from an RFC 7231 IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<int64_t> parse_http_date_ms(std::string_view s);
// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

}  // namespace ltxvfs::storage
