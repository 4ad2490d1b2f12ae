#include "history/history_engine.h"

#include <algorithm>
#include <set>

#include "history/committed_history.h"
#include "history/level_compactor.h"
#include "history/restore_plan.h"
#include "history/snapshot_builder.h"
#include "storage/replica_layout.h"

namespace ltxvfs::history {
namespace {

constexpr int64_t kNever = INT64_MIN;
constexpr size_t kDeleteBatch = 1000;  // S3's DeleteObjects limit

// The bytes of `file`'s page index a replica's open reads whole: its tail, when the head names
// one without a directory (a directory's index is read in parts, when a lookup needs them).
uint64_t read_whole(const HeadRecord& head, const RemoteFile& file) {
  const TailHint* hint = head.tail_of(file);
  return hint && hint->directory.empty() ? hint->tail_bytes : 0;
}

// The start of the interval `now` is in: Litestream compacts at multiples of the interval.
int64_t window_start(int64_t now_ms, int64_t interval_ms) {
  const int64_t q = now_ms / interval_ms;
  return (now_ms % interval_ms < 0 ? q - 1 : q) * interval_ms;
}

int64_t newest_write_at(const std::vector<RemoteFile>& files, uint32_t level) {
  int64_t t = kNever;
  for (const auto& f : files) {
    if (f.level == level) t = std::max(t, f.last_modified_ms);
  }
  return t;
}

uint64_t total_size(const std::vector<RemoteFile>& files) {
  uint64_t n = 0;
  for (const auto& f : files) n += f.size;
  return n;
}

}  // namespace

HistoryEngine::HistoryEngine(storage::ObjectStore& store, storage::LayoutStyle layout,
                             ltx::OutputFormat format, HistoryPolicy policy, CompactionWork work)
    : store_(store),
      layout_(layout),
      format_(format),
      policy_(std::move(policy)),
      work_(work),
      compactor_(store, layout, format, std::move(work)),
      snapshot_attempted_ms_(kNever) {}

HistoryRunReport HistoryEngine::run_due(int64_t now_ms, std::optional<History> listed,
                                        std::optional<uint64_t> changes) {
  const RunNowOptions all{true, true, true};
  if (!listed && changes && known_ && known_->changes == *changes &&
      now_ms - known_->read_at_ms < kTrustedListingMs) {
    // Nothing changed but through this engine: decide from its own listing (a copy: a dry run
    // changes nothing, but keep the listing whatever happens).
    History copy = known_->history;
    if (auto quiet = run(now_ms, true, all, copy, /*dry=*/true)) {
      quiet->read_store = false;
      return *quiet;
    }
  }
  // Kept only when read here, after `changes` was: the caller's listing may predate it.
  const bool own_reading = !listed;
  known_.reset();
  History history = listed ? std::move(*listed) : read_history(store_, layout_);
  HistoryRunReport report = *run(now_ms, true, all, history, /*dry=*/false);
  if (own_reading && changes) known_ = Known{std::move(history), *changes, now_ms};
  return report;
}

HistoryRunReport HistoryEngine::run_now(int64_t now_ms, const RunNowOptions& what) {
  known_.reset();
  History history = read_history(store_, layout_);
  return *run(now_ms, false, what, history, /*dry=*/false);
}

int64_t HistoryEngine::content_time(const RemoteFile& file) const {
  const auto it = content_times_.find(file.key);
  return it != content_times_.end() ? it->second : file.last_modified_ms;
}

HistoryEngine::OpenIndex HistoryEngine::open_index(const std::vector<RemoteFile>& files,
                                                   const HeadRecord& head, uint32_t below,
                                                   uint32_t above) const {
  const uint64_t covered = level_max_txid(files, above);
  OpenIndex out;
  for (const auto& f : files) {
    if (f.level != below || f.max_txid <= covered) continue;
    ++out.files;
    out.bytes += read_whole(head, f);
  }
  return out;
}

uint64_t HistoryEngine::chain_index_bytes(const std::vector<RemoteFile>& files,
                                          const HeadRecord& head) const {
  // What an open reads whole: the newest snapshot's index, the top level's files after it, and
  // each level's files beyond the next level's.
  const uint32_t top = policy_.top_level();
  uint64_t bytes = open_index(files, head, top, storage::kSnapshotLevel).bytes;
  for (uint32_t n = 1; n <= top; ++n) bytes += open_index(files, head, n - 1, n).bytes;
  const RemoteFile* snapshot = nullptr;
  for (const auto& f : files) {
    if (f.level == storage::kSnapshotLevel && (!snapshot || f.max_txid > snapshot->max_txid)) {
      snapshot = &f;
    }
  }
  return snapshot ? bytes + read_whole(head, *snapshot) : bytes;
}

bool HistoryEngine::early(const std::vector<RemoteFile>& files, const HeadRecord& head,
                          uint32_t level) const {
  const uint64_t budget = policy_.early_index_bytes;
  if (budget == 0) return false;
  // One input would only move up a level, its index unchanged: it waits for a second.
  const OpenIndex own = open_index(files, head, level - 1, level);
  if (own.files < 2 || own.bytes < budget / 4) return false;
  return chain_index_bytes(files, head) > budget;
}

bool HistoryEngine::due(const History& history, uint32_t level, int64_t window_ms) const {
  const std::vector<RemoteFile>& files = history.files;
  const auto older = [&](const RemoteFile& f) { return content_time(f) < window_ms; };
  // Once per interval, as Litestream: the level's newest file (if any) is from before the
  // interval's start. And again when a run stopped between two output files: one of the next
  // inputs is from before it. And early, when the inputs' short indexes make a replica's open
  // long (HistoryPolicy::early_index_bytes).
  const bool scheduled = newest_write_at(files, level) < window_ms ||
                         (history.head && early(files, *history.head, level));
  // One pass over the listing first: level_inputs() builds the restore graph (milliseconds for a
  // few thousand files), and the open of every short-lived connection asks this of every level.
  const uint64_t covered = level_max_txid(files, level);
  bool beyond = false, older_beyond = false;
  for (const auto& f : files) {
    if (f.level != level - 1 || f.max_txid <= covered) continue;
    beyond = true;
    older_beyond = older_beyond || older(f);
  }
  if (!beyond || (!scheduled && !older_beyond)) return false;
  const std::vector<RemoteFile> inputs = level_inputs(files, level);
  return !inputs.empty() && (scheduled || std::any_of(inputs.begin(), inputs.end(), older));
}

void HistoryEngine::compact_level(uint32_t level, History& history, int64_t now_ms,
                                  int64_t due_window_ms, int64_t content_before_ms,
                                  HistoryRunReport& report) {
  std::vector<RemoteFile>& files = history.files;
  if (!due(history, level, due_window_ms)) return;
  // A long run of inputs is compacted in several files, each bounded in inputs and in memory.
  for (;;) {
    check_stop();
    std::vector<RemoteFile> inputs = level_inputs(files, level);
    uint64_t memory = 0;
    size_t n = 0;
    while (n < inputs.size() && content_time(inputs[n]) < content_before_ms &&
           (n == 0 || memory + compaction_memory_of(inputs[n], work_) <= kCompactionMemoryBudget)) {
      memory += compaction_memory_of(inputs[n], work_);
      ++n;
    }
    inputs.resize(n);
    if (inputs.empty()) return;
    int64_t newest = kNever;
    for (const auto& f : inputs) newest = std::max(newest, content_time(f));
    WrittenFile w = compactor_.write(level, inputs, now_ms);
    content_times_[w.file.key] = newest;
    // The output's hints, as the writer records them in the head: the next level's early
    // decision in this run counts its index (a short output piles up at that level).
    if (history.head) history.head->note_written(w.file, w.hints);
    files.push_back(w.file);
    report.written.push_back(std::move(w));
  }
}

void HistoryEngine::check_stop() const {
  if (work_.stop_requested && work_.stop_requested()) {
    throw WorkStopped("history engine stopped between steps (asked to stop)");
  }
}

void HistoryEngine::delete_files(const std::vector<RetentionDecision>& decisions) {
  // Any subset of these deletions is safe (none is needed by a kept chain), so a failure or a
  // crash between batches leaves a restorable store.
  // Each batch is preceded by the owner check: a delete is the one step no later check can undo.
  const auto remove = [&](const std::vector<std::string>& batch) {
    if (work_.confirm_owner) work_.confirm_owner();
    store_.remove(batch);
  };
  std::vector<std::string> keys;
  for (const auto& d : decisions) {
    keys.push_back(d.file.key);
    if (keys.size() == kDeleteBatch) {
      remove(keys);
      keys.clear();
    }
  }
  if (!keys.empty()) remove(keys);
}

void HistoryEngine::snapshot(std::vector<RemoteFile>& files, int64_t now_ms,
                             HistoryRunReport& report) {
  check_stop();
  auto plan = plan_snapshot(files, policy_.top_level());
  if (!plan) return;
  // The open's listing leaves the sizes of level-0 files level 1 holds out (open_listing.h); the
  // levels keep such files off a snapshot's chain, and this makes sure.
  for (auto& f : plan->chain) {
    if (f.size != 0) continue;
    const auto info = store_.head(f.key);
    if (info) f.size = info->size;
  }
  const auto add = [&](WrittenFile w) {
    files.push_back(w.file);
    report.written.push_back(std::move(w));
  };
  if (total_size(plan->chain) <= kCloseSnapshotBytes) {
    add(compactor_.write(storage::kSnapshotLevel, plan->chain, now_ms));
    return;
  }
  // A larger one is skipped by a closing writer, or abandoned when the close comes while it is
  // being built; the run goes on (retention).
  if (closing()) return;
  CompactionWork work = work_;
  work.stop_requested = [stop = work_.stop_requested, closing = work_.closing] {
    return (stop && stop()) || (closing && closing());
  };
  try {
    add(RemoteCompactor(store_, layout_, format_, std::move(work))
            .write(storage::kSnapshotLevel, plan->chain, now_ms));
  } catch (const WorkStopped&) {
    if (!closing()) throw;
    check_stop();  // asked to stop as well: the whole run stops
  }
}

std::optional<HistoryRunReport> HistoryEngine::run(int64_t now_ms, bool due_only,
                                                   const RunNowOptions& what, History& history,
                                                   bool dry) {
  if (stopped_) throw HistoryConflict(*stopped_);
  HistoryRunReport report;
  std::vector<RemoteFile>& files = history.files;
  report.files_listed = files.size();
  try {
    if (what.levels && !run_levels(history, now_ms, due_only, what, dry, report)) {
      return std::nullopt;
    }
    if (what.snapshot && (policy_.snapshot_interval_ms > 0 || !due_only) &&
        snapshot_due(files, now_ms, due_only, report)) {
      if (dry) return std::nullopt;
      snapshot(files, now_ms, report);
      snapshot_attempted_ms_ = now_ms;
    }
    if (what.retention && policy_.retention_ms > 0 &&
        !run_retention(history, now_ms, dry, report)) {
      return std::nullopt;
    }
  } catch (const HistoryConflict& e) {
    stopped_ = e.what();
    throw;
  }
  return report;
}

bool HistoryEngine::run_levels(History& history, int64_t now_ms, bool due_only,
                               const RunNowOptions& what, bool dry, HistoryRunReport& report) {
  for (uint32_t level = 1; level <= policy_.top_level(); ++level) {
    const int64_t interval = policy_.level_intervals_ms[level - 1];
    const int64_t window = window_start(now_ms, interval);
    const int64_t due_window = due_only ? window : INT64_MAX;
    report.next_due_ms = std::min(report.next_due_ms, window + interval);
    // A dry run stops at the first level with work: the real run reads the store again.
    if (dry) {
      if (due(history, level, due_window)) return false;
      continue;
    }
    // Run by hand (`ltxvfs compact`), every level is due, and takes only what the writer's
    // schedule would have given it by now: inputs whose newest commit is before the level's
    // current window. Compacting newer ones coarsens the restore points the schedule keeps
    // (issue 16, item 8: every level at once left one restore point of 62).
    const bool cut = !due_only && what.keep_schedule_points;
    compact_level(level, history, now_ms, due_window, cut ? window : INT64_MAX, report);
  }
  return true;
}

bool HistoryEngine::snapshot_due(const std::vector<RemoteFile>& files, int64_t now_ms,
                                 bool due_only, HistoryRunReport& report) const {
  if (!due_only) return true;
  const int64_t interval = policy_.snapshot_interval_ms;
  const int64_t window = window_start(now_ms, interval);
  report.next_due_ms = std::min(report.next_due_ms, window + interval);
  int64_t last = std::max(snapshot_attempted_ms_, newest_write_at(files, storage::kSnapshotLevel));
  if (last == kNever) {
    // No snapshot yet: count from when the history began, so a new replica gets its first
    // one at the first interval boundary, not at once (its first file is a snapshot).
    for (const auto& f : files) {
      last = last == kNever ? f.last_modified_ms : std::min(last, f.last_modified_ms);
    }
  }
  return last != kNever && last < window;
}

bool HistoryEngine::run_retention(History& history, int64_t now_ms, bool dry,
                                  HistoryRunReport& report) {
  check_stop();
  RetentionPlan plan = plan_retention(history.files, now_ms, policy_);
  // A fenced-out writer's late upload (history/head_record.h) is part of no history: it goes
  // after the grace period, as any file no restore point needs.
  for (const auto& f : history.strays) {
    if (now_ms - f.last_modified_ms >= policy_.retention_grace_ms) {
      plan.remove.push_back({f, "a fenced-out writer's upload (not in head.json)", 0});
    }
  }
  if (dry && !plan.remove.empty()) return false;
  delete_files(plan.remove);
  // What is gone leaves the listing, which a later run may decide from (run_due).
  std::set<std::string> gone;
  for (const auto& d : plan.remove) gone.insert(d.file.key);
  const auto deleted = [&](const RemoteFile& f) { return gone.count(f.key) != 0; };
  std::erase_if(history.files, deleted);
  std::erase_if(history.strays, deleted);
  report.deleted = std::move(plan.remove);
  report.waiting = plan.waiting.size();
  if (plan.next_change_ms > now_ms) {
    report.next_due_ms = std::min(report.next_due_ms, plan.next_change_ms);
  }
  return true;
}

}  // namespace ltxvfs::history
