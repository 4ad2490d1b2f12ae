// HistoryEngine: keeps a replica's remote history bounded, as Litestream v0.5 does — compaction
// levels, daily snapshots built from the remote chain, retention — working only through the
// ObjectStore (the writer's lease is the caller's business: call it only while holding it).
//
// The writer calls run_due(now) from a background thread; it does whatever is due and says when
// the next thing will be:
//   - level n (1..N) every policy.level_intervals_ms[n-1], aligned to multiples of the interval
//     like Litestream: the level n-1 files beyond what level n covers become one level-n file
//     (level_compactor.h) once the level's newest file is from before the current interval
//     (or once one of those inputs is: a run that stopped between two output files);
//   - level 9 every snapshot_interval: the restore chain of the top level's newest TXID compacted
//     into one snapshot (snapshot_builder.h);
//   - retention (retention.h): deletes what no restore point inside the window needs, after the
//     grace period.
//
// Crash safety: every file is written whole with a conditional PUT before anything that it
// replaces may be deleted, and deletion only ever removes files no kept chain uses, so killing
// the process at any point leaves every restore point restorable; the next run lists the store
// and carries on from what is there.
//
// What is due is judged from the listing alone (when the files were written), never from when
// this engine was made or last ran (issue 16, item 10): a writer process that opens a database
// for a few milliseconds, thousands of times, finds due what a long-lived one would, and a run
// stopped between two output files leaves the rest of its inputs due for the next run, which
// starts after the outputs already in the store.
//
// An idle writer's runs send no request (issue 18): while a writer owns the head, only its own
// uploads and this engine change the history. The caller passes a count of its uploads
// (run_due's `changes`); when it has not moved since the engine's last own listing, the run
// decides from that listing, kept up to date with what the engine wrote and deleted since, and
// reads the store only when something is due there (a level's interval, the snapshot interval,
// a grace period or a point leaving the retention window): then it reads the store as any run,
// and acts on that. Deciding from the old listing can only find work that a fresh one would not
// (the engine dates its own outputs by the run's start, never later than the store does), which
// costs one reading. A listing is trusted for kTrustedListingMs at most, so what changed without
// the caller knowing (a fenced-out writer's late upload, `ltxvfs compact` run by hand) is seen
// within an hour.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "history/committed_history.h"
#include "history/history_policy.h"
#include "history/remote_compactor.h"
#include "history/retention.h"
#include "ltx/encoder.h"
#include "storage/object_store.h"
#include "storage/replica_layout.h"

namespace ltxvfs::history {

struct HistoryRunReport {
  std::vector<WrittenFile> written;        // compactions and snapshots, in the order written
  std::vector<RetentionDecision> deleted;  // what retention removed
  size_t waiting = 0;                      // unneeded files kept for the grace period
  size_t files_listed = 0;                 // LTX files in the store when the run began
  int64_t next_due_ms = INT64_MAX;         // when run_due next has something to do
  bool read_store = true;                  // false: nothing was due; decided with no request
};

// How long a run trusts the engine's own last listing when the caller says nothing changed
// (see the header comment): re-reading hourly costs an idle writer 2 requests an hour.
inline constexpr int64_t kTrustedListingMs = 3'600'000;

// The largest snapshot (in bytes of its inputs) a closing writer still builds (see
// CompactionWork::closing): a small database's, read and written in milliseconds on a directory
// and well under a second on S3. A larger snapshot is the database's size and due again every
// day: a close waiting for it would wait for close_timeout_ms, every time, if it cannot finish
// by then. It is left to a run that completes while a connection is open (or `ltxvfs compact
// --snapshot`). Level compactions are not bounded this way: each merges what the connections
// themselves uploaded in one interval.
inline constexpr uint64_t kCloseSnapshotBytes = 4u << 20;

struct RunNowOptions {
  bool levels = true;      // every level, whatever its interval
  bool snapshot = false;   // a level-9 snapshot (when there is something newer to snapshot)
  bool retention = false;  // then retention
  // Level n takes only inputs whose newest commit is before the start of its current interval,
  // as the writer's schedule would have by now, so the restore points the schedule keeps stay
  // (`ltxvfs compact` without --all). False: everything beyond each level, which coarsens the
  // restore points of the whole history to the top level's.
  bool keep_schedule_points = false;
};

class HistoryEngine {
 public:
  HistoryEngine(storage::ObjectStore& store, storage::LayoutStyle layout, ltx::OutputFormat format,
                HistoryPolicy policy, CompactionWork work = {});

