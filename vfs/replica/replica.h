// Replica: one read replica opened from object storage — the engine behind a `mode=ro&replica=`
// open. SQLite-free; the shim (vfs/shim/replica_file.cpp) drives it.
//
//   open        list the replica, plan the newest restorable state (restore_plan), read the page
//               indexes of the chain (IndexCache): no page data.
//   pin()       the snapshot a read transaction uses, from its SHARED lock to its unlock.
//   read()      page bytes of a snapshot: page cache, then the store (PageFetcher), with
//               read-ahead and interior-page prefetch advice from the caller's ReadTracker.
//   poller      every poll_ms: head.json with If-None-Match (HeadWatch: a 304 means nothing
//               new, no listing), then new level-0 files after the current TXID that the head
//               commits → extended snapshot, published atomically; every kFullCheckEvery polls,
//               or on a gap, a full listing. Polls slow down while nothing changes (Poller).
//   lost object a GET that finds an object gone marks the current snapshot lost; the next pin()
//               (or the poller, first) re-plans from a fresh listing.
//   time travel move_to(): a fixed TXID or time; the poller then stops following.
//   bad objects junk or a corrupt LTX file (a tail that fails verification at planning, a page
//               frame that does not decode at a read) is set aside (BadObjects): plans go
//               through another chain, a read is served by a chain to the same TXID; when the
//               bad object is the only way on, the replica waits at the TXID before it (Hold).
//
// Threads: SQLite's connections call pin(), current(), read(), wait_for(), move_to(),
// position() and stats(), from any thread; the poller's thread runs poll(); the prefetch
// workers report lost objects (on_lost()). Two locks, plan_mu_ before mu_: plan_mu_ lets one
// planner run at a time (poll(), pin()'s re-plan, move_to()) and is held across the store's LIST
// and GETs and the IndexCache's lock; mu_ guards what is published and is held only to copy or
// swap it (and to log a warning), never across a request or another class's lock.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "history/restore_plan.h"
#include "history/restorer.h"
#include "storage/object_store.h"
#include "storage/replica_layout.h"
#include "storage/store_factory.h"
#include "storage/store_settings.h"
#include "storage/store_stats.h"
#include "vfs/replica/bad_objects.h"
#include "vfs/replica/errors.h"
#include "vfs/replica/head_watch.h"
#include "vfs/replica/hydrator.h"
#include "vfs/replica/index_cache.h"
#include "vfs/replica/location.h"
#include "vfs/replica/options.h"
#include "vfs/replica/page_cache.h"
#include "vfs/replica/page_fetcher.h"
#include "vfs/replica/poller.h"
#include "vfs/replica/read_tracker.h"
#include "vfs/replica/snapshot.h"

namespace ltxvfs::replica {

// Where the replica stands: following the primary, or held at a TXID or a time.
struct Position {
  enum class Kind { kLatest, kTxid, kTime };
  Kind kind = Kind::kLatest;
  uint64_t txid = 0;    // kTxid: as asked; kTime: what the time resolved to
  int64_t time_ms = 0;  // kTime
  std::string describe() const;
};

struct ReplicaStats {
  std::string source;  // the store, without secrets
  Position position;
  uint64_t txid = 0;
  uint32_t page_size = 0;
  uint32_t commit = 0;
  size_t files = 0;  // LTX files in the current chain
  uint64_t epoch = 0;
  int64_t txid_time_ms = 0;   // commit time of the TXID shown
  int64_t commit_age_ms = 0;  // now - txid_time_ms (grows while the primary is idle)
  // Behind the primary: the newest committed TXID the replica has seen (head.json, or the newest
  // listed without one) minus the TXID shown, and for how long it has been behind (its own
  // clock, from the poll that first saw a newer TXID). Both 0 when caught up.
  uint64_t lag_txids = 0;
  int64_t lag_ms = 0;
  int64_t since_poll_ms = -1;  // since the last successful poll (-1: none yet)
  uint64_t polls = 0;
  uint64_t poll_errors = 0;
  uint64_t snapshots = 0;      // snapshots published
  uint64_t replans = 0;        // full re-plans (lost objects, gaps, history changes, moves)
  uint64_t lost = 0;           // reads that found an object of their snapshot gone
  uint64_t waiting_after = 0;  // TXID after which a gap or a bad object holds it back (0: none)
  std::string waiting_reason;  // which one, and what fixes it ("" when waiting_after is 0)
  std::string last_error;
  std::vector<BadObject> bad_objects;  // set aside (still listed)
  storage::StoreStatsSnapshot store;
  PageCacheStats cache;
  FetcherStats fetch;
  IndexCacheStats index;
  HydrationStats hydration;
};

// How a replica's store is opened (its creator opens it with these and hands it over): a reader
// never creates a missing location (a typo should fail loudly), and its retry budget is short (a
// read that cannot be served fails the statement within seconds; the poller simply tries again).
storage::StoreSettings replica_store_settings();

class Replica {
 public:
  // Plans the starting snapshot from `store` (opened at options.store_url(), see
  // replica_store_settings()), around bad objects. Throws ReplicaError (kEmpty, kUnreachable,
  // kInvalidArgument, kCorrupt), storage::StoreError or ltx::LtxError naming the problem.
  Replica(ReplicaOptions options, storage::OpenedStore store, ReplicaLog logger);
  // The same over a Location other replicas of it may share (its store, index and page caches:
  // Location::shared); positions, polling and fetching stay this replica's own.
  Replica(ReplicaOptions options, std::shared_ptr<Location> location, ReplicaLog logger);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Polls run every this many times do a full listing (compaction, gaps, replaced history).
  static constexpr uint64_t kFullCheckEvery = 30;

