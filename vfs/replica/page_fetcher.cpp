#include "vfs/replica/page_fetcher.h"

#include <algorithm>
#include <cassert>
#include <optional>
#include <unordered_set>
#include <utility>

#include "ltx/error.h"
#include "ltx/page_codec.h"
#include "vfs/replica/errors.h"
#include "vfs/replica/frame_stream.h"

namespace ltxvfs::replica {
namespace {

PageKey key_of(const FrameRef& f) {
  return {f.file->serial, f.pgno};
}

}  // namespace

PageFetcher::PageFetcher(storage::ObjectStore& store, PageCache& cache, FetcherSettings settings,
                         LostHandler on_lost)
    : store_(store), cache_(cache), settings_(settings), on_lost_(std::move(on_lost)) {
  if (settings_.prefetch_pages > 0) {
    workers_ = std::make_unique<base::WorkerPool>(
        "ltx-prefetch", std::max(1u, settings_.prefetch_workers), std::chrono::milliseconds(5000));
  }
}

PageFetcher::~PageFetcher() {
  {
    base::MutexLock lock(mu_);
    stop_ = true;
  }
  workers_.reset();  // runs still queued see stop_ and end; then the workers are joined
}

FetchRange PageFetcher::claim(const FetchRange& range, Slots& slots, const PageKey* target) {
  FetchRange out;
  out.file = range.file;
  for (const auto& f : range.frames) {
    const PageKey k = key_of(f);
    const bool is_target = target != nullptr && k == *target;
    if (inflight_.count(k) != 0 || (!is_target && cache_.contains(k))) continue;
    auto slot = std::make_shared<InFlight>();
    inflight_.emplace(k, slot);
    slots.push_back(slot);
    out.frames.push_back(f);
  }
  if (!out.frames.empty()) {
    out.begin = out.frames.front().offset;
    out.end = out.frames.back().offset + out.frames.back().size;
  }
  return out;
}

PageBytes PageFetcher::get(const FrameRef& target, const std::vector<FrameRef>& along,
                           const MissWindow& if_miss) {
  const PageKey key = key_of(target);
  std::optional<Window> window;  // if_miss(), once there was a miss
  for (int attempt = 0;; ++attempt) {
    if (PageBytes hit = cache_.get(key)) {
      if (!along.empty()) prefetch(along);
      return hit;
    }
    if (!window) window = if_miss ? if_miss() : Window{};
    std::shared_ptr<InFlight> wait_for;
    FetchRange mine;
    Slots slots;
    std::vector<FrameRef> rest;
    {
      base::MutexLock lock(mu_);
      auto it = inflight_.find(key);
      if (it != inflight_.end()) {
        wait_for = it->second;
      } else if (cache_.contains(key)) {
        continue;  // completed between the lookup and the lock
      } else {
        std::vector<FrameRef> wanted{target};
        for (const std::vector<FrameRef>* list : {&along, &std::as_const(window->frames)}) {
          for (const auto& f : *list) {
            const PageKey k = key_of(f);
            if (inflight_.count(k) == 0 && !cache_.contains(k)) wanted.push_back(f);
          }
        }
        // A join-only window's frames that are not read-ahead advice too: kept only in the
        // target's request.
        std::unordered_set<PageKey, PageKeyHash> join_only;
        if (window->join_only) {
          for (const auto& f : window->frames) join_only.insert(key_of(f));
          for (const auto& f : along) join_only.erase(key_of(f));
        }
        for (auto& r :
             coalesce(std::move(wanted), settings_.max_gap, settings_.max_request_bytes)) {
          const bool has_target =
              r.file->serial == target.file->serial &&
              std::any_of(r.frames.begin(), r.frames.end(),
                          [&](const FrameRef& f) { return f.pgno == target.pgno; });
          if (has_target) {
            mine = claim(r, slots, &key);
          } else {
            for (const auto& f : r.frames) {
              if (join_only.count(key_of(f)) == 0) rest.push_back(f);
            }
          }
        }
      }
    }
    if (wait_for) {
      // The read-ahead handed out with this read is queued before the wait, as on a hit. The
      // tracker hands each page out once: advice dropped here was never fetched ahead, and a
      // scan whose read had caught up with a GET in flight went on by its parents' windows of
      // children, a round trip each (W4's scan with prefetch=1024: 2.7-2.9 s, 1.9-2.0 s after).
      if (!along.empty()) prefetch(along);
      if (PageBytes page = await(wait_for, /*last_try=*/attempt > 0)) return page;
      continue;
    }
    if (!rest.empty()) prefetch(rest);
    readahead_pages_.fetch_add(mine.frames.size() - 1, std::memory_order_relaxed);
    run(mine, slots);
    for (size_t i = 0; i < mine.frames.size(); ++i) {
      if (mine.frames[i].pgno == target.pgno) return slots[i]->page;
    }
    throw ReplicaError(ReplicaErrorKind::kCorrupt,
                       "internal: the target frame is missing from its own request");
  }
}

PageBytes PageFetcher::await(const std::shared_ptr<InFlight>& slot, bool last_try) {
  shared_waits_.fetch_add(1, std::memory_order_relaxed);
  base::MutexLock lock(mu_);
  lock.wait(done_cv_, [&]() REQUIRES(mu_) { return slot->done; });
  if (!slot->error) return slot->page;
  // A failed prefetch should not fail this read by itself: try once more ourselves, unless the
  // object is gone (then every attempt fails the same way).
  bool lost = false;
  try {
    std::rethrow_exception(slot->error);
  } catch (const ReplicaError& e) {
    lost = e.kind() == ReplicaErrorKind::kSnapshotLost;
  } catch (...) {
  }
  if (lost || last_try) std::rethrow_exception(slot->error);
  return nullptr;
}

void PageFetcher::complete(const FrameRef& frame, const std::shared_ptr<InFlight>& slot,
                           PageBytes page, std::exception_ptr error) {
  if (page) cache_.put(key_of(frame), page);
  {
    base::MutexLock lock(mu_);
    assert(!slot->done);  // each claimed frame completes once
    slot->page = std::move(page);
    slot->error = std::move(error);
    slot->done = true;
    auto it = inflight_.find(key_of(frame));
    if (it != inflight_.end() && it->second == slot) inflight_.erase(it);
  }
  done_cv_.notify_all();
}

void PageFetcher::run(const FetchRange& range, const Slots& slots) {
  size_t done = 0;
  const std::string& key = range.file->file.key;
  try {
    FrameStream stream(range, [&](size_t i, PageBytes page) {
      assert(i == done);
      pages_.fetch_add(1, std::memory_order_relaxed);
      complete(range.frames[i], slots[i], std::move(page), nullptr);
      ++done;
    });
    storage::GetResult got;
    try {
      got = stream.fetch(store_);
    } catch (const storage::StoreError& e) {
      if (e.kind() != storage::StoreErrorKind::kNotFound) throw;
      if (on_lost_) on_lost_(key);
      throw ReplicaError(ReplicaErrorKind::kSnapshotLost,
                         "object " + key + " is gone from the store (compaction or retention)");
    }
    count(range, stream.received());
    try {
      stream.finish(got);  // replaced, short, or a frame that did not decode
    } catch (const ReplicaError& e) {
      if (e.kind() == ReplicaErrorKind::kSnapshotLost && on_lost_) on_lost_(key);
      throw;
    }
  } catch (...) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    const std::exception_ptr error = std::current_exception();
    for (; done < range.frames.size(); ++done) {
      complete(range.frames[done], slots[done], nullptr, error);
    }
    throw;
  }
}

