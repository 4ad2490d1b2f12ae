// The page number of each WAL frame, as the wal-index (the `-shm` file) records it.
//
// SQLite appends every frame's page number to the wal-index's hash-table blocks as it writes the
// frame (wal.c, walIndexAppend; walformat.html, "the wal-index hash tables"): region i, 32 KiB,
// starts with an array of 4096 host-order u32 page numbers, one per frame, except that region 0's
// array begins after the 136-byte wal-index header and so holds 4062 frames. SQLite's readers
// find pages through these arrays, and the format is shared by every SQLite version that opens
// the database, so it is stable.
//
// Read under the WAL write lock right after a commit, they say which page every frame of that
// commit holds, so the builder need not read the frames back to learn it (it reads only the
// newest copy of each page, and checks that frame's header).
#pragma once

#include <cstdint>
#include <span>

namespace ltxvfs::writer {

inline constexpr uint32_t kWalIndexRegionBytes = 32768;
inline constexpr uint32_t kWalIndexFramesPerRegion = 4096;
// Region 0's array starts after the wal-index header (2 x 48 bytes) and checkpoint info (40).
inline constexpr uint32_t kWalIndexHeaderWords = 136 / 4;
inline constexpr uint32_t kWalIndexRegion0Frames = kWalIndexFramesPerRegion - kWalIndexHeaderWords;

// Copies the page numbers of frames first..first + out.size() - 1 (1-based) into `out`, reading
// the mapped regions (`regions[i]`: region i's base, or nullptr when not mapped). Returns false
// when a region is not mapped or an entry is 0 (not a page: the wal-index does not hold that
// frame); `out` is then unspecified.
bool read_frame_pages(std::span<const void* const> regions, uint32_t first,
                      std::span<uint32_t> out);

}  // namespace ltxvfs::writer
