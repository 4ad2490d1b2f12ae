#include "vfs/writer/commit_notice.h"

namespace ltxvfs::writer {

std::vector<WalTransaction> transactions_from_notices(std::span<const CommitNotice> notices,
                                                      const WalPosition& from) {
  std::vector<WalTransaction> txns;
  if (notices.empty() || from.page_size == 0 || from.offset < kWalHeaderSize) return {};
  const uint64_t frame_bytes = kWalFrameHeaderSize + from.page_size;
  if ((from.offset - kWalHeaderSize) % frame_bytes != 0) return {};
  // The frame `from` stands just past (0: the WAL header).
  uint64_t frame = (from.offset - kWalHeaderSize) / frame_bytes;
  txns.reserve(notices.size());
  for (const CommitNotice& n : notices) {
    const WalIndexHeader& after = n.after;
    // Each notice must continue exactly where the previous one ended, in the same generation,
    // and account for every frame it committed.
    if (after.salts != from.salts || after.page_size != from.page_size ||
        after.big_endian_checksums != from.big_endian_checksums || n.first_frame() != frame + 1 ||
        after.max_frame < frame + 1 || n.frame_pages.size() != after.max_frame - frame) {
      return {};
    }
    WalTransaction t;
    t.frames.reserve(n.frame_pages.size());
    for (const uint32_t pgno : n.frame_pages) {
      ++frame;
      t.frames.push_back({pgno, wal_frame_offset(frame, from.page_size) + kWalFrameHeaderSize});
    }
    t.commit = after.db_pages;
    t.end = {after.salts, from.page_size, after.big_endian_checksums, after.end_offset(),
             after.frame_checksum};
    txns.push_back(std::move(t));
  }
  return txns;
}

}  // namespace ltxvfs::writer