  std::shared_ptr<const Snapshot> current() const;
  // The snapshot for a new read transaction; re-plans first when the current one lost an
  // object. Throws when no snapshot can be planned.
  std::shared_ptr<const Snapshot> pin();

  // Fills `out` with bytes [offset, offset + out.size()) of the database as `snap` shows it
  // (page 1 presented per btree_page.h). Returns false when the range passes the end of the
  // database (the rest is zero-filled). Throws ReplicaError(kSnapshotLost) when an object of
  // `snap` is gone: the transaction must be retried; kCorrupt when a page frame does not decode
  // and no other chain reaches snap's TXID.
  bool read(const Snapshot& snap, uint64_t offset, std::span<uint8_t> out, ReadTracker* tracker);

  // Waits until the published TXID is at least `txid`; returns it. Throws kTimeout, or kPinned
  // when the replica is held at an older TXID by time travel.
  uint64_t wait_for(uint64_t txid, std::chrono::milliseconds timeout);

  // Time travel. Plans at once (the next read transaction sees it); throws kUnreachable /
  // kInvalidArgument when the target cannot be reached.
  std::shared_ptr<const Snapshot> move_to(const Position& position);
  Position position() const;

  ReplicaStats stats() const;
  const std::string& source() const { return source_; }

 private:
  // `hinted`: also read what the head's page 1 and root hints name into it (an open:
  // IndexCache::load).
  std::shared_ptr<const Snapshot> plan(Position& position, uint64_t epoch,
                                       HintedBytes* hinted = nullptr) EXCLUDES(mu_);
  std::shared_ptr<const Snapshot> plan_chain(Position& position, uint64_t epoch,
                                             const std::vector<history::RemoteFile>& listed,
                                             const std::vector<history::RemoteFile>& files,
                                             const history::HeadRecord* head, HintedBytes* hinted)
      EXCLUDES(mu_);
  // An open's page 1 and schema roots, read beside the indexes, into the cache where `snap`
  // locates their versions in exactly those bytes; then the roots page 1's schema names that
  // were not among them are prefetched, so the first query finds its path's first two levels
  // cached or on their way.
  void seed_hinted(const Snapshot& snap, const HintedBytes& got);
  // Where the head's hint for `pgno` puts it in a file of `snap` whose index is read part by
  // part, once the hinted bytes decode there as that page (LazyIndex::prove); then snap's answer
  // when that settles it (no newer long index may hold the page), else nullopt.
  std::optional<FrameRef> prove_hinted(const Snapshot& snap, const HintedBytes& got, uint32_t pgno);
  // Records the object `e` names (one of `candidates`) as bad and logs what fixes it.
  void set_aside(const std::vector<history::RemoteFile>& candidates,
                 const history::BadFileError& e);
  void hold(const Hold& h) EXCLUDES(mu_);
  std::string bad_note() const;
  // A frame of `file` in `snap` did not decode: sets the object aside and returns a snapshot of
  // the same state (TXID) without it, publishing one as current when the current one uses it.
  // Throws ReplicaError(kCorrupt) when no other chain reaches snap's TXID.
  std::shared_ptr<const Snapshot> around_damaged(const Snapshot& snap,
                                                 const history::RemoteFile& file,
                                                 const std::string& why) EXCLUDES(plan_mu_, mu_);
  std::shared_ptr<const Snapshot> same_state_without(const Snapshot& snap, const std::string& key)
      REQUIRES(plan_mu_) EXCLUDES(mu_);
  void publish(std::shared_ptr<const Snapshot> snap, bool rebuilt) EXCLUDES(mu_);
  // The poller's task: true when something changed (a new head, a new snapshot).
  bool poll() EXCLUDES(plan_mu_, mu_);
  // False when the head says nothing was committed since the last look (no listing was made).
  bool poll_level0(const std::shared_ptr<const Snapshot>& cur) REQUIRES(plan_mu_) EXCLUDES(mu_);
  // The newest committed TXID seen by a poll (lag).
  void saw_newest(uint64_t txid) EXCLUDES(mu_);
  void full_check(const std::shared_ptr<const Snapshot>& cur) REQUIRES(plan_mu_) EXCLUDES(mu_);
  // Plans anew from the store at a new epoch and publishes that snapshot; returns its TXID.
  uint64_t replan() REQUIRES(plan_mu_) EXCLUDES(mu_);
  void replan_lost() REQUIRES(plan_mu_) EXCLUDES(mu_);
  void on_lost(const std::string& key) EXCLUDES(mu_);
  std::shared_ptr<const Snapshot> extend(const std::shared_ptr<const Snapshot>& cur,
                                         const std::vector<history::RemoteFile>& newer);
  PageBytes page(const Snapshot& snap, uint32_t pgno, ReadTracker* tracker);
  // snap.locate(pgno) for the page a read needs: a lazy index's object gone marks the snapshot
  // lost (kSnapshotLost), a corrupt one is set aside and the page located around it.
  std::optional<FrameRef> locate(const Snapshot& snap, uint32_t pgno);
  // snap.locate(pgno) for advice (read-ahead, prefetch): nullopt on any error, which the read
  // that needs the page meets again.
  static std::optional<FrameRef> locate_for_advice(const Snapshot& snap, uint32_t pgno) noexcept;
  // The poller's: reads the rest of the current snapshot's long indexes (lazy_index.h), so scans
  // and lookups after the open do not wait for parts, and publishes the same state with them
  // whole (resolve_snapshot).
  void load_lazy_indexes() EXCLUDES(plan_mu_, mu_);
  void log(base::LogSeverity severity, const std::string& message) const;

