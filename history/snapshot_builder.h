// Level-9 snapshots built from the remote chain, not from the database: the restore chain of a
// TXID is compacted into one file whose min TXID is 1 (remote_compactor.h writes it). The TXID is
// the newest boundary of the highest compaction level that has files, so the snapshot lines up
// with every level's files after it (see level_compactor.h) and restores after it need only
// whole files of each level.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "history/restore_plan.h"

namespace ltxvfs::history {

struct SnapshotPlan {
  uint64_t txid = 0;
  std::vector<RemoteFile> chain;  // starts with a snapshot; compacting it gives 1..txid
};

// nullopt when level 9 already holds a snapshot at or after that TXID (or nothing is
// restorable). `top_level` is the highest configured compaction level (0: none; then the newest
// restorable TXID is used).
std::optional<SnapshotPlan> plan_snapshot(const std::vector<RemoteFile>& files, uint32_t top_level);

}  // namespace ltxvfs::history
