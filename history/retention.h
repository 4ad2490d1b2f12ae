// Retention: which remote files no restore point inside the retention window needs any more.
//
// Restore points are the TXIDs a chain restores that end a file no higher compaction level has
// compacted yet, or a snapshot. So they get coarser with age, like the levels: one per upload
// for the level-0 files newer than level 1, one per level-1 interval (30 s) up to where level 2
// reaches, one per level-2 interval (5 min) up to level 3, one per level-3 interval (1 h) for
// the rest of the window; a lower-level file a higher level has compacted is superseded. (Keeping
// every level-1 boundary for the whole window would keep the window's changes once per level:
// measured 1.56x the bound below instead of 2 x database + the window's changes.)
//
// The window keeps:
//   - every restore point committed inside the window (now - retention .. now),
//   - the newest point at or before the window's start (so a restore *to* that time works),
//   - the newest restorable TXID,
// each through the chain the restore planner would use (fewest files), so no chain is broken:
// every file of those chains is kept, and so is everything past the newest restorable TXID (a gap
// may still be filled). The compaction frontier is kept too, though a snapshot may make it
// unnecessary for restores: each level's newest file and, for the levels `policy` compacts, the
// files below it that the next compaction will read (level_compactor.h continues from there).
//
// A file no kept chain uses is deleted only a grace period after it stopped being needed, so a
// reader that planned with it (a replica pinning a snapshot) can finish: `retention_grace` after
// the file that took over from it appeared (the first file of a higher level covering its newest
// TXID: for a level-0 file, the level-1 file that compacted it; for a snapshot, a newer
// snapshot), and never sooner than `retention_grace` after it was itself written.
//
// Commit times come from the listing (LastModified), an upper bound of the commit time of a
// file's last TXID: a point is never dropped early, only sometimes kept a little longer.
//
// Pure: a listing and a clock in, decisions out (the engine deletes; `ltxvfs retention --dry-run`
// prints them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "history/history_policy.h"
#include "history/restore_plan.h"

namespace ltxvfs::history {

struct RetentionDecision {
  RemoteFile file;
  std::string reason;
  int64_t deletable_at_ms = 0;  // when the grace period ends
};

struct RetentionPlan {
  std::vector<RetentionDecision> remove;   // deletable now
  std::vector<RetentionDecision> waiting;  // not needed, kept until the grace period ends
  size_t kept = 0;                         // files a kept restore point needs
  uint64_t newest_restorable = 0;
  uint64_t oldest_kept_point = 0;  // the oldest TXID that stays restorable (0: none)
  size_t kept_points = 0;          // restore points kept restorable
  int64_t window_start_ms = 0;
  // When running again could delete more: a grace period ends or a point leaves the window.
  int64_t next_change_ms = INT64_MAX;
  std::string note;  // why nothing can be deleted at all, when that is the case
};

RetentionPlan plan_retention(const std::vector<RemoteFile>& files, int64_t now_ms,
                             const HistoryPolicy& policy);

}  // namespace ltxvfs::history
