#include "ltx/crc64.h"

#include "ltx/crc64_clmul.h"

#include <array>
#include <bit>
#include <cstring>

namespace ltxvfs::ltx {
namespace {

constexpr std::uint64_t kReflectedIsoPoly = 0xD800000000000000ULL;
constexpr int kSlices = 16;

using Tables = std::array<std::array<std::uint64_t, 256>, kSlices>;

// tables[0] is the classic byte-at-a-time table; tables[k][b] is the CRC contribution of byte b
// followed by k zero bytes, which lets 16 input bytes be folded in with 16 independent lookups.
constexpr Tables make_tables() {
  Tables t{};
  for (std::uint64_t i = 0; i < 256; ++i) {
    std::uint64_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? (c >> 1) ^ kReflectedIsoPoly : c >> 1;
    t[0][i] = c;
  }
  for (int k = 1; k < kSlices; ++k) {
    for (std::size_t i = 0; i < 256; ++i) {
      const std::uint64_t prev = t[k - 1][i];
      t[k][i] = (prev >> 8) ^ t[0][prev & 0xff];
    }
  }
  return t;
}

// Built at compile time: no start-up cost and no mutable global state.
constexpr Tables kTables = make_tables();

inline std::uint64_t load_le64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

inline std::uint64_t fold8(std::uint64_t x, int first_table) {
  // Byte j of x (j = 0 is the earliest byte) still has (first_table - j) bytes to travel.
  const auto& t = kTables;
  return t[first_table][x & 0xff] ^ t[first_table - 1][(x >> 8) & 0xff] ^
         t[first_table - 2][(x >> 16) & 0xff] ^ t[first_table - 3][(x >> 24) & 0xff] ^
         t[first_table - 4][(x >> 32) & 0xff] ^ t[first_table - 5][(x >> 40) & 0xff] ^
         t[first_table - 6][(x >> 48) & 0xff] ^ t[first_table - 7][x >> 56];
}

}  // namespace

namespace detail {

std::uint64_t crc64_update_tables(std::uint64_t crc, const std::uint8_t* p, std::size_t n) {
  while (n >= 16) {
    crc = fold8(crc ^ load_le64(p), 15) ^ fold8(load_le64(p + 8), 7);
    p += 16;
    n -= 16;
  }
  while (n-- > 0) crc = kTables[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

}  // namespace detail

void Crc64::update(std::span<const std::uint8_t> bytes) {
  // Decided once per process: the CPU does not change under it.
  static const bool clmul = detail::crc64_clmul_supported();
  // Below a few blocks the tables win (the carry-less path has a fixed set-up and finish).
  if (clmul && bytes.size() >= 64) {
    state_ = detail::crc64_update_clmul(state_, bytes.data(), bytes.size());
  } else {
    state_ = detail::crc64_update_tables(state_, bytes.data(), bytes.size());
  }
}

std::uint64_t crc64(std::span<const std::uint8_t> bytes) {
  Crc64 c;
  c.update(bytes);
  return c.value();
}

}  // namespace ltxvfs::ltx
