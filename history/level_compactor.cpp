#include "history/level_compactor.h"

#include <algorithm>
#include <map>

#include "history/restore_plan.h"

namespace ltxvfs::history {

uint64_t level_max_txid(const std::vector<RemoteFile>& files, uint32_t level) {
  uint64_t max = 0;
  for (const auto& f : files) {
    if (f.level == level) max = std::max(max, f.max_txid);
  }
  return max;
}

std::vector<RemoteFile> level_inputs(const std::vector<RemoteFile>& files, uint32_t level,
                                     size_t max_inputs) {
  std::vector<RemoteFile> out;
  if (level == 0 || max_inputs == 0) return out;
  const uint32_t src = level - 1;
  const uint64_t covered = level_max_txid(files, level);
  const bool dst_empty = std::none_of(files.begin(), files.end(),
                                      [&](const RemoteFile& f) { return f.level == level; });

  // Source files by min TXID; the longest first where several start together. The losing side
  // of a fork (restore_plan.h RestoreGraph::forked) is no input: compacting it would put a
  // fenced-out writer's transactions into the history.
  const RestoreGraph graph(files);
  std::vector<bool> forked(files.size(), false);
  for (size_t i : graph.forked()) forked[i] = true;
  std::multimap<uint64_t, const RemoteFile*> by_min;
  for (size_t i = 0; i < files.size(); ++i) {
    const RemoteFile& f = files[i];
    if (f.level == src && f.max_txid > covered && !forked[i]) by_min.emplace(f.min_txid, &f);
  }
  if (by_min.empty()) return out;
  auto longest_from = [&](uint64_t min) -> const RemoteFile* {
    const RemoteFile* best = nullptr;
    auto [lo, hi] = by_min.equal_range(min);
    for (auto it = lo; it != hi; ++it) {
      if (best == nullptr || it->second->max_txid > best->max_txid) best = it->second;
    }
    return best;
  };

  // Right after this level (for an empty level: a snapshot); else a snapshot newer than this
  // level (the writer uploaded a new start of history); else, for an empty level, the oldest
  // source file.
  const RemoteFile* start = longest_from(covered + 1);
  if (start == nullptr) start = longest_from(1);
  if (start == nullptr && dst_empty) start = longest_from(by_min.begin()->first);
  if (start == nullptr) return out;  // a gap right after this level: nothing to do yet
  out.push_back(*start);
  while (out.size() < max_inputs) {
    const RemoteFile* next = longest_from(out.back().max_txid + 1);
    if (next == nullptr) break;
    out.push_back(*next);
  }
  return out;
}

}  // namespace ltxvfs::history
