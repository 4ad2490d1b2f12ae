#include "ltx/checksum.h"

#include "base/byte_order.h"
#include "ltx/crc64.h"

namespace ltxvfs::ltx {

std::uint64_t page_crc(std::uint32_t pgno, std::span<const std::uint8_t> page) {
  std::uint8_t prefix[4];
  base::store_be32(prefix, pgno);
  Crc64 crc;
  crc.update(prefix);
  crc.update(page);
  return crc.value();
}

std::uint64_t page_number_crc(std::uint32_t pgno) {
  std::uint8_t prefix[4];
  base::store_be32(prefix, pgno);
  return crc64(prefix);
}

std::uint64_t page_checksum(std::uint32_t pgno, std::span<const std::uint8_t> page) {
  return kChecksumFlag | page_crc(pgno, page);
}

void DatabaseChecksum::toggle(std::uint32_t pgno, std::span<const std::uint8_t> page) {
  toggle(page_checksum(pgno, page));
}

}  // namespace ltxvfs::ltx
