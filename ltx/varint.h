// Unsigned LEB128 varints, as Go's encoding/binary writes them (the page index is made of them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ltxvfs::ltx {

inline constexpr std::size_t kMaxVarintLength = 10;

void append_uvarint(std::vector<std::uint8_t>& out, std::uint64_t value);

enum class VarintStatus {
  kOk,
  kTruncated,     // input ended inside the varint
  kOverflow,      // more than 64 bits
  kNonCanonical,  // padded with a redundant zero group; Go never writes that, so it is corruption
};

struct VarintRead {
  VarintStatus status = VarintStatus::kTruncated;
  std::uint64_t value = 0;
  std::size_t length = 0;  // bytes consumed when kOk
};

VarintRead read_uvarint(std::span<const std::uint8_t> in);

}  // namespace ltxvfs::ltx
