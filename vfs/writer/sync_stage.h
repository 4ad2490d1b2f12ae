// SyncStage: makes the spool durable (fdatasync of the logs written since the last sync) when
// asked: after a checkpoint (in the background, a run on the worker pool: base::PooledTask),
// before a WAL overwrite and before an upload (waited for), and after each batch with remote
// durability.
//
// A waiter syncs by itself when no sync is going on: the upload stage waits here from a pool
// worker, and the run it would wait for might be queued behind it (base/worker_pool.h: no run
// waits for another).
//
// Concurrency contract: request(), wait() and stats() may be called from any thread. A record
// is durable once a sync that began after it was appended has finished; wait(ticket) returns
// when the sync serving `ticket` has finished (or the stage stopped). on_synced is called on the
// thread that synced, after each sync, with no lock of this stage held.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <string>

#include "base/log_sink.h"
#include "base/mutex.h"
#include "base/pooled_task.h"
#include "vfs/writer/error_note.h"
#include "vfs/writer/spool.h"

namespace ltxvfs::writer {

class SyncStage {
 public:
  SyncStage(Spool& spool, ErrorNote& errors, base::LogSink log, std::function<void()> on_synced);
  ~SyncStage();  // stop()s
  SyncStage(const SyncStage&) = delete;
  SyncStage& operator=(const SyncStage&) = delete;

  void start();
  // Ends the thread once the syncs asked for are served; later waits return at once.
  void stop() EXCLUDES(mu_);

  // Asks for a sync of everything spooled so far; returns the request's ticket.
  uint64_t request() EXCLUDES(mu_);
  // Waits until the sync serving `ticket` finished (or the stage stopped).
  void wait(uint64_t ticket) EXCLUDES(mu_);
  uint64_t syncs() const EXCLUDES(mu_);

 private:
  // Serves every request made so far; returns when none is left.
  void run() EXCLUDES(mu_);
  // The sync serving every request up to `serving`, on the calling thread, which set syncing_.
  void sync(uint64_t serving) EXCLUDES(mu_);

  // Constant after construction.
  Spool& spool_;
  ErrorNote& errors_;
  const base::LogSink log_;
  const std::function<void()> on_synced_;

  mutable base::Mutex mu_;
  std::condition_variable served_cv_;       // the syncer -> waiters
  uint64_t requested_ GUARDED_BY(mu_) = 0;  // tickets handed out ...
  uint64_t served_ GUARDED_BY(mu_) = 0;     // ... and served (a sync began after them, finished)
  bool idle_ GUARDED_BY(mu_) = true;        // no run serves requests: a request notifies
  bool syncing_ GUARDED_BY(mu_) = false;    // a sync is going on (a run's or a waiter's)
  bool stop_ GUARDED_BY(mu_) = false;
  uint64_t syncs_ GUARDED_BY(mu_) = 0;
  base::PooledTask task_{[this] { run(); }};  // last: uses the above
};

}  // namespace ltxvfs::writer
