// Hydrator (hydrate=1): downloads the whole database into the local file the URI names, in the
// background, then serves reads from it.
//
// Correctness per snapshot: the local file holds the database at one hydrated snapshot H. A read
// of page p for snapshot S is served locally only when S takes p from the very same frame as H
// (same object version, same offset) — the content is then identical whatever S's TXID. Other
// pages come from the store as usual. As the poller publishes newer snapshots the hydrator
// catches up: it marks the pages that differ as dirty (reads of them go remote), rewrites them,
// fsyncs, then moves H forward. A read that raced with a rewrite is detected by a version check
// after its pread() and falls back to the store, so no reader ever sees a torn or foreign page.
//
// The file is a plain SQLite database in rollback mode at H's TXID once hydration is done. The
// marker file <path>-ltx-hydrated says whose file it is (its first line: the replica's source) and
// whether it may be used as it is (its second line): `done <TXID>` is written (durably) only
// after the pages of that TXID were fsynced, and `hydrating` (durably) before a pass rewrites a
// single page, so a crash or a copy taken mid-pass never finds `done` beside a torn file. An
// existing file at <path> without that marker is never overwritten.
//
// The first pass is a restore (history::restore_into: whole objects downloaded and decoded on
// every core, the newest version of each page written) of the chain the open planned, begun as
// soon as it is planned (begin()): it runs beside the open's index reads instead of after them.
// Its result is the snapshot's only when they agree: same TXID, size and page size, and the
// checksum of the pages written equals the post-apply checksum of the chain's newest file as the
// replica indexed it, or, for files without checksums (Litestream's, or format=litestream), the
// objects downloaded are those the replica indexed: the same keys with the same etags (an
// object's etag changes with its bytes). Otherwise (a failed download, another chain, an object
// rewritten in between, a store without etags) the first pass is the page-by-page one below, as
// later passes are. W5 (121 MiB): 0.60-0.65 of the
// raw download's speed with the pass after the open's ~100 ms of index reads, 0.68-0.74 beside.
//
// Threads: one hydration thread (ltx-hydrate, run()) started by begin() or start(), which fans each
// pass's GETs out to up to 8 threads (ltx-hydrate-get, write_range()) for the pass, or runs the
// first restore on its threads (ltx-restore-get, ltx-restore-dec); offer() from whichever
// thread publishes a snapshot (Replica::publish: the poller, a re-planning pin(), move_to()),
// read() from SQLite's connections, stats() from any thread. mu_ is never held during a GET, a
// pread or a pwrite.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "base/mutex.h"
#include "base/posix_file.h"
#include "history/restorer.h"
#include "storage/object_store.h"
#include "vfs/replica/errors.h"
#include "vfs/replica/page_cache.h"
#include "vfs/replica/snapshot.h"

namespace ltxvfs::replica {

struct FetchRange;

struct HydrationStats {
  std::string state = "off";  // off, running, done, failed
  uint64_t txid = 0;          // TXID the local file holds (0 until the first pass is done)
  uint64_t pages_done = 0;
  uint64_t pages_total = 0;
  uint64_t bytes = 0;        // bytes downloaded for hydration
  uint64_t local_reads = 0;  // pages served from the local file
  std::string error;
};

class Hydrator {
 public:
  // Throws ReplicaError(kInvalidArgument) when `path` holds a file hydration did not write.
  Hydrator(storage::ObjectStore& store, std::string path, std::string source, ReplicaLog log);
  ~Hydrator();
  Hydrator(const Hydrator&) = delete;
  Hydrator& operator=(const Hydrator&) = delete;

  // Starts downloading `chain` (what the open planned, before its indexes are read) into the
  // file. Optional; call it before start().
  void begin(std::vector<history::RemoteFile> chain);
  // Hydrates `snapshot` in the background, then follows every snapshot offer()ed later.
  void start(std::shared_ptr<const Snapshot> snapshot);
  void offer(std::shared_ptr<const Snapshot> newer);

  // The open failed after begin(): stops, and removes the file and its marker, so that a failed
  // open leaves nothing (the file is a cache, downloaded again by every open).
  void discard();

  // Page `pgno` of `snap` from the local file, or null when it must come from the store.
  PageBytes read(const Snapshot& snap, uint32_t pgno);

  HydrationStats stats() const;

 private:
  void run();
  void stop();  // stops the hydration thread and joins it
  // The first pass's restore of first_chain_ into the file; nullopt when it failed (logged).
  std::optional<history::RestoreResult> restore_first();
  // Why `restored` (a restore of `chain`) is not `snap`'s database, or "" when it is (see the
  // class comment).
  static std::string why_not(const history::RestoreResult& restored,
                             const std::vector<history::RemoteFile>& chain, const Snapshot& snap);
  // Makes the restored file the hydrated snapshot start() gave, when it is that snapshot's.
  void adopt_restored(const history::RestoreResult& restored) EXCLUDES(mu_);
  // The file holds `target`'s pages: syncs it, marks it done and serves reads from it. `first`:
  // the first pass (logged).
  void publish(const std::shared_ptr<const Snapshot>& target, bool first) EXCLUDES(mu_);
  // Page 1 of the file as the replica presents it for `snap` (present_header).
  void present_page1(const Snapshot& snap);
  // Rewrites the marker: `source_`, then `state` ("hydrating", "done <TXID>").
  void write_marker(const std::string& state, bool durable);
  // Downloads the frames of `pages` (as `snap` locates them) into the local file.
  void write_pages(const Snapshot& snap, const std::vector<uint32_t>& pages) EXCLUDES(mu_);
  void write_range(const Snapshot& snap, const FetchRange& range) EXCLUDES(mu_);

  // Constant after construction. fd_ is read (pread) by readers and written (pwrite) by the
  // hydration thread at once: dirty_ and version_ tell a reader whether what it read is good.
  storage::ObjectStore& store_;
  const std::string path_;
  const std::string marker_;
  const std::string source_;
  const ReplicaLog log_;
  base::Fd fd_;
  bool marker_done_ = false;  // the marker says done (the hydration thread's own)
  std::vector<history::RemoteFile> first_chain_;  // set by begin() before the thread starts

  // Protected by mu_.
  mutable base::Mutex mu_;
  std::condition_variable cv_;  // a snapshot was offered, or stop
  // What the local file holds (null until done).
  std::shared_ptr<const Snapshot> hydrated_ GUARDED_BY(mu_);
  std::shared_ptr<const Snapshot> wanted_ GUARDED_BY(mu_);  // newest snapshot offered
  std::shared_ptr<const Snapshot> first_ GUARDED_BY(mu_);   // the one start() gave
  std::set<uint32_t> dirty_ GUARDED_BY(mu_);                // pages being rewritten
  uint64_t version_ GUARDED_BY(mu_) = 0;                    // bumped whenever hydrated_ changes
  bool stop_ GUARDED_BY(mu_) = false;
  HydrationStats stats_ GUARDED_BY(mu_);

  std::atomic<uint64_t> local_reads_{0};  // any thread, no lock
  base::WritebackPacer writeback_;        // the range threads' writes
  std::thread thread_;  // set once by begin() or start(), joined by the destructor
};

}  // namespace ltxvfs::replica
