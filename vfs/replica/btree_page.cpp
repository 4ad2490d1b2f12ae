#include "vfs/replica/btree_page.h"

#include <cstdint>

namespace ltxvfs::replica {
namespace {

void put_be32(std::span<uint8_t> out, uint64_t offset, uint64_t at, uint32_t value) {
  for (uint64_t i = 0; i < 4; ++i) {
    const uint64_t pos = at + i;
    if (pos >= offset && pos < offset + out.size()) {
      out[pos - offset] = static_cast<uint8_t>(value >> (24 - 8 * i));
    }
  }
}

void put_byte(std::span<uint8_t> out, uint64_t offset, uint64_t at, uint8_t value) {
  if (at >= offset && at < offset + out.size()) out[at - offset] = value;
}

}  // namespace

void present_header(std::span<uint8_t> out, uint64_t offset, uint32_t counter, uint32_t commit) {
  if (offset >= kDbHeaderSize) return;
  put_byte(out, offset, 18, 1);
  put_byte(out, offset, 19, 1);
  put_be32(out, offset, 24, counter);
  put_be32(out, offset, 28, commit);
  put_be32(out, offset, 92, counter);
}

}  // namespace ltxvfs::replica
