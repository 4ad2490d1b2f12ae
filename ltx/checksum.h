// LTX page and database checksums.
//
// A page checksum is CRC64(be32(pgno) || page) with bit 63 set; the database checksum is bit 63
// set over the XOR of the page checksums of every page except the lock page. Because it is an
// XOR, the database checksum can be kept current incrementally: XOR out a page's old checksum,
// XOR in its new one.
#pragma once

#include <cstdint>
#include <span>

#include "ltx/lock_page.h"

namespace ltxvfs::ltx {

// Every stored checksum carries this bit so that a present checksum is never zero.
inline constexpr std::uint64_t kChecksumFlag = std::uint64_t{1} << 63;

// CRC64(be32(pgno) || page) | 1<<63.
std::uint64_t page_checksum(std::uint32_t pgno, std::span<const std::uint8_t> page);
// Its parts: CRC64(be32(pgno) || page) without the flag, and CRC64(be32(pgno)) (for
// Crc64::update_from, which needs all 64 bits).
std::uint64_t page_crc(std::uint32_t pgno, std::span<const std::uint8_t> page);
std::uint64_t page_number_crc(std::uint32_t pgno);

// Incremental database checksum. Starts as the checksum of an empty database (1<<63).
class DatabaseChecksum {
 public:
  DatabaseChecksum() = default;
  // Resume from a stored checksum (e.g. a header's pre-apply value).
  explicit DatabaseChecksum(std::uint64_t stored) : xor_(stored & ~kChecksumFlag) {}

  // XOR a page checksum in or out: the same call does both, since XOR is its own inverse.
  void toggle(std::uint64_t page_sum) { xor_ ^= page_sum & ~kChecksumFlag; }
  // Convenience: toggle(page_checksum(pgno, page)).
  void toggle(std::uint32_t pgno, std::span<const std::uint8_t> page);

  std::uint64_t value() const { return kChecksumFlag | xor_; }

 private:
  std::uint64_t xor_ = 0;
};

}  // namespace ltxvfs::ltx
