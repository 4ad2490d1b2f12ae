#include "ltx/btree_page.h"

#include <cstddef>
#include <cstdint>

namespace ltxvfs::ltx {
namespace {

uint32_t be16(std::span<const uint8_t> p, size_t at) {
  return (uint32_t{p[at]} << 8) | p[at + 1];
}
uint32_t be32(std::span<const uint8_t> p, size_t at) {
  return (uint32_t{p[at]} << 24) | (uint32_t{p[at + 1]} << 16) | (uint32_t{p[at + 2]} << 8) |
         p[at + 3];
}

// SQLite's varint (1-9 bytes, big-endian groups of 7 bits, the 9th byte whole) at `at`, or false
// when it runs past `end`.
bool read_varint(std::span<const uint8_t> p, size_t& at, size_t end, uint64_t& out) {
  out = 0;
  for (int i = 0; i < 9; ++i) {
    if (at >= end) return false;
    const uint8_t b = p[at++];
    if (i == 8) {
      out = (out << 8) | b;
      return true;
    }
    out = (out << 7) | (b & 0x7f);
    if ((b & 0x80) == 0) return true;
  }
  return true;
}

// The bytes a record column of serial type `t` takes (SQLite's file format, 2.1).
uint64_t serial_size(uint64_t t) {
  static constexpr uint64_t kFixed[] = {0, 1, 2, 3, 4, 6, 8, 8, 0, 0, 0, 0};
  return t < 12 ? kFixed[t] : (t - 12) / 2;
}

// The rootpage (column 4) of the schema record whose local bytes are [at, end) of `p`; 0 when
// it is not an integer there.
uint32_t rootpage_of(std::span<const uint8_t> p, size_t at, size_t end) {
  size_t h = at;
  uint64_t header_size = 0;
  if (!read_varint(p, h, end, header_size) || header_size > end - at) return 0;
  const size_t header_end = at + header_size;
  uint64_t types[4] = {};
  for (auto& t : types) {
    if (!read_varint(p, h, header_end, t)) return 0;
  }
  uint64_t offset = header_end;
  for (int i = 0; i < 3; ++i) offset += serial_size(types[i]);
  const uint64_t t = types[3];
  if (t < 1 || t > 4 || offset + serial_size(t) > end) return 0;  // a page number: 1-4 bytes
  uint64_t v = 0;
  for (uint64_t i = 0; i < serial_size(t); ++i) v = (v << 8) | p[offset + i];
  return v <= UINT32_MAX ? static_cast<uint32_t>(v) : 0;
}

}  // namespace

std::vector<uint32_t> schema_roots(std::span<const uint8_t> page1, size_t max) {
  std::vector<uint32_t> out;
  constexpr size_t h = kDbHeaderSize;
  if (page1.size() < h + 8 || page1[h] != 0x0d) return out;
  // Usable size U: the page minus the reserved bytes at its end (header byte 20); a cell's local
  // payload is at most U - 35 bytes, the rest overflows (SQLite's file format, 1.6).
  const size_t usable = page1.size() - page1[20];
  const uint32_t cells = be16(page1, h + 3);
  if (usable < 480 || h + 8 + size_t{cells} * 2 > usable) return out;
  for (uint32_t i = 0; i < cells && out.size() < max; ++i) {
    size_t at = be16(page1, h + 8 + size_t{i} * 2);
    uint64_t payload = 0, rowid = 0;
    if (at >= usable || !read_varint(page1, at, usable, payload) ||
        !read_varint(page1, at, usable, rowid)) {
      continue;
    }
    // The part of the payload on this page (the rest is on overflow pages).
    uint64_t local = payload;
    if (payload > usable - 35) {
      const uint64_t m = (usable - 12) * 32 / 255 - 23;
      const uint64_t k = m + (payload - m) % (usable - 4);
      local = k <= usable - 35 ? k : m;
    }
    if (at + local > usable) continue;
    if (const uint32_t root = rootpage_of(page1, at, at + local); root > 1) out.push_back(root);
  }
  return out;
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

}  // namespace ltxvfs::ltx
