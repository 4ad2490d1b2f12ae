#include "vfs/writer/wal_format.h"

#include "base/byte_order.h"

namespace ltxvfs::writer {

WalChecksum wal_checksum(std::span<const uint8_t> data, bool big_endian_words, WalChecksum seed) {
  uint32_t s1 = seed.s1;
  uint32_t s2 = seed.s2;
  const uint8_t* p = data.data();
  const uint8_t* end = p + (data.size() & ~size_t{7});
  if (big_endian_words) {
    for (; p < end; p += 8) {
      s1 += base::load_be32(p) + s2;
      s2 += base::load_be32(p + 4) + s1;
    }
  } else {
    for (; p < end; p += 8) {
      s1 += base::load_le32(p) + s2;
      s2 += base::load_le32(p + 4) + s1;
    }
  }
  return {s1, s2};
}

std::optional<WalHeader> parse_wal_header(std::span<const uint8_t, kWalHeaderSize> b) {
  WalHeader h;
  h.magic = base::load_be32(&b[0]);
  if (h.magic != kWalMagicLittleEndian && h.magic != kWalMagicBigEndian) return std::nullopt;
  h.version = base::load_be32(&b[4]);
  if (h.version != 3007000) return std::nullopt;
  h.page_size = base::load_be32(&b[8]);
  // A 65536-byte page is stored as 65536 here (unlike the database header's 1).
  if (h.page_size < 512 || h.page_size > 65536 || (h.page_size & (h.page_size - 1)) != 0) {
    return std::nullopt;
  }
  h.checkpoint_seq = base::load_be32(&b[12]);
  h.salts = {base::load_be32(&b[16]), base::load_be32(&b[20])};
  h.checksum = {base::load_be32(&b[24]), base::load_be32(&b[28])};
  if (wal_checksum(b.first(24), h.big_endian_checksums(), {}) != h.checksum) return std::nullopt;
  return h;
}

WalFrameHeader parse_wal_frame_header(std::span<const uint8_t, kWalFrameHeaderSize> b) {
  WalFrameHeader f;
  f.pgno = base::load_be32(&b[0]);
  f.commit = base::load_be32(&b[4]);
  f.salts = {base::load_be32(&b[8]), base::load_be32(&b[12])};
  f.checksum = {base::load_be32(&b[16]), base::load_be32(&b[20])};
  return f;
}

}  // namespace ltxvfs::writer
