// Finds the committed transactions in a WAL by reading it back, the way SQLite's own recovery
// does: a frame counts only if its salts match the header and the running checksum over every
// frame since the header matches. We never trust the write stream alone: SQLite rewrites page data
// in place inside a transaction and rewrites frame checksums at commit.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "vfs/writer/wal_format.h"

namespace ltxvfs::writer {

// Reads up to `out.size()` bytes at `offset`; returns the number read (short only at EOF).
using ReadAt = std::function<size_t(uint64_t offset, std::span<uint8_t> out)>;

// A place in a WAL: just past a commit frame (or the header), with the running checksum there.
struct WalPosition {
  WalSalts salts;
  uint32_t page_size = 0;
  bool big_endian_checksums = false;
  uint64_t offset = kWalHeaderSize;
  WalChecksum checksum;

  static WalPosition at_start(const WalHeader& header) {
    return {header.salts, header.page_size, header.big_endian_checksums(), kWalHeaderSize,
            header.checksum};
  }
  bool operator==(const WalPosition&) const = default;
};

struct WalFrameRef {
  uint32_t pgno = 0;
  uint64_t data_offset = 0;  // offset of the page bytes (just past the frame header)
};

struct WalTransaction {
  std::vector<WalFrameRef> frames;  // in WAL order; a page may appear more than once
  uint32_t commit = 0;              // database size in pages after the transaction
  WalPosition end;                  // just past the commit frame
};

// Every complete (committed) transaction from `from` up to `limit` bytes, in order. Stops at the
// first frame that is invalid (wrong salts or checksum, short read) or at `limit`; frames after
// the last commit frame (an open or rolled-back transaction) are not returned.
std::vector<WalTransaction> scan_committed(const ReadAt& read, const WalPosition& from,
                                           uint64_t limit);

}  // namespace ltxvfs::writer
