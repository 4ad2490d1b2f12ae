#include "vfs/writer/wal_scanner.h"

namespace ltxvfs::writer {

std::vector<WalTransaction> scan_committed(const ReadAt& read, const WalPosition& from,
                                           uint64_t limit) {
  std::vector<WalTransaction> out;
  const uint64_t frame_size = kWalFrameHeaderSize + from.page_size;
  std::vector<uint8_t> frame(frame_size);
  WalPosition pos = from;
  WalTransaction current;
  for (uint64_t off = from.offset; off + frame_size <= limit; off += frame_size) {
    if (read(off, frame) != frame_size) break;
    const WalFrameHeader h = parse_wal_frame_header(std::span(frame).first<kWalFrameHeaderSize>());
    if (h.salts != from.salts || h.pgno == 0) break;
    // The checksum covers the first 8 bytes of the frame header and the page data.
    WalChecksum c =
        wal_checksum(std::span(frame).first(8), from.big_endian_checksums, pos.checksum);
    c = wal_checksum(std::span(frame).subspan(kWalFrameHeaderSize), from.big_endian_checksums, c);
    if (c != h.checksum) break;
    pos.checksum = c;
    current.frames.push_back({h.pgno, off + kWalFrameHeaderSize});
    if (h.commit != 0) {
      current.commit = h.commit;
      pos.offset = off + frame_size;
      current.end = pos;
      out.push_back(std::move(current));
      current = {};
    }
  }
  return out;
}

}  // namespace ltxvfs::writer
