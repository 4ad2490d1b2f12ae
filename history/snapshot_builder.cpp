#include "history/snapshot_builder.h"

#include <algorithm>

#include "history/level_compactor.h"
#include "storage/replica_layout.h"

namespace ltxvfs::history {

std::optional<SnapshotPlan> plan_snapshot(const std::vector<RemoteFile>& files,
                                          uint32_t top_level) {
  const RestoreGraph graph(files);
  uint64_t txid = 0;
  for (uint32_t level = top_level; level >= 1 && txid == 0; --level) {
    for (const auto& f : files) {
      if (f.level == level && graph.restorable(f.max_txid)) txid = std::max(txid, f.max_txid);
    }
  }
  if (txid == 0) txid = graph.newest();
  if (txid == 0 || txid <= level_max_txid(files, storage::kSnapshotLevel)) return std::nullopt;
  return SnapshotPlan{txid, graph.plan(txid)};
}

}  // namespace ltxvfs::history
