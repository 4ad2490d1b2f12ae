// PageFetcher: gets page frames from the store.
//
//  - A page miss is a ranged GET of its frame. Frames the caller expects to need next (read-ahead)
//    that lie near it in the same object ride along in the same request.
//  - Coalescing crosses holes of up to `max_gap` bytes (the hole is downloaded, not decoded): a
//    table scan's leaves come in runs of ~15 frames with index frames between, and joining only
//    exactly adjacent frames made W4's 121 MiB scan 3,737 requests of 17 KB.
//  - A frame already being fetched (by another connection or by the prefetcher) is not fetched
//    again: the second reader waits for the first request and shares its result.
//  - prefetch() queues frames for background workers under a budget: at most 2 x prefetch_pages
//    frames queued; what does not fit is dropped (the reader then fetches it, with its read-ahead
//    window, itself). Each worker has one request of at most `max_request_bytes` in flight.
//  - Frames are decoded as their bytes arrive (FrameStream over ObjectStore::get_streamed): a
//    reader waiting for a page in a 4 MiB request waits for that page's bytes, not the last
//    ones, and no request's body is held whole (the workers hold a frame each, not 8 bodies).
//  - Workers decode what they fetched: a scan's reader finds pages decoded, or waits for them,
//    and does not spend its own time in zstd.
//
// Decoded pages go into the PageCache. A frame whose object is gone (kNotFound) or was replaced
// (another etag) raises ReplicaError(kSnapshotLost) and is reported through `on_lost`.
//
// Threads: get(), prefetch() and stats() from any thread (SQLite's connections reading the
// replica); the prefetch workers are the fetcher's own base::WorkerPool of `prefetch_workers`
// threads named ltx-prefetch, started while frames are queued and ended after 5 s without (an idle
// replica holds none: issue 18). Each run (drain()) fetches queued ranges until the queue is
// empty; prefetch() asks for as many runs as workers are missing. The workers are a pool fed over
// time, not a one-shot fan-out, so base::parallel_for does not fit them; nor the process's pool,
// whose 8 workers a cold scan's 8 requests in flight would take from every writer's uploads. mu_ is
// never held during a GET or a decode; PageCache's own mutex may be taken while holding it
// (cache_.contains), never the reverse.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "base/worker_pool.h"
#include "storage/object_store.h"
#include "vfs/replica/coalesce.h"
#include "vfs/replica/page_cache.h"

namespace ltxvfs::replica {

// Defaults for a store 20 ms and 64 MiB/s per connection away (the bench's proxy; S3 from
// EC2 is similar): a request's latency costs as much as ~1.3 MB of transfer, so
//  - a hole of up to 256 KiB (4 ms) is cheaper to download than to skip with another request;
//  - 4 MiB requests (62 ms of transfer; a scan's ~2.4 MB objects are one request each, as a raw
//    download reads them) keep latency under a quarter of each request's time, and their frames
//    are used as they arrive (W4's scan 0.72-0.95 s with 1 MiB requests, 0.61-0.75 s with 4);
//  - 8 of them in flight move what a raw parallel download of the objects gets.
struct FetcherSettings {
  uint32_t prefetch_pages = 64;  // 0: no background prefetch
  unsigned prefetch_workers = 8;
  uint64_t max_gap = uint64_t{256} << 10;  // bytes of unwanted frames a request may carry
  uint64_t max_request_bytes = uint64_t{4} << 20;
};

struct FetcherStats {
  uint64_t requests = 0;           // GETs of page data (sync + prefetch)
  uint64_t bytes = 0;              // bytes received (frames and the holes between them)
  uint64_t gap_bytes = 0;          // of those, holes: frames nobody asked for, not decoded
  uint64_t pages = 0;              // pages decoded
  uint64_t readahead_pages = 0;    // pages that rode along a synchronous request
  uint64_t prefetch_requests = 0;  // GETs made by the prefetcher
  uint64_t prefetch_pages = 0;     // pages they brought
  uint64_t prefetch_queued = 0;    // frames queued for the prefetcher (the reader may come first)
  uint64_t prefetch_dropped = 0;   // frames not queued: over budget
  uint64_t shared_waits = 0;       // reads served by another request already in flight
  uint64_t errors = 0;
};

class PageFetcher {
 public:
  using LostHandler = std::function<void(const std::string& key)>;

  PageFetcher(storage::ObjectStore& store, PageCache& cache, FetcherSettings settings,
              LostHandler on_lost);
  ~PageFetcher();
  PageFetcher(const PageFetcher&) = delete;
  PageFetcher& operator=(const PageFetcher&) = delete;

