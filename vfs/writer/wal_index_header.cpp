#include "vfs/writer/wal_index_header.h"

#include <cstring>

#include "base/byte_order.h"

namespace ltxvfs::writer {

std::optional<WalIndexHeader> read_wal_index_header(const void* region0) {
  // Copy first: the mapping is shared memory, and a plain copy is what SQLite itself does
  // (walIndexTryHdr) before trusting the fields.
  uint8_t raw[48];
  std::memcpy(raw, region0, sizeof raw);
  uint32_t u32s[12];
  std::memcpy(u32s, raw, sizeof u32s);
  if (raw[12] == 0) return std::nullopt;  // isInit
  WalIndexHeader h;
  h.change_counter = u32s[2];
  uint16_t sz_page = 0;
  std::memcpy(&sz_page, raw + 14, 2);
  h.page_size = sz_page == 1 ? 65536u : sz_page;
  h.big_endian_checksums = raw[13] != 0;
  h.max_frame = u32s[4];
  h.db_pages = u32s[5];
  h.frame_checksum = {u32s[6], u32s[7]};
  // aSalt holds the salts exactly as the bytes of the WAL header (big-endian).
  h.salts = {base::load_be32(raw + 32), base::load_be32(raw + 36)};
  return h;
}

}  // namespace ltxvfs::writer
