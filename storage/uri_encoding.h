// Percent-encoding as SigV4 and S3 want it: RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~)
// stay, every other byte becomes %XX with upper-case hex. The same function builds the request
// URL and the canonical request, so what is signed is exactly what is sent.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ltxvfs::storage {

// `encode_slash=false` keeps '/' (object key paths); true encodes it (query names and values).
std::string uri_encode(std::string_view s, bool encode_slash);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, the form encoding S3 uses for
// keys in `encoding-type=url` listings). nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space = false);

}  // namespace ltxvfs::storage
