// HistoryStage: the ltx-history thread, which runs the history engine (compaction levels,
// snapshots, retention; history/history_engine.h) whenever something is due, only while the
// writer may shape the store (the lease is fresh and uploading has not stopped on a conflict).
// Closing stops it first and at once: nothing it leaves half done is ever published.
//
// Concurrency contract: stop() and stats() may be called from any thread; the engine belongs
// to the ltx-history thread. may_run is called on that thread with no lock of this stage held.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "base/log_sink.h"
#include "base/mutex.h"
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
  HistoryStage(std::unique_ptr<history::HistoryEngine> engine, base::LogSink log,
               std::function<bool()> may_run);
  ~HistoryStage();  // stop()s
  HistoryStage(const HistoryStage&) = delete;
  HistoryStage& operator=(const HistoryStage&) = delete;

  void start();
  // Ends the thread; a run in progress ends at its next step when the engine's
  // CompactionWork::stop_requested says so (the writer sets that before calling stop()).
  void stop() EXCLUDES(mu_);
  HistoryStats stats() const EXCLUDES(mu_);

 private:
  void loop() EXCLUDES(mu_);
  // Counts what one run did; returns false when it stopped for good.
  bool note_run(const history::HistoryRunReport& report, const std::string& error,
                bool stopped_for_good) EXCLUDES(mu_);

  // Constant after construction.
  const base::LogSink log_;
  const std::function<bool()> may_run_;

  std::unique_ptr<history::HistoryEngine> engine_;  // the ltx-history thread's alone

  mutable base::Mutex mu_;
  std::condition_variable cv_;  // -> the history thread: stop
  bool stop_ GUARDED_BY(mu_) = false;
  HistoryStats stats_ GUARDED_BY(mu_);  // output only
  std::thread thread_;
};

}  // namespace ltxvfs::writer