  // Does what is due at `now_ms` (milliseconds since the Unix epoch, the clock the store's
  // LastModified uses). One listing, then the due levels in order (so a higher level includes
  // what a lower one has just compacted), the snapshot, retention. Throws storage::StoreError
  // (retriable ones: call again after a backoff; nothing is half-done in a harmful way),
  // ltx::LtxError when a remote file is corrupt, HistoryConflict when another writer's file is in
  // the way (then the engine stops: every later call throws it again), WorkStopped when
  // work.stop_requested asked it to stop (safe at any point; call again to carry on).
  // `listed`: the store's history as the caller has just read it (the writer's open-time
  // read_history_dated_from), used instead of a read of the run's own.
  // `changes`: a count the caller raises whenever the history may have changed other than
  // through this engine (the writer: its uploads, read before the call). When it equals the
  // count at the engine's last own listing (younger than kTrustedListingMs), a run with nothing
  // due sends no request (report.read_store false). nullopt: every run reads the store.
  HistoryRunReport run_due(int64_t now_ms, std::optional<History> listed = std::nullopt,
                           std::optional<uint64_t> changes = std::nullopt);

  // What `ltxvfs compact` / `ltxvfs retention` do: the chosen steps now, ignoring intervals.
  HistoryRunReport run_now(int64_t now_ms, const RunNowOptions& what);

  const HistoryPolicy& policy() const { return policy_; }
  // Why the engine stopped (a conflict), if it did.
  const std::optional<std::string>& stopped() const { return stopped_; }

 private:
  // One run over `history` (the store's, as just read), which it updates with what it writes and
  // deletes. `dry`: decides only, with no request; nullopt then when something is due.
  std::optional<HistoryRunReport> run(int64_t now_ms, bool due_only, const RunNowOptions& what,
                                      History& history, bool dry);
  // The levels' part of a run: false when `dry` and a level is due.
  bool run_levels(History& history, int64_t now_ms, bool due_only, const RunNowOptions& what,
                  bool dry, HistoryRunReport& report);
  // Whether the snapshot is due (when running on schedule, the next interval goes into `report`).
  bool snapshot_due(const std::vector<RemoteFile>& files, int64_t now_ms, bool due_only,
                    HistoryRunReport& report) const;
  // Retention's part of a run: false when `dry` and something is to be deleted.
  bool run_retention(History& history, int64_t now_ms, bool dry, HistoryRunReport& report);
  // Compacts level - 1 into `level`, taking inputs whose content_time() is before
  // `content_before_ms`, when the level is due in the interval starting at `due_window_ms`.
  void compact_level(uint32_t level, History& history, int64_t now_ms, int64_t due_window_ms,
                     int64_t content_before_ms, HistoryRunReport& report);
  // Whether `level` has inputs and is due in the interval starting at `window_ms`: its newest file
  // (if any) is older, or one of its next inputs has a content time before it, or early().
  bool due(const History& history, uint32_t level, int64_t window_ms) const;
  // The files of level `below` beyond what level `above` covers: how many, and the bytes of the
  // page indexes a replica's open reads whole among them (a tail hint without directory; files
  // without a hint count nothing).
  struct OpenIndex {
    size_t files = 0;
    uint64_t bytes = 0;
  };
  OpenIndex open_index(const std::vector<RemoteFile>& files, const HeadRecord& head, uint32_t below,
                       uint32_t above) const;
  // The page index bytes a replica's open reads whole: the newest snapshot's, the top level's
  // files after it, each lower level's files beyond the next one's.
  uint64_t chain_index_bytes(const std::vector<RemoteFile>& files, const HeadRecord& head) const;
  // Whether `level` is due early (HistoryPolicy::early_index_bytes): the open's short indexes
  // (chain_index_bytes) come to more than the budget, and the level's own inputs (two at least)
  // hold a quarter of it at least (a compaction there takes that off, or most of it; a smaller
  // share waits for more, or for the next level to take the one below). Levels run in order, each
  // run counting the outputs before it: level 1 takes level 0 early, its short outputs pile up at
  // level 1, and level 2 takes them once they hold a quarter. The snapshot and the top level count
  // but are never taken early: what they hold leaves less room below.
  bool early(const std::vector<RemoteFile>& files, const HeadRecord& head, uint32_t level) const;
  // Builds the snapshot of `files` if there is something newer to snapshot.
  void snapshot(std::vector<RemoteFile>& files, int64_t now_ms, HistoryRunReport& report);
  // When a file's newest commit happened, at the latest: its LastModified, or for a file this
  // engine compacted, its inputs' newest content time.
  int64_t content_time(const RemoteFile& file) const;
  void delete_files(const std::vector<RetentionDecision>& decisions);
  void check_stop() const;
  bool closing() const { return work_.closing && work_.closing(); }

  storage::ObjectStore& store_;
  storage::LayoutStyle layout_;
  ltx::OutputFormat format_;
  HistoryPolicy policy_;
  CompactionWork work_;
  RemoteCompactor compactor_;
  // When a snapshot was last attempted in this process, built or not, so that a replica with
  // nothing new to snapshot is not planned again before the next interval.
  int64_t snapshot_attempted_ms_;
  // Content times (see content_time()) of the files this engine wrote.
  std::map<std::string, int64_t> content_times_;
  std::optional<std::string> stopped_;
  // The history as this engine last read it itself, with what it wrote and deleted since, and the
  // caller's `changes` count read before that reading (see run_due).
  struct Known {
    History history;
    uint64_t changes = 0;
    int64_t read_at_ms = 0;
  };
  std::optional<Known> known_;
};

}  // namespace ltxvfs::history
