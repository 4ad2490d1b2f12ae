// LTX object names: "%016x-%016x.ltx" (min and max TXID, lowercase hex). Listers ignore keys that
// do not match exactly, so parsing is strict.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ltxvfs::ltx {

struct LtxName {
  std::uint64_t min_txid = 0;
  std::uint64_t max_txid = 0;
  bool operator==(const LtxName&) const = default;
};

std::string format_ltx_name(std::uint64_t min_txid, std::uint64_t max_txid);
// The value of `s` read as lower-case hex digits (as in the names above and in key and database
// ids); nullopt on any other character. The caller checks the length.
std::optional<std::uint64_t> parse_hex16(std::string_view s);

// nullopt unless `name` is exactly 16 lowercase hex digits, '-', 16 lowercase hex digits, ".ltx".
std::optional<LtxName> parse_ltx_name(std::string_view name);

}  // namespace ltxvfs::ltx
