// The wal-index header at the start of shared-memory region 0 (the `-shm` file), as SQLite's
// wal.c lays it out (struct WalIndexHdr, 48 bytes, host byte order, stored twice).
//
// The replicator reads it at the moments the WAL write lock is taken and released: while a
// connection holds that lock nobody else can change it, and it says exactly which frames are
// committed (mxFrame) in which WAL generation (salts). That is cheaper and more trustworthy than
// inferring commits from the stream of writes.
#pragma once

#include <cstdint>
#include <optional>

#include "vfs/writer/wal_format.h"

namespace ltxvfs::writer {

struct WalIndexHeader {
  uint32_t change_counter = 0;  // iChange: incremented by every write transaction
  uint32_t page_size = 0;       // bytes (SQLite stores 65536 as 1)
  uint32_t max_frame = 0;       // mxFrame: last committed frame, 0 when the WAL is empty
  uint32_t db_pages = 0;        // nPage: database size in pages after that frame
  bool big_endian_checksums = false;
  WalChecksum frame_checksum;  // checksum of frame max_frame (seeds the next frame)
  WalSalts salts;

  bool operator==(const WalIndexHeader&) const = default;
  // Offset just past the last committed frame.
  uint64_t end_offset() const { return wal_end_offset(max_frame, page_size); }
};

// Parses the first copy of the header from the start of region 0. Returns nullopt when the
// wal-index is not initialised (isInit == 0), e.g. before the first recovery.
std::optional<WalIndexHeader> read_wal_index_header(const void* region0);

}  // namespace ltxvfs::writer