  // The frames worth fetching with a target that missed the cache, asked only then: in a scan
  // nearly every read hits (the read-ahead arrived), and working out a window of up to
  // `prefetch` frames for each of them was 80 % of a scan's CPU (bench/RESULTS.md, issue 17).
  // `join_only`: worth only the frames that join the target's request (a lookup's siblings,
  // ReadTracker::window); the others are dropped, not prefetched at a request each.
  struct Window {
    std::vector<FrameRef> frames;
    bool join_only = false;
  };
  using MissWindow = std::function<Window()>;

  // The decoded page of `target`. `along` (read-ahead advice) is prefetched; when the target
  // misses the cache, frames of `along` and `if_miss()` contiguous with the target's frame join
  // its request and the others are prefetched (but for a join-only window's).
  PageBytes get(const FrameRef& target, const std::vector<FrameRef>& along = {},
                const MissWindow& if_miss = {});

  // Queues frames for background fetching (skips cached and in-flight ones).
  void prefetch(const std::vector<FrameRef>& frames);
  // Decodes `frame` from `bytes` (its whole frame, read by someone else: an open's page 1) into
  // the cache, checked as a fetched frame is. nullptr when it does not decode (a reader then
  // fetches it and reports what is wrong).
  PageBytes offer(const FrameRef& frame, std::span<const uint8_t> bytes);

  FetcherStats stats() const;

 private:
  // One claimed frame. Its fields are guarded by PageFetcher::mu_ (an annotation cannot name
  // the enclosing object's mutex); the claiming thread sets them once, in complete().
  struct InFlight {
    bool done = false;
    PageBytes page;
    std::exception_ptr error;
  };
  using Slots = std::vector<std::shared_ptr<InFlight>>;

  // Claims the frames of `range` not yet cached or in flight (under mu_). Returns the frames
  // claimed (with their slots) as a range, or an empty range when nothing was left. `target`,
  // when given, is claimed even if the cache has it by now: the cache is the Location's, and
  // another replica's fetcher may have put it there since get() looked (then it is fetched twice,
  // which is harmless; leaving it out would leave the reader without its page).
  FetchRange claim(const FetchRange& range, Slots& slots, const PageKey* target = nullptr)
      REQUIRES(mu_);
  // Waits for another request's `slot`: its page, or nullptr when the caller should fetch it
  // itself (that request failed, and this is not `last_try`); throws that request's error when
  // the object is gone or on the last try.
  PageBytes await(const std::shared_ptr<InFlight>& slot, bool last_try) EXCLUDES(mu_);
  // Fetches and decodes a claimed range, completing every slot (on error: with the error). Each
  // frame completes as soon as its bytes are in (ObjectStore::get_streamed).
  void run(const FetchRange& range, const Slots& slots);
  // Counts a request's `received` bytes.
  void count(const FetchRange& range, uint64_t received);
  void complete(const FrameRef& frame, const std::shared_ptr<InFlight>& slot, PageBytes page,
                std::exception_ptr error) EXCLUDES(mu_);
  // One prefetch worker's run: fetches queued ranges until none is left (or stop).
  void drain() EXCLUDES(mu_);

  // Constant after construction.
  storage::ObjectStore& store_;
  PageCache& cache_;
  const FetcherSettings settings_;
  const LostHandler on_lost_;

  // Protected by mu_.
  mutable base::Mutex mu_;
  std::condition_variable done_cv_;  // an InFlight completed
  std::unordered_map<PageKey, std::shared_ptr<InFlight>, PageKeyHash> inflight_ GUARDED_BY(mu_);
  std::deque<FrameRef> queue_ GUARDED_BY(mu_);  // at most 2 x prefetch_pages frames
  std::unordered_map<PageKey, bool, PageKeyHash> queued_ GUARDED_BY(mu_);  // keys in queue_
  bool stop_ GUARDED_BY(mu_) = false;
  unsigned draining_ GUARDED_BY(mu_) = 0;  // drain() runs asked for and not ended

  // Counters: any thread, no lock.
  std::atomic<uint64_t> requests_{0}, bytes_{0}, gap_bytes_{0}, pages_{0}, readahead_pages_{0},
      prefetch_requests_{0}, prefetch_pages_{0}, prefetch_queued_{0}, prefetch_dropped_{0},
      shared_waits_{0}, errors_{0};

  // Created last in the constructor (none without prefetch), destroyed first in the destructor;
  // constant in between.
  std::unique_ptr<base::WorkerPool> workers_;
};

}  // namespace ltxvfs::replica
