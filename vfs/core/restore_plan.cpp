#include "vfs/core/restore_plan.h"

#include <algorithm>
#include <deque>
#include <map>

namespace ltxvfs::core {
namespace {

// Breadth-first search over TXIDs: a file is an edge from (min-1) to max; snapshots start from 0.
// Returns, for every reachable TXID, the file (index) that reached it first (fewest files).
std::map<uint64_t, size_t> reach(const std::vector<RemoteFile>& files, uint64_t limit) {
  std::multimap<uint64_t, size_t> by_start;  // min-1 -> file
  for (size_t i = 0; i < files.size(); ++i) {
    if (files[i].max_txid <= limit) by_start.emplace(files[i].min_txid - 1, i);
  }
  std::map<uint64_t, size_t> via;
  std::deque<uint64_t> queue{0};
  while (!queue.empty()) {
    const uint64_t at = queue.front();
    queue.pop_front();
    auto [lo, hi] = by_start.equal_range(at);
    // Larger jumps first, so equal-length chains prefer compacted files.
    std::vector<size_t> next;
    for (auto it = lo; it != hi; ++it) next.push_back(it->second);
    std::sort(next.begin(), next.end(),
              [&](size_t a, size_t b) { return files[a].max_txid > files[b].max_txid; });
    for (size_t i : next) {
      const uint64_t to = files[i].max_txid;
      if (to == 0 || via.count(to) != 0) continue;
      via[to] = i;
      queue.push_back(to);
    }
  }
  return via;
}

}  // namespace

std::vector<RemoteFile> list_ltx_files(storage::ObjectStore& store, storage::LayoutStyle layout) {
  std::vector<RemoteFile> out;
  for (const auto& obj : store.list(storage::ltx_root_prefix(layout))) {
    auto key = storage::parse_ltx_key(layout, obj.key);
    if (!key) continue;
    out.push_back(
        {key->level, key->min_txid, key->max_txid, obj.key, obj.size, obj.last_modified_ms});
  }
  std::sort(out.begin(), out.end(), [](const RemoteFile& a, const RemoteFile& b) {
    return std::tie(a.level, a.min_txid, a.max_txid) < std::tie(b.level, b.min_txid, b.max_txid);
  });
  return out;
}

uint64_t newest_restorable_txid(const std::vector<RemoteFile>& files, uint64_t* gap_after) {
  auto via = reach(files, UINT64_MAX);
  const uint64_t newest = via.empty() ? 0 : via.rbegin()->first;
  if (gap_after != nullptr) {
    uint64_t remote_max = 0;
    for (const auto& f : files) remote_max = std::max(remote_max, f.max_txid);
    *gap_after = remote_max > newest ? newest : 0;
  }
  return newest;
}

std::vector<RemoteFile> plan_restore(const std::vector<RemoteFile>& files, uint64_t target) {
  if (target == 0) throw RestoreError("TXID 0 does not exist: the first transaction is TXID 1");
  auto via = reach(files, target);
  if (via.count(target) == 0) {
    bool has_snapshot = std::any_of(files.begin(), files.end(), [&](const RemoteFile& f) {
      return f.min_txid == 1 && f.max_txid <= target;
    });
    if (!has_snapshot) {
      throw RestoreError("no snapshot at or before TXID " + std::to_string(target) +
                         " (the replica's files start later, or it is empty)");
    }
    const uint64_t reached = via.empty() ? 0 : via.rbegin()->first;
    throw RestoreError(
        "TXID " + std::to_string(target) + " cannot be reached: the replica has a gap after TXID " +
        std::to_string(reached) + " (no file starts at TXID " + std::to_string(reached + 1) + ")");
  }
  std::vector<RemoteFile> chain;
  for (uint64_t at = target; at != 0;) {
    const RemoteFile& f = files[via.at(at)];
    chain.push_back(f);
    at = f.min_txid - 1;
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

}  // namespace ltxvfs::core
