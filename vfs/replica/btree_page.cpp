#include "vfs/replica/btree_page.h"

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

uint32_t be16(std::span<const uint8_t> p, size_t at) {
  return (uint32_t{p[at]} << 8) | p[at + 1];
}
uint32_t be32(std::span<const uint8_t> p, size_t at) {
  return (uint32_t{p[at]} << 24) | (uint32_t{p[at + 1]} << 16) | (uint32_t{p[at + 2]} << 8) |
         p[at + 3];
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

std::vector<uint32_t> interior_children(std::span<const uint8_t> page, uint32_t pgno) {
  std::vector<uint32_t> out;
  const size_t h = pgno == 1 ? kDbHeaderSize : 0;
  if (page.size() < h + 12) return out;
  const uint8_t type = page[h];
  if (type != 0x05 && type != 0x02) return out;
  const uint32_t cells = be16(page, h + 3);
  if (h + 12 + size_t{cells} * 2 > page.size()) return out;
  out.reserve(cells + 1);
  for (uint32_t i = 0; i < cells; ++i) {
    const uint32_t cell = be16(page, h + 12 + size_t{i} * 2);
    if (cell + 4 > page.size()) return {};
    const uint32_t child = be32(page, cell);
    if (child == 0) return {};
    out.push_back(child);
  }
  const uint32_t right = be32(page, h + 8);
  if (right == 0) return {};
  out.push_back(right);
  return out;
}

}  // namespace ltxvfs::replica
