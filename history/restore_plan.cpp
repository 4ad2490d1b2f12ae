#include "history/restore_plan.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <tuple>

namespace ltxvfs::history {
namespace {

std::string nearest(const RestoreGraph& g, uint64_t txid) {
  const auto before = g.restorable_before(txid);
  const auto after = g.restorable_after(txid);
  if (!before && !after) return " Nothing in the replica is restorable.";
  std::string s = " Nearest restorable TXIDs: ";
  s += before ? std::to_string(*before) + " (before)" : "none before";
  s += after ? ", " + std::to_string(*after) + " (after)." : ", none after.";
  return s;
}

std::string range_of(const RemoteFile& f) {
  return f.key + " (TXIDs " + std::to_string(f.min_txid) + "-" + std::to_string(f.max_txid) +
         ", level " + std::to_string(f.level) + ")";
}

}  // namespace

const RemoteFile* newest_file(const std::vector<RemoteFile>& files, uint64_t at_most) {
  const RemoteFile* newest = nullptr;
  for (const auto& f : files) {
    if (f.max_txid > at_most) continue;
    // Larger max TXID, then smaller min TXID (the two min TXIDs swapped sides), then level.
    if (newest == nullptr || std::tuple(f.max_txid, newest->min_txid, f.level) >
                                 std::tuple(newest->max_txid, f.min_txid, newest->level)) {
      newest = &f;
    }
  }
  return newest;
}

RestoreGraph::RestoreGraph(std::vector<RemoteFile> files) : files_(std::move(files)) {
  for (const auto& f : files_) newest_stored_ = std::max(newest_stored_, f.max_txid);
  search();
  if (find_forks()) search();
}

void RestoreGraph::search() {
  via_.clear();
  std::vector<bool> out_of_graph(files_.size(), false);
  for (size_t i : forked_) out_of_graph[i] = true;
  // Edges out of each TXID, in the order the search should prefer them: larger jumps first
  // (fewer files later on), then higher levels (they outlive the files they replace).
  std::map<uint64_t, std::vector<size_t>> by_start;  // min - 1 -> files
  for (size_t i = 0; i < files_.size(); ++i) {
    const RemoteFile& f = files_[i];
    if (f.min_txid == 0 || f.max_txid < f.min_txid || out_of_graph[i]) continue;
    by_start[f.min_txid - 1].push_back(i);
  }
  for (auto& [start, out] : by_start) {
    std::sort(out.begin(), out.end(), [&](size_t a, size_t b) {
      return std::tie(files_[a].max_txid, files_[a].level) >
             std::tie(files_[b].max_txid, files_[b].level);
    });
  }
  // Breadth-first: the first file to reach a TXID ends a shortest chain to it. Snapshots are
  // expanded newest first, so among equally short chains the newest snapshot wins.
  std::deque<uint64_t> queue{0};
  while (!queue.empty()) {
    const uint64_t at = queue.front();
    queue.pop_front();
    auto it = by_start.find(at);
    if (it == by_start.end()) continue;
    for (size_t i : it->second) {
      const uint64_t to = files_[i].max_txid;
      if (via_.count(to) != 0) continue;
      via_[to] = i;
      queue.push_back(to);
    }
  }
}

bool RestoreGraph::find_forks() {
  // Within a level, files never overlap in one history: each upload or compaction starts after
  // the previous one. Snapshots (min TXID 1, at level 9 or at level 0 when a writer starts a
  // new chain) overlap what came before by design and are no fork. Of two overlapping files,
  // the one on the chain to the newest TXID is the history; the other is left out. When
  // neither is on it, nothing tells which is right: both stay.
  std::map<uint32_t, std::vector<size_t>> by_level;
  for (size_t i = 0; i < files_.size(); ++i) {
    const RemoteFile& f = files_[i];
    if (f.min_txid > 1 && f.max_txid >= f.min_txid) by_level[f.level].push_back(i);
  }
  std::vector<bool> live(files_.size(), false);
  bool live_known = false;
  for (auto& [level, indexes] : by_level) {
    std::sort(indexes.begin(), indexes.end(),
              [&](size_t a, size_t b) { return files_[a].min_txid < files_[b].min_txid; });
    for (size_t x = 0; x < indexes.size(); ++x) {
      for (size_t y = x + 1; y < indexes.size(); ++y) {
        const RemoteFile& a = files_[indexes[x]];
        const RemoteFile& b = files_[indexes[y]];
        if (b.min_txid > a.max_txid) break;  // sorted by min: no later one overlaps a
        if (!live_known) {
          for (size_t i : chain_indexes(newest())) live[i] = true;
          live_known = true;
        }
        if (live[indexes[x]] != live[indexes[y]]) {
          forked_.push_back(live[indexes[x]] ? indexes[y] : indexes[x]);
        }
      }
    }
  }
  std::sort(forked_.begin(), forked_.end());
  forked_.erase(std::unique(forked_.begin(), forked_.end()), forked_.end());
  return !forked_.empty();
}

std::vector<uint64_t> RestoreGraph::restorable_txids() const {
  std::vector<uint64_t> out;
  out.reserve(via_.size());
  for (const auto& [txid, file] : via_) out.push_back(txid);
  return out;
}

std::optional<uint64_t> RestoreGraph::restorable_before(uint64_t txid) const {
  auto it = via_.lower_bound(txid);
  if (it == via_.begin()) return std::nullopt;
  return std::prev(it)->first;
}

std::optional<uint64_t> RestoreGraph::restorable_after(uint64_t txid) const {
  auto it = via_.upper_bound(txid);
  if (it == via_.end()) return std::nullopt;
  return it->first;
}

std::optional<size_t> RestoreGraph::chain_end(uint64_t txid) const {
  auto it = via_.find(txid);
  if (it == via_.end()) return std::nullopt;
  return it->second;
}

std::vector<size_t> RestoreGraph::chain_indexes(uint64_t txid) const {
  std::vector<size_t> chain;
  if (!restorable(txid)) return chain;
  for (uint64_t at = txid; at != 0;) {
    const size_t i = via_.at(at);
    chain.push_back(i);
    at = files_[i].min_txid - 1;
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

std::vector<RemoteFile> RestoreGraph::plan(uint64_t txid) const {
  if (txid == 0) throw RestoreError("TXID 0 does not exist: the first transaction is TXID 1");
  if (!restorable(txid)) throw RestoreError(why_unreachable(txid));
  std::vector<RemoteFile> chain;
  for (size_t i : chain_indexes(txid)) chain.push_back(files_[i]);
  return chain;
}

std::string RestoreGraph::why_unreachable(uint64_t txid) const {
  const std::string t = "TXID " + std::to_string(txid);
  if (files_.empty()) return t + " cannot be restored: the replica holds no LTX files";
  if (txid > newest_stored_) {
    std::string s = t +
                    " cannot be reached: it is newer than anything in the replica (the newest " +
                    "stored TXID is " + std::to_string(newest_stored_);
    if (newest() != newest_stored_) s += ", the newest restorable one " + std::to_string(newest());
    return s + "). Restore an older TXID, or wait until the writer has uploaded " + t + "." +
           nearest(*this, txid);
  }
  const RemoteFile* ends_here = nullptr;
  const RemoteFile* covering = nullptr;
  for (const auto& f : files_) {
    if (f.max_txid == txid) ends_here = &f;
    if (f.min_txid <= txid && txid < f.max_txid &&
        (covering == nullptr || f.level < covering->level)) {
      covering = &f;
    }
  }
  if (ends_here == nullptr) {
    std::string s = t + " cannot be restored on its own: no file ends there";
    if (covering != nullptr) {
      s += " (it was uploaded or compacted together with other transactions in " +
           range_of(*covering) + ")";
    }
    return s + "." + nearest(*this, txid);
  }
  const bool snapshot_before = std::any_of(files_.begin(), files_.end(), [&](const RemoteFile& f) {
    return f.min_txid == 1 && f.max_txid <= txid;
  });
  if (!snapshot_before) {
    return t +
           " cannot be restored: no snapshot (a file starting at TXID 1) ends at or before it; " +
           "older history was removed by retention or never uploaded." + nearest(*this, txid);
  }
  // A gap: the chains from the snapshots stop before txid.
  const uint64_t reached = restorable_before(txid).value_or(0);
  uint64_t next_start = UINT64_MAX;
  const RemoteFile* spanning = nullptr;
  for (const auto& f : files_) {
    if (f.min_txid > reached + 1) next_start = std::min(next_start, f.min_txid);
    if (f.min_txid <= reached + 1 && reached + 1 <= f.max_txid) spanning = &f;
  }
  std::string s = t + " cannot be reached: chains from a snapshot stop at TXID " +
                  std::to_string(reached) + " and ";
  if (spanning == nullptr) {
    s += "no file holds TXID " + std::to_string(reached + 1) + " (TXIDs " +
         std::to_string(reached + 1) + "-" + std::to_string(std::min(next_start, txid + 1) - 1) +
         " are missing from the replica)";
  } else {
    s += "no file starts at TXID " + std::to_string(reached + 1) + " (" + range_of(*spanning) +
         " starts earlier)";
  }
  return s + "." + nearest(*this, txid);
}

uint64_t newest_restorable_txid(const std::vector<RemoteFile>& files, uint64_t* gap_after) {
  const RestoreGraph graph(files);
  const uint64_t newest = graph.newest();
  if (gap_after != nullptr) *gap_after = graph.newest_stored() > newest ? newest : 0;
  return newest;
}

std::vector<RemoteFile> plan_restore(const std::vector<RemoteFile>& files, uint64_t target) {
  return RestoreGraph(files).plan(target);
}

std::optional<uint64_t> parse_txid(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  } else if (text.size() == 16) {
    base = 16;  // the form of LTX file names: %016x
  }
  if (text.empty() || text.front() == '+' || text.front() == '-') return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ec != std::errc() || end != text.data() + text.size() || v == 0) return std::nullopt;
  return v;
}

}  // namespace ltxvfs::history
