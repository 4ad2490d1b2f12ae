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

// a * b mod P, both reflected (bit 63 stands for x^0), as zlib's multmodp.
constexpr std::uint64_t multiply_mod(std::uint64_t a, std::uint64_t b) {
  std::uint64_t product = 0;
  for (std::uint64_t m = std::uint64_t{1} << 63; m != 0; m >>= 1) {
    if ((a & m) != 0) {
      product ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    b = (b & 1) != 0 ? (b >> 1) ^ kReflectedIsoPoly : b >> 1;
  }
  return product;
}

// x^(2^k) mod P for k = 0..63, reflected: squaring the previous one.
constexpr std::array<std::uint64_t, 64> make_powers() {
  std::array<std::uint64_t, 64> p{};
  p[0] = std::uint64_t{1} << 62;  // x^1
  for (std::size_t k = 1; k < p.size(); ++k) p[k] = multiply_mod(p[k - 1], p[k - 1]);
  return p;
}

constexpr std::array<std::uint64_t, 64> kPowers = make_powers();

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

void Crc64::update_from(std::uint64_t crc_prefixed, std::uint64_t crc_prefix,
                        const Crc64Shift& shift) {
  // crc(P || B) = shift(crc(P)) ^ crc(B), so crc(S || B) = shift(crc(S) ^ crc(P)) ^ crc(P || B).
  state_ = ~(shift.apply(value() ^ crc_prefix) ^ crc_prefixed);
}

void Crc64::append(std::uint64_t crc, const Crc64Shift& shift) {
  state_ = ~(shift.apply(value()) ^ crc);
}

Crc64Shift::Crc64Shift(std::uint64_t length) : power_(std::uint64_t{1} << 63) {
  // x^(8 length) = the product of x^(2^k) over the bits k of 8 length.
  std::uint64_t bits = length;
  for (std::size_t k = 3; bits != 0; bits >>= 1, ++k) {
    if ((bits & 1) != 0) power_ = multiply_mod(kPowers[k & 63], power_);
  }
}

std::uint64_t Crc64Shift::apply(std::uint64_t crc) const {
  return multiply_mod(power_, crc);
}

std::uint64_t crc64(std::span<const std::uint8_t> bytes) {
  Crc64 c;
  c.update(bytes);
  return c.value();
}

}  // namespace ltxvfs::ltx
