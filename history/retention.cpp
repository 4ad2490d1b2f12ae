#include "history/retention.h"

#include <algorithm>
#include <map>
#include <set>

#include "base/time_spec.h"
#include "storage/replica_layout.h"

namespace ltxvfs::history {
namespace {

// For a file that is not kept: the first file of a higher level that covers its newest TXID
// (the file that took over from it: for a level-0 file, the level-1 file that compacted it). A
// segment tree over the TXIDs files start and end at, with "earliest" tags on the nodes each
// added range covers; a point query is the earliest tag along one root-to-leaf path.
class CoverIndex {
 public:
  explicit CoverIndex(const std::vector<RemoteFile>& files) : files_(files) {
    for (const auto& f : files) {
      coords_.push_back(f.min_txid);
      coords_.push_back(f.max_txid);
    }
    std::sort(coords_.begin(), coords_.end());
    coords_.erase(std::unique(coords_.begin(), coords_.end()), coords_.end());
    size_ = 1;
    while (size_ < coords_.size()) size_ *= 2;
    tags_.assign(2 * size_, kNone);
  }

  void add(size_t file) {
    const size_t lo = index(files_[file].min_txid), hi = index(files_[file].max_txid) + 1;
    // Iterative segment tree: tag the O(log n) nodes covering [lo, hi).
    for (size_t l = lo + size_, r = hi + size_; l < r; l /= 2, r /= 2) {
      if (l & 1) tag(l++, file);
      if (r & 1) tag(--r, file);
    }
  }

  // The earliest written (by LastModified) added file covering `txid`, or kNone.
  size_t earliest_covering(uint64_t txid) const {
    size_t best = kNone;
    for (size_t node = index(txid) + size_; node >= 1; node /= 2) {
      best = earlier(best, tags_[node]);
    }
    return best;
  }

  static constexpr size_t kNone = SIZE_MAX;

 private:
  size_t index(uint64_t txid) const {
    return static_cast<size_t>(std::lower_bound(coords_.begin(), coords_.end(), txid) -
                               coords_.begin());
  }
  size_t earlier(size_t a, size_t b) const {
    if (a == kNone) return b;
    if (b == kNone) return a;
    return files_[b].last_modified_ms < files_[a].last_modified_ms ? b : a;
  }
  void tag(size_t node, size_t file) { tags_[node] = earlier(tags_[node], file); }

  const std::vector<RemoteFile>& files_;
  std::vector<uint64_t> coords_;
  size_t size_ = 1;
  std::vector<size_t> tags_;
};

std::string describe(const RemoteFile& f) {
  return f.key + " (level " + std::to_string(f.level) + ", TXIDs " + std::to_string(f.min_txid) +
         "-" + std::to_string(f.max_txid) + ")";
}

// How far each level's files reach; what a level covers, the levels below it need not keep as
// restore points (their files are superseded).
struct LevelReach {
  explicit LevelReach(const std::vector<RemoteFile>& all)
      : level_max(storage::kSnapshotLevel, 0), covered_above(storage::kSnapshotLevel, 0) {
    for (const auto& f : all) {
      if (f.level < storage::kSnapshotLevel) {
        level_max[f.level] = std::max(level_max[f.level], f.max_txid);
      }
    }
    for (int level = static_cast<int>(storage::kSnapshotLevel) - 2; level >= 0; --level) {
      covered_above[level] = std::max(covered_above[level + 1], level_max[level + 1]);
    }
  }
  bool superseded(const RemoteFile& f) const {
    return f.level < storage::kSnapshotLevel && f.max_txid <= covered_above[f.level];
  }

