// HistoryStage: runs the history engine (compaction levels,
// snapshots, retention; history/history_engine.h) whenever something is due, only while the
// writer may shape the store (the lease is fresh and uploading has not stopped on a conflict).
//
// Short-lived connections (issue 16, item 10): a program that opens a database for one statement,
// thousands of times, must still get its history compacted, although each connection lives far
// shorter than any level's interval and than a run. So the first run starts at once, from the
// open's own listing; and closing does not throw the run away: finish() lets the run in progress
// go on to its end (or starts one, when the connection closed before one could), with the
// close's deadline as the bound (the writer then sets CompactionWork::stop_requested and stops
// the stage). Whatever a stopped run leaves undone stays due in the store, and the next open
// carries on from there. Nothing half done is ever published.
//
// A run takes a worker of the process's pool only while it is due (base::PooledTask): between
// runs, the process's base::Scheduler holds the time the next one is due and asks for it then
// (issue 18).
//
// Concurrency contract: finish(), wait_finished_until(), stop() and stats() may be called from
// any thread; the engine belongs to this stage's runs (they never overlap). may_run is called in
// a run with no lock of this stage held.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/backoff.h"
#include "base/log_sink.h"
#include "base/mutex.h"
#include "base/pooled_task.h"
#include "base/scheduler.h"
#include "history/history_engine.h"

namespace ltxvfs::writer {

struct HistoryStats {
  uint64_t compactions = 0;    // files written by compactions
  uint64_t snapshots = 0;      // ... and by snapshots
  uint64_t deleted_files = 0;  // files deleted by retention
  std::string history_error;   // the newest error (a stop on a conflict included)
};

class HistoryStage {
 public:
  // `uploads`: how many files this writer has uploaded (and committed) so far, asked before each
  // run: while it has not moved, a run with nothing due sends no request (the engine decides from
  // its own last listing; history_engine.h). Empty: every run reads the store.
  // `after_written`: called after a run that wrote files (compactions, a snapshot), on the run's
  // worker: the writer publishes their hints in the head (HeadKeeper::publish_noted). What it
  // throws is logged; the run counts as done.
  HistoryStage(std::unique_ptr<history::HistoryEngine> engine, base::LogSink log,
               std::function<bool()> may_run, std::function<uint64_t()> uploads = {},
               std::function<void()> after_written = {},
               base::Scheduler& scheduler = base::Scheduler::process());
  ~HistoryStage();  // stop()s
  HistoryStage(const HistoryStage&) = delete;
  HistoryStage& operator=(const HistoryStage&) = delete;

  // `listed`: the store's history as read at open, for the first run (nullopt: it reads).
  void start(std::optional<history::History> listed);
  // Closing: the run in progress goes on to its end, or, when none has begun, one runs now; then
  // the thread ends. The engine's CompactionWork::closing should say so too (the writer sets it
  // before calling this).
  void finish() EXCLUDES(mu_);
  // Waits for the thread to end after finish(), until `deadline`; true when it has.
  bool wait_finished_until(std::chrono::steady_clock::time_point deadline) EXCLUDES(mu_);
  // Ends the thread; a run in progress ends at its next step when the engine's
  // CompactionWork::stop_requested says so (the writer sets that before calling stop()).
  void stop() EXCLUDES(mu_);
  HistoryStats stats() const EXCLUDES(mu_);
  // An upload went up; `short_index_bytes`: the writer's running total of the page-index bytes
  // a replica's open reads whole (Uploader::short_index_bytes). Every quarter of the policy's
  // early_index_bytes of them asks for a run now, not at the next interval: the engine then
  // compacts early when the chain's short indexes make an open long (history_policy.h).
  void note_uploaded(uint64_t short_index_bytes) EXCLUDES(mu_);

 private:
  // Runs the engine while something is due; returns when the next run is due later (handed to
  // the scheduler) or the stage ended.
  void run() EXCLUDES(mu_);
  // One run of the engine; false when the stage ended (stopped, closing, or for good).
  bool run_engine() EXCLUDES(mu_);
  // Has the scheduler ask for a run at next_; false when finish() or stop() came meanwhile.
  bool hand_off() EXCLUDES(mu_);
  void end() EXCLUDES(mu_);
  // Counts what one run did; returns false when it stopped for good.
  bool note_run(const history::HistoryRunReport& report, const std::string& error,
                bool stopped_for_good) EXCLUDES(mu_);

  // Constant after construction.
  const base::LogSink log_;
  const std::function<bool()> may_run_;
  const std::function<uint64_t()> uploads_;
  const std::function<void()> after_written_;
  base::Scheduler& scheduler_;
  const uint64_t poke_every_;  // index bytes between note_uploaded's runs; 0: never

  std::unique_ptr<history::HistoryEngine> engine_;  // this stage's runs' alone
  // Set by start() before the thread exists, then its runs' alone.
  std::optional<history::History> listed_;
  // The runs' (one at a time): when the next run is due, whether one ran,
  // the retry backoff (failed runs are retried after 1 s, doubling to at most 60 s).
  std::chrono::steady_clock::time_point next_ = std::chrono::steady_clock::now();
  bool ran_ = false;
  base::Backoff backoff_{std::chrono::milliseconds(1000), std::chrono::milliseconds(60000)};

  mutable base::Mutex mu_;
  bool started_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  bool finish_ GUARDED_BY(mu_) = false;
  bool ended_ GUARDED_BY(mu_) = false;        // no run will begin any more
  uint64_t wake_job_ GUARDED_BY(mu_) = 0;     // the scheduler's job that asks for the next run
  uint64_t poke_at_ GUARDED_BY(mu_) = 0;      // note_uploaded asks for a run from this total on
  bool poked_ GUARDED_BY(mu_) = false;        // ... and did: a run now
  std::condition_variable ended_cv_;          // -> the closing thread: ended_
  HistoryStats stats_ GUARDED_BY(mu_);        // output only
  base::PooledTask task_{[this] { run(); }};  // last: uses the above
};

}  // namespace ltxvfs::writer
