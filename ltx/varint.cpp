#include "ltx/varint.h"

namespace ltxvfs::ltx {

void append_uvarint(std::vector<std::uint8_t>& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

VarintRead read_uvarint(std::span<const std::uint8_t> in) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::uint8_t b = in[i];
    // The tenth byte may only contribute bit 63 (and cannot continue).
    if (i == kMaxVarintLength - 1 && b > 1) return {VarintStatus::kOverflow, 0, 0};
    value |= std::uint64_t{b & 0x7fu} << (7 * i);
    if ((b & 0x80) == 0) {
      if (b == 0 && i > 0) return {VarintStatus::kNonCanonical, 0, 0};
      return {VarintStatus::kOk, value, i + 1};
    }
  }
  return {VarintStatus::kTruncated, 0, 0};
}

}  // namespace ltxvfs::ltx
