// ReadTracker: one connection's read pattern, turned into prefetch advice.
//
//  - Sequential read-ahead: after three data pages (leaves, overflow) read in a row, each at most
//    kMaxJump page numbers after the previous one, the next pages are fetched along with the
//    current one; the window grows eightfold with the run (4, 32, 256, .. up to the budget). Short
//    jumps are part of a run because a table written along with an index has its leaves in runs of
//    ~15 page numbers with index pages between (W4: read-ahead restarted ~3,700 times in a 121 MiB
//    scan when it needed exactly consecutive pages). Interior pages read in between (the next
//    parent, at the end of each ~400 leaves) neither extend nor break a run.
//  - Interior b-tree pages: their child lists are remembered. When two *adjacent* children of one
//    interior page are read in a row, that subtree is being scanned and the following children are
//    prefetched. An interior page that is itself the next child of a scanned parent has its first
//    children prefetched as soon as it is read (the scan will enter it). A point lookup reads one
//    child per level and triggers nothing, so a cold point query costs only its b-tree path (a
//    missed child brings its next few siblings along in the same request: window()).
//  - Page 1: the root pages its schema names are prefetched when it is read (at open), since
//    every query's path starts at one of them.
//
// Not thread-safe: one per SQLite file handle (connections are used by one thread at a time).
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <unordered_map>
#include <vector>

namespace ltxvfs::replica {

class ReadTracker {
 public:
  explicit ReadTracker(uint32_t budget) : budget_(budget) {}

  // Pages to prefetch because of `pgno` (ascending, all <= commit), handed out once each in
  // growing batches. Call once per page read, before window().
  std::vector<uint32_t> readahead(uint32_t pgno, uint32_t commit);
  // When `pgno` (just passed to readahead()) misses the cache: the pages after it worth fetching
  // in the same request. During a sequential run, the window after it, whether or not
  // readahead() handed them out before (a miss means that read-ahead did not arrive in time);
  // otherwise, or when they reach further than a run's window, its next few siblings numbered
  // just after it, when a remembered interior page names it.
  struct Window {
    std::vector<uint32_t> pages;
    // The siblings of a lookup: worth only what joins the missed page's own request (the
    // fetcher would otherwise prefetch the rest, one more request each).
    bool along_only = false;
  };
  Window window(uint32_t pgno, uint32_t commit) const;
  // After `pgno` was read with contents `page`: pages to prefetch in the background.
  std::vector<uint32_t> after_read(uint32_t pgno, std::span<const uint8_t> page);
  // Forget everything (the snapshot changed: page numbers may mean other content now).
  void reset();

 private:
  struct Parent {
    std::vector<uint32_t> children;
    bool scanned = false;  // two adjacent children were read in a row
    int64_t last_index = -1;
    size_t ahead_hi = 0;  // children [.., ahead_hi) already requested going right
    uint32_t window = 0;  // the last window of children requested going right (0: none)
    size_t ahead_lo = 0;  // children [ahead_lo, ..) already requested going left (0: none)
    bool lo_set = false;
  };
  static constexpr size_t kMaxParents = 64;
  // Largest forward step between two data pages that still continues a sequential run.
  static constexpr uint32_t kMaxJump = 32;
  // Siblings fetched with a lookup's missed child (window()), when they follow it closely.
  static constexpr size_t kSiblingsAlong = 8;

  // The next siblings of `pgno` (at most kSiblingsAlong, numbered at most kMaxJump after it) in
  // the interior page remembered to name it; join-only.
  Window siblings_along(uint32_t pgno, uint32_t commit) const;
  // The children to prefetch because child `i` of `p` was just read (a scan step), or nothing.
  std::vector<uint32_t> scan_step(Parent& p, size_t i);
  void remember(uint32_t pgno, std::vector<uint32_t> children);
  // Whether `pgno` is the first leaf of a tree page 1's schema names: every remembered step up
  // from it is from a first child, up to a root.
  bool first_leaf_of_tree(uint32_t pgno) const;

  uint32_t budget_;
  uint32_t last_ = 0;       // the page passed to readahead() last
  uint32_t last_data_ = 0;  // the last leaf or overflow page read (0: none)
  bool continues_ = false;  // last_ continued the run of last_data_ (decided in readahead())
  uint32_t run_ = 0;
  uint32_t ahead_until_ = 0;
  uint32_t window_ = 0;          // size of the last read-ahead window (0: none yet)
  bool schema_read_ = false;     // page 1's root pages were handed out (since the last reset)
  std::vector<uint32_t> roots_;  // the root pages page 1's schema names
  // The current run started at the first leaf of a tree whose root the schema names (reached by
  // first children all the way down): a scan of the whole tree, most likely.
  bool run_from_start_ = false;
  std::unordered_map<uint32_t, Parent> parents_;
  std::deque<uint32_t> parent_order_;  // oldest first, to bound parents_
  std::unordered_map<uint32_t, std::pair<uint32_t, size_t>> child_of_;  // child -> (parent, idx)
};

}  // namespace ltxvfs::replica
