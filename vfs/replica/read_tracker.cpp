#include "vfs/replica/read_tracker.h"

#include <algorithm>

#include "vfs/replica/btree_page.h"

namespace ltxvfs::replica {

std::vector<uint32_t> ReadTracker::readahead(uint32_t pgno, uint32_t commit) {
  std::vector<uint32_t> out;
  if (pgno == last_ + 1 && last_was_data_) {
    ++run_;
  } else if (pgno != last_) {
    run_ = 0;
    ahead_until_ = 0;
    window_ = 0;
  }
  last_ = pgno;
  // Only runs through data pages (leaves, overflow) count: a lookup's path of interior pages
  // may be numbered consecutively by chance, a scan moves from leaf to leaf.
  if (budget_ == 0 || run_ < 2) return out;
  // Ask again only once less than half of the last window is left ahead, so that read-ahead
  // goes out in a few growing batches rather than a request per page.
  if (window_ != 0 && ahead_until_ > pgno && ahead_until_ - pgno >= window_ / 2) return out;
  window_ =
      window_ == 0 ? std::min<uint32_t>(budget_, 4) : std::min<uint32_t>(budget_, window_ * 2);
  const uint32_t from = std::max(pgno + 1, ahead_until_ + 1);
  const uint32_t to = static_cast<uint32_t>(std::min<uint64_t>(commit, uint64_t{pgno} + window_));
  for (uint32_t p = from; p <= to; ++p) out.push_back(p);
  ahead_until_ = std::max(ahead_until_, to);
  return out;
}

std::vector<uint32_t> ReadTracker::window(uint32_t pgno, uint32_t commit) const {
  std::vector<uint32_t> out;
  if (budget_ == 0 || run_ < 1 || pgno != last_) return out;
  const uint32_t n = std::max<uint32_t>(std::min<uint32_t>(budget_, 4), window_);
  const auto to = static_cast<uint32_t>(std::min<uint64_t>(commit, uint64_t{pgno} + n));
  for (uint32_t p = pgno + 1; p <= to; ++p) out.push_back(p);
  return out;
}

std::vector<uint32_t> ReadTracker::after_read(uint32_t pgno, std::span<const uint8_t> page) {
  std::vector<uint32_t> out;
  if (budget_ == 0) return out;
  const size_t h = pgno == 1 ? kDbHeaderSize : 0;
  last_was_data_ = pgno != 1 && page.size() > h && page[h] != 0x05 && page[h] != 0x02;
  auto it = child_of_.find(pgno);
  if (it != child_of_.end()) {
    auto pit = parents_.find(it->second.first);
    if (pit != parents_.end()) {
      Parent& p = pit->second;
      const size_t i = it->second.second;
      const auto ii = static_cast<int64_t>(i);
      if (p.last_index >= 0 && (ii == p.last_index + 1 || ii + 1 == p.last_index)) {
        const size_t n = p.children.size();
        if (ii > p.last_index) {  // scanning left to right
          if (p.ahead_hi < i + 1 + budget_ / 4) {
            const size_t from = std::max(i + 1, p.ahead_hi);
            const size_t to = std::min(n, i + 1 + budget_);
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
      }
      p.last_index = ii;
    }
  }
  std::vector<uint32_t> children = interior_children(page, pgno);
  if (!children.empty() && parents_.count(pgno) == 0) {
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
  return out;
}

void ReadTracker::reset() {
  window_ = 0;
  last_was_data_ = false;
  last_ = 0;
  run_ = 0;
  ahead_until_ = 0;
  parents_.clear();
  parent_order_.clear();
  child_of_.clear();
}

}  // namespace ltxvfs::replica