  // Constant after construction (the destructor stops the fetcher, the poller and the hydrator
  // in that order).
  ReplicaOptions options_;
  ReplicaLog log_;
  const std::shared_ptr<Location> location_;  // outlives the fetcher, poller and hydrator below
  const std::string source_;
  storage::ObjectStore* const store_;  // location_'s, as are the two caches
  const storage::LayoutStyle layout_;
  IndexCache* const indexes_;
  PageCache* const cache_;
  std::unique_ptr<PageFetcher> fetcher_;
  std::unique_ptr<Hydrator> hydrator_;  // hydrate=1: made by the open's plan_chain
  BadObjects bad_;                      // its own lock (a leaf)

  // Protected by plan_mu_ (taken before mu_).
  base::Mutex plan_mu_;
  uint64_t epoch_ GUARDED_BY(plan_mu_) = 0;  // of the newest plan; a re-plan increments it
  std::unique_ptr<HeadWatch> head_ GUARDED_BY(plan_mu_);  // set in the constructor
  // Polls since the last full listing; atomic because wait_for() and a failed poll ask for a
  // full listing next without taking plan_mu_.
  std::atomic<uint64_t> polls_since_full_{0};

  // Protected by mu_.
  mutable base::Mutex mu_;
  std::condition_variable published_cv_;                     // a snapshot was published
  std::shared_ptr<const Snapshot> current_ GUARDED_BY(mu_);  // never null after construction
  Position position_ GUARDED_BY(mu_);
  bool lost_ GUARDED_BY(mu_) = false;  // current_ lost an object: the next pin() re-plans
  uint64_t polls_ GUARDED_BY(mu_) = 0;
  uint64_t poll_errors_ GUARDED_BY(mu_) = 0;
  uint64_t snapshots_ GUARDED_BY(mu_) = 0;
  uint64_t replans_ GUARDED_BY(mu_) = 0;
  uint64_t lost_count_ GUARDED_BY(mu_) = 0;
  uint64_t waiting_after_ GUARDED_BY(mu_) = 0;  // the TXID before a gap or bad object, or 0
  std::string waiting_reason_ GUARDED_BY(mu_);
  int64_t last_poll_ok_ms_ GUARDED_BY(mu_) = -1;
  uint64_t newest_seen_ GUARDED_BY(mu_) = 0;      // the newest committed TXID polls saw
  int64_t behind_since_ms_ GUARDED_BY(mu_) = -1;  // since when current_ is older (-1: it is not)
  std::string last_error_ GUARDED_BY(mu_);

  std::unique_ptr<Poller> poller_;  // constant after construction; started last
};

}  // namespace ltxvfs::replica
