#include "vfs/replica/read_tracker.h"

#include <algorithm>

#include "vfs/replica/btree_page.h"

namespace ltxvfs::replica {

std::vector<uint32_t> ReadTracker::readahead(uint32_t pgno, uint32_t commit) {
  std::vector<uint32_t> out;
  if (pgno == last_) return out;
  last_ = pgno;
  // Whether a page that does not continue the run breaks it depends on what it is: after_read()
  // decides (a data page starts a new run, an interior page leaves the run as it was).
  continues_ = last_data_ != 0 && pgno > last_data_ && pgno - last_data_ <= kMaxJump;
  if (!continues_) return out;
  ++run_;
  last_data_ = pgno;
  // Only runs through data pages (leaves, overflow) count: a lookup's path of interior pages
  // may be numbered consecutively by chance, a scan moves from leaf to leaf.
  if (budget_ == 0 || run_ < 2) return out;
  // Ask again only once less than half of the last window is left ahead, so that read-ahead
  // goes out in a few growing batches rather than a request per page.
  if (window_ != 0 && ahead_until_ > pgno && ahead_until_ - pgno >= window_ / 2) return out;
  // Eightfold: a cold scan reaches its 8,192-page window in 4 round trips, not 6 (W4's scan
  // 0.58-0.60 s -> 0.50-0.55 s with frames used as they arrive; a range query's few leaves still
  // get windows of 4, then 32).
  // A run from a tree's first leaf starts at the third window: W4's cold scan reached its
  // 2,048-page windows two round trips sooner.
  const uint32_t first = run_from_start_ ? 256 : 4;
  window_ =
      window_ == 0 ? std::min<uint32_t>(budget_, first) : std::min<uint32_t>(budget_, window_ * 8);
  const uint32_t from = std::max(pgno + 1, ahead_until_ + 1);
  const uint32_t to = static_cast<uint32_t>(std::min<uint64_t>(commit, uint64_t{pgno} + window_));
  for (uint32_t p = from; p <= to; ++p) out.push_back(p);
  ahead_until_ = std::max(ahead_until_, to);
  return out;
}

ReadTracker::Window ReadTracker::window(uint32_t pgno, uint32_t commit) const {
  Window out;
  if (budget_ == 0 || pgno != last_) return out;
  Window siblings = siblings_along(pgno, commit);
  if (run_ >= 1 && continues_) {
    const uint32_t n = std::max<uint32_t>(std::min<uint32_t>(budget_, 4), window_);
    // A run's first windows are 4 pages, and a run can be false: a range query's index leaf and
    // its first table leaf a few page numbers apart count as two data pages in a row. Then the
    // missed leaf's siblings reach further (W4b: its 100 rows lie in 6 leaves, and the 4 pages
    // of the run's window left the sixth to a round trip of its own).
    if (n >= siblings.pages.size()) {
      const auto to = static_cast<uint32_t>(std::min<uint64_t>(commit, uint64_t{pgno} + n));
      for (uint32_t p = pgno + 1; p <= to; ++p) out.pages.push_back(p);
      return out;
    }
  }
  return siblings;
}

ReadTracker::Window ReadTracker::siblings_along(uint32_t pgno, uint32_t commit) const {
  // A lookup's step down from a remembered interior page. Its next few siblings that lie just
  // after it ride along in the same request: a range query reads them next (W4b's 100 rows cross
  // ~6 table leaves, and the second one cost a round trip of its own before the scan of the
  // parent was noticed), and a point query pays a few pages of bytes, no request.
  Window out;
  const auto it = child_of_.find(pgno);
  if (it == child_of_.end()) return out;
  const auto pit = parents_.find(it->second.first);
  if (pit == parents_.end()) return out;
  const std::vector<uint32_t>& kids = pit->second.children;
  const size_t last = std::min(kids.size(), it->second.second + 1 + kSiblingsAlong);
  for (size_t k = it->second.second + 1; k < last; ++k) {
    if (kids[k] <= pgno || kids[k] - pgno > kMaxJump || kids[k] > commit) break;
    out.pages.push_back(kids[k]);
  }
  out.along_only = true;
  return out;
}

std::vector<uint32_t> ReadTracker::scan_step(Parent& p, size_t i) {
  std::vector<uint32_t> out;
  const auto ii = static_cast<int64_t>(i);
  const bool step = p.last_index >= 0 && (ii == p.last_index + 1 || ii + 1 == p.last_index);
  const bool forward = ii > p.last_index;
  p.last_index = ii;
  if (!step) return out;
  p.scanned = true;
  const size_t n = p.children.size();
  if (forward) {
    // Windows of children that grow fourfold (8, 32, .. budget), asked for once less than half
    // of the last one is left: a 100-row range query crossing a few leaves fetches ~8 more, not
    // the parent's ~400 children; a scan soon has `budget` children in flight (fourfold, not
    // twofold: 8192 is 5 windows away, not 10, and W4's cold scan took 0.86 s, not 0.94).
    if (p.ahead_hi < i + 1 + p.window / 2) {
      p.window = p.window == 0 ? std::min<uint32_t>(budget_, 8) : std::min(budget_, p.window * 4);
      const size_t from = std::max(i + 1, p.ahead_hi);
      const size_t to = std::min(n, i + 1 + p.window);
      for (size_t k = from; k < to; ++k) out.push_back(p.children[k]);
      p.ahead_hi = std::max(p.ahead_hi, to);
    }
  } else {  // right to left (ORDER BY ... DESC)
    const size_t want_lo = i > budget_ ? i - budget_ : 0;
    if (!p.lo_set || p.ahead_lo + budget_ / 4 > i) {
      const size_t to = p.lo_set ? std::min(i, p.ahead_lo) : i;
      for (size_t k = to; k > want_lo; --k) out.push_back(p.children[k - 1]);
      p.ahead_lo = p.lo_set ? std::min(p.ahead_lo, want_lo) : want_lo;
      p.lo_set = true;
    }
  }
  return out;
}

void ReadTracker::remember(uint32_t pgno, std::vector<uint32_t> children) {
  if (parents_.size() >= kMaxParents) {
    const uint32_t old = parent_order_.front();
    parent_order_.pop_front();
    auto oit = parents_.find(old);
    if (oit != parents_.end()) {
      for (uint32_t c : oit->second.children) {
        auto cit = child_of_.find(c);
        if (cit != child_of_.end() && cit->second.first == old) child_of_.erase(cit);
      }
      parents_.erase(oit);
    }
  }
  for (size_t k = 0; k < children.size(); ++k) child_of_[children[k]] = {pgno, k};
  Parent p;
  p.children = std::move(children);
  parents_.emplace(pgno, std::move(p));
  parent_order_.push_back(pgno);
}

std::vector<uint32_t> ReadTracker::after_read(uint32_t pgno, std::span<const uint8_t> page) {
  std::vector<uint32_t> out;
  if (budget_ == 0) return out;
  const size_t h = pgno == 1 ? kDbHeaderSize : 0;
  const bool data = pgno != 1 && page.size() > h && page[h] != 0x05 && page[h] != 0x02;
  if (data && !continues_ && pgno != last_data_) {  // a data page elsewhere: a new run
    run_ = 0;
    window_ = 0;
    ahead_until_ = 0;
    last_data_ = pgno;
    run_from_start_ = first_leaf_of_tree(pgno);
  }
  bool entered = false;  // pgno is the next child of a parent being scanned
  auto it = child_of_.find(pgno);
  if (it != child_of_.end()) {
    auto pit = parents_.find(it->second.first);
    if (pit != parents_.end()) {
      const int64_t before = pit->second.last_index;
      out = scan_step(pit->second, it->second.second);
      entered = static_cast<int64_t>(it->second.second) == before + 1 && before >= 0;
    }
  }
  if (pgno == 1 && !schema_read_) {
    // Every query starts at a root page the schema names: fetch them now, side by side, rather
    // than one round trip each on the first queries' paths (W4's indexed range query paid two).
    schema_read_ = true;
    roots_ = schema_roots(page, kMaxSchemaRoots);
    out.insert(out.end(), roots_.begin(), roots_.end());
  }
  std::vector<uint32_t> children = interior_children(page, pgno);
  if (!children.empty() && parents_.count(pgno) == 0) {
    if (entered) {
      // The scan goes through this subtree next, from its first child: fetch those now rather
      // than after two of them were read (a stall of a round trip at each of the ~55 interior
      // pages of W4's table).
      const uint32_t window = std::min<uint32_t>(budget_, 32);
      const size_t n = std::min<size_t>(children.size(), window);
      out.insert(out.end(), children.begin(), children.begin() + static_cast<ptrdiff_t>(n));
      remember(pgno, std::move(children));
      parents_[pgno].ahead_hi = n;
      parents_[pgno].window = window;
    } else {
      remember(pgno, std::move(children));
    }
  }
  return out;
}

bool ReadTracker::first_leaf_of_tree(uint32_t pgno) const {
  // Bounded: pages are bucket content, and a corrupt one could name an ancestor as its child.
  for (size_t depth = 0; depth <= kMaxParents; ++depth) {
    if (std::find(roots_.begin(), roots_.end(), pgno) != roots_.end()) return true;
    const auto it = child_of_.find(pgno);
    if (it == child_of_.end() || it->second.second != 0) return false;
    pgno = it->second.first;
  }
  return false;
}

void ReadTracker::reset() {
  window_ = 0;
  last_data_ = 0;
  continues_ = false;
  last_ = 0;
  run_ = 0;
  ahead_until_ = 0;
  schema_read_ = false;
  roots_.clear();
  run_from_start_ = false;
  parents_.clear();
  parent_order_.clear();
  child_of_.clear();
}

}  // namespace ltxvfs::replica