  std::vector<uint64_t> level_max;      // by level below the snapshots
  std::vector<uint64_t> covered_above;  // by any higher level, not 9
};

// Restore points: the ends of files no higher level has compacted (the top level's, then the
// newer ends of each level below: restore points get coarser with age, one per top-level
// interval in the end) and of snapshots; with an upper bound of their commit times (the earliest
// upload of any file ending there). Kept: those inside the window, the newest one before it (the
// window's start must stay restorable) and the newest restorable TXID. Sets the plan's
// next_change_ms to when the first kept point leaves the window.
std::set<uint64_t> kept_restore_points(const RestoreGraph& graph, const LevelReach& reach,
                                       const HistoryPolicy& policy, RetentionPlan& plan) {
  const auto& all = graph.files();
  std::map<uint64_t, int64_t> points;
  for (const auto& f : all) {
    if (!reach.superseded(f) && graph.restorable(f.max_txid)) points.emplace(f.max_txid, INT64_MAX);
  }
  for (const auto& f : all) {
    auto it = points.find(f.max_txid);
    if (it != points.end()) it->second = std::min(it->second, f.last_modified_ms);
  }
  std::set<uint64_t> kept_points;
  uint64_t anchor = 0;
  for (const auto& [txid, time] : points) {
    if (time >= plan.window_start_ms) {
      kept_points.insert(txid);
      plan.next_change_ms = std::min(plan.next_change_ms, time + policy.retention_ms);
    } else {
      anchor = txid;  // ascending: ends as the newest point before the window
    }
  }
  if (anchor != 0) kept_points.insert(anchor);
  kept_points.insert(plan.newest_restorable);
  return kept_points;
}

// The files to keep, by index in graph.files(): every file of the chains of the kept points,
// everything past the newest restorable TXID, and the compaction frontier.
std::vector<bool> files_to_keep(const RestoreGraph& graph, const LevelReach& reach,
                                const std::set<uint64_t>& kept_points, uint64_t newest_restorable,
                                const HistoryPolicy& policy) {
  const auto& all = graph.files();
  // Chains share prefixes (the planner's choices form a tree), so each TXID is walked once.
  std::vector<bool> keep(all.size(), false);
  std::set<uint64_t> walked;
  for (uint64_t txid : kept_points) {
    for (uint64_t at = txid; at != 0 && walked.insert(at).second;) {
      const size_t i = *graph.chain_end(at);
      keep[i] = true;
      at = all[i].min_txid - 1;
    }
  }
  // Past the newest restorable TXID nothing can be judged (a gap may still be filled).
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].max_txid > newest_restorable) keep[i] = true;
  }
  // The compaction frontier, which no restore point may need (a snapshot covers it) but the
  // levels do: each level's newest file, where its next compaction continues, and the files of
  // the level below beyond it, which that compaction will read. Without them a level would fall
  // back and find its inputs gone.
  for (size_t i = 0; i < all.size(); ++i) {
    const RemoteFile& f = all[i];
    if (f.level >= storage::kSnapshotLevel) continue;
    if (f.level >= 1 && f.max_txid == reach.level_max[f.level]) keep[i] = true;
    if (f.level + 1 <= policy.top_level() && f.max_txid > reach.level_max[f.level + 1]) {
      keep[i] = true;
    }
  }
  return keep;
}

// Who took over from each file not kept: the first file above it covering its newest TXID (a
// higher level, or a newer snapshot), kept or not: from the moment it appeared, restores plan
// with it instead. Levels are swept from the top, so the index holds exactly the files of the
// levels above the one being looked at. CoverIndex::kNone for a kept file or one nothing covers.
std::vector<size_t> replacements(const std::vector<RemoteFile>& all,
                                 const std::vector<bool>& keep) {
  std::vector<size_t> replaced_by(all.size(), CoverIndex::kNone);
  std::vector<std::vector<size_t>> by_level(storage::kSnapshotLevel + 1);
  for (size_t i = 0; i < all.size(); ++i) {
    by_level[std::min(all[i].level, storage::kSnapshotLevel)].push_back(i);
  }
  const auto& snapshots = by_level[storage::kSnapshotLevel];
  for (size_t i : snapshots) {
    if (keep[i]) continue;
    for (size_t j : snapshots) {
      if (all[j].max_txid > all[i].max_txid &&
          (replaced_by[i] == CoverIndex::kNone ||
           all[j].last_modified_ms < all[replaced_by[i]].last_modified_ms)) {
        replaced_by[i] = j;
      }
    }
  }
  CoverIndex cover(all);
  for (int level = static_cast<int>(storage::kSnapshotLevel) - 1; level >= 0; --level) {
    for (size_t i : by_level[static_cast<size_t>(level) + 1]) cover.add(i);
    for (size_t i : by_level[static_cast<size_t>(level)]) {
      if (!keep[i]) replaced_by[i] = cover.earliest_covering(all[i].max_txid);
    }
  }
  return replaced_by;
}