void PageFetcher::count(const FetchRange& range, uint64_t received) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(received, std::memory_order_relaxed);
  uint64_t framed = 0;
  for (const auto& f : range.frames) framed += f.size;
  gap_bytes_.fetch_add(received - std::min<uint64_t>(framed, received), std::memory_order_relaxed);
}

PageBytes PageFetcher::offer(const FrameRef& frame, std::span<const uint8_t> bytes) {
  PageBytes page;
  try {
    ltx::PageDecompressor decompressor;
    page = decode_fetched(frame, bytes, decompressor);
  } catch (const std::exception&) {
    return nullptr;
  }
  pages_.fetch_add(1, std::memory_order_relaxed);
  cache_.put(key_of(frame), page);
  return page;
}

void PageFetcher::prefetch(const std::vector<FrameRef>& frames) {
  if (!workers_ || frames.empty()) return;
  size_t queued = 0;
  unsigned runs = 0;
  {
    base::MutexLock lock(mu_);
    for (const auto& f : frames) {
      const PageKey k = key_of(f);
      if (queued_.count(k) != 0 || inflight_.count(k) != 0 || cache_.contains(k)) continue;
      if (queue_.size() >= 2 * size_t{settings_.prefetch_pages}) {
        prefetch_dropped_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      queue_.push_back(f);
      queued_.emplace(k, true);
      ++queued;
    }
    prefetch_queued_.fetch_add(queued, std::memory_order_relaxed);
    assert(queue_.size() <= 2 * size_t{settings_.prefetch_pages});
    assert(queued_.size() == queue_.size());
    // As many runs as workers are missing (each takes one range at a time).
    const unsigned want = std::max(1u, settings_.prefetch_workers);
    if (queued > 0 && !stop_ && draining_ < want) runs = want - draining_;
    draining_ += runs;
  }
  struct Drain : base::WorkerPool::Item {
    explicit Drain(PageFetcher& f) : fetcher(f) {}
    void run_from_pool() override { fetcher.drain(); }
    PageFetcher& fetcher;
  };
  for (unsigned i = 0; i < runs; ++i) workers_->submit(std::make_shared<Drain>(*this));
}

void PageFetcher::drain() {
  for (;;) {
    FetchRange mine;
    Slots slots;
    {
      base::MutexLock lock(mu_);
      if (stop_ || queue_.empty()) {
        --draining_;
        return;
      }
      std::vector<FrameRef> queued(queue_.begin(), queue_.end());
      queue_.clear();
      queued_.clear();
      auto ranges = coalesce(std::move(queued), settings_.max_gap, settings_.max_request_bytes);
      // Take the first range that still has work; put the rest back for the other workers.
      size_t i = 0;
      for (; i < ranges.size() && mine.frames.empty(); ++i) mine = claim(ranges[i], slots);
      for (; i < ranges.size(); ++i) {
        for (const auto& f : ranges[i].frames) {
          queue_.push_back(f);
          queued_.emplace(key_of(f), true);
        }
      }
      assert(queued_.size() == queue_.size());
    }
    if (mine.frames.empty()) continue;
    prefetch_requests_.fetch_add(1, std::memory_order_relaxed);
    prefetch_pages_.fetch_add(mine.frames.size(), std::memory_order_relaxed);
    try {
      run(mine, slots);
    } catch (...) {
      // A reader that needs one of these pages fetches it itself (or sees the same error).
    }
  }
}

FetcherStats PageFetcher::stats() const {
  auto r = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  return {r(requests_),       r(bytes_),           r(gap_bytes_),
          r(pages_),          r(readahead_pages_), r(prefetch_requests_),
          r(prefetch_pages_), r(prefetch_queued_), r(prefetch_dropped_),
          r(shared_waits_),   r(errors_)};
}

}  // namespace ltxvfs::replica
