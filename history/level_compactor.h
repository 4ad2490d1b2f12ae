// Which files a level compaction merges (Litestream v0.5's scheme): level n takes the level n-1
// files beyond what level n already covers, a contiguous run starting right after level n's
// newest TXID, and writes them as one level-n file. So each level's files are contiguous and
// every boundary of level n is a boundary of level n-1: a snapshot taken at the top level's
// newest TXID lines up with every level below it.
//
// Pure functions over a listing; remote_compactor.h does the I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "history/restore_plan.h"

namespace ltxvfs::history {

// At most this many inputs per output file (the merge keeps one open source per input); a longer
// run is compacted in several files.
inline constexpr size_t kMaxCompactionInputs = 4096;

// The inputs of the next level-`level` file (level >= 1), in TXID order; empty when level
// `level - 1` holds nothing new. Starts at the level-(n-1) file continuing right after level n's
// newest TXID; when there is none, at a level-(n-1) snapshot (min TXID 1) newer than level n (the
// writer started over); when level n is empty, at the oldest level-(n-1) file. Then follows the
// run of contiguous files (the longest file first when several start at the same TXID) up to
// the first gap or `max_inputs`.
std::vector<RemoteFile> level_inputs(const std::vector<RemoteFile>& files, uint32_t level,
                                     size_t max_inputs = kMaxCompactionInputs);

// The newest TXID the files of `level` reach (0 when it has none).
uint64_t level_max_txid(const std::vector<RemoteFile>& files, uint32_t level);

}  // namespace ltxvfs::history
