#include "ltx/file_name.h"

#include <cstdio>

namespace ltxvfs::ltx {
namespace {

constexpr std::size_t kHexDigits = 16;
constexpr std::string_view kSuffix = ".ltx";
constexpr std::size_t kNameLength = kHexDigits + 1 + kHexDigits + kSuffix.size();

}  // namespace

std::optional<std::uint64_t> parse_hex16(std::string_view s) {
  std::uint64_t v = 0;
  for (char c : s) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;  // uppercase is not what Litestream writes, so it is not a match
    }
    v = (v << 4) | static_cast<std::uint64_t>(digit);
  }
  return v;
}

std::string format_ltx_name(std::uint64_t min_txid, std::uint64_t max_txid) {
  char buf[kNameLength + 1];
  std::snprintf(buf, sizeof buf, "%016llx-%016llx.ltx", static_cast<unsigned long long>(min_txid),
                static_cast<unsigned long long>(max_txid));
  return buf;
}

std::optional<LtxName> parse_ltx_name(std::string_view name) {
  if (name.size() != kNameLength || name[kHexDigits] != '-' ||
      name.substr(kNameLength - kSuffix.size()) != kSuffix) {
    return std::nullopt;
  }
  auto min = parse_hex16(name.substr(0, kHexDigits));
  auto max = parse_hex16(name.substr(kHexDigits + 1, kHexDigits));
  if (!min || !max) return std::nullopt;
  return LtxName{*min, *max};
}

}  // namespace ltxvfs::ltx
