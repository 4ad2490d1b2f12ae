// CRC-64 exactly as Go's hash/crc64 computes it with the ISO table: reflected polynomial
// 0xD800000000000000, initial value and final XOR all ones. LTX uses it for page, database and
// file checksums, so it sits on the commit path: carry-less multiplication (PCLMULQDQ) where the
// CPU has it, slice-by-16 tables otherwise (crc64_clmul.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ltxvfs::ltx {

// Incremental CRC-64/GO-ISO. update() may be called any number of times; value() does not end
// the computation (more bytes may follow).
class Crc64 {
 public:
  Crc64() = default;

  void update(std::span<const std::uint8_t> bytes);
  std::uint64_t value() const { return ~state_; }
  void reset() { state_ = ~std::uint64_t{0}; }

 private:
  std::uint64_t state_ = ~std::uint64_t{0};  // the register, kept pre-inverted between calls
};

// One-shot convenience.
std::uint64_t crc64(std::span<const std::uint8_t> bytes);

}  // namespace ltxvfs::ltx