// The decision for file `f`, not kept, which `by` took over from (CoverIndex::kNone: nothing):
// deletable a grace period after it was last needed, that is after `by` appeared.
RetentionDecision decide(const RemoteFile& f, const RemoteFile* by,
                         const std::set<uint64_t>& kept_points, const LevelReach& reach,
                         const HistoryPolicy& policy) {
  int64_t unneeded_since = f.last_modified_ms;
  if (by != nullptr) unneeded_since = std::max(unneeded_since, by->last_modified_ms);
  RetentionDecision d{f, {}, unneeded_since + policy.retention_grace_ms};
  if (kept_points.count(f.max_txid) != 0) {
    d.reason = "superseded: TXID " + std::to_string(f.max_txid) + " stays restorable through " +
               (by != nullptr ? describe(*by) : std::string("other files"));
  } else if (reach.superseded(f)) {
    d.reason = "level " + std::to_string(f.level) + " file compacted into " +
               (by != nullptr ? describe(*by) : std::string("a higher level"));
  } else {
    d.reason = "older than the retention window (" + format_duration_ms(policy.retention_ms) +
               ") and no restore point inside it needs it";
  }
  return d;
}

}  // namespace

RetentionPlan plan_retention(const std::vector<RemoteFile>& files, int64_t now_ms,
                             const HistoryPolicy& policy) {
  RetentionPlan plan;
  plan.window_start_ms = now_ms - policy.retention_ms;
  const RestoreGraph graph(files);
  plan.newest_restorable = graph.newest();
  if (policy.retention_ms <= 0) {
    plan.note = "retention is off: nothing is deleted";
    plan.kept = files.size();
    return plan;
  }
  if (plan.newest_restorable == 0) {
    plan.note = "nothing in the replica is restorable: nothing is deleted";
    plan.kept = files.size();
    return plan;
  }
  const auto& all = graph.files();
  const LevelReach reach(all);
  const std::set<uint64_t> kept_points = kept_restore_points(graph, reach, policy, plan);
  plan.kept_points = kept_points.size();
  plan.oldest_kept_point = *kept_points.begin();
  const std::vector<bool> keep =
      files_to_keep(graph, reach, kept_points, plan.newest_restorable, policy);
  plan.kept = static_cast<size_t>(std::count(keep.begin(), keep.end(), true));

  const std::vector<size_t> replaced_by = replacements(all, keep);
  for (size_t i = 0; i < all.size(); ++i) {
    if (keep[i]) continue;
    const size_t by = replaced_by[i];
    RetentionDecision d =
        decide(all[i], by != CoverIndex::kNone ? &all[by] : nullptr, kept_points, reach, policy);
    if (now_ms >= d.deletable_at_ms) {
      plan.remove.push_back(std::move(d));
    } else {
      d.reason +=
          "; kept until the grace period ends at " + base::format_rfc3339_ms(d.deletable_at_ms);
      plan.next_change_ms = std::min(plan.next_change_ms, d.deletable_at_ms);
      plan.waiting.push_back(std::move(d));
    }
  }
  return plan;
}

}  // namespace ltxvfs::history
