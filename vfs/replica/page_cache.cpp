#include "vfs/replica/page_cache.h"

#include "vfs/replica/btree_page.h"

namespace ltxvfs::replica {
namespace {

// A table or index interior page (page 1's b-tree header follows the database header).
bool is_interior(const PageKey& key, const std::vector<uint8_t>& page) {
  const size_t at = key.pgno == 1 ? kDbHeaderSize : 0;
  return page.size() > at && (page[at] == 0x05 || page[at] == 0x02);
}

}  // namespace

PageBytes PageCache::get(const PageKey& key) {
  base::MutexLock lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  Lru& list = it->second.interior ? interior_ : lru_;
  list.splice(list.begin(), list, it->second.it);
  return it->second.it->second;
}

bool PageCache::contains(const PageKey& key) const {
  base::MutexLock lock(mu_);
  return map_.count(key) != 0;
}

void PageCache::evict_from(Lru& list, bool interior) {
  auto& victim = list.back();
  bytes_ -= victim.second->size();
  if (interior) interior_bytes_ -= victim.second->size();
  map_.erase(victim.first);
  list.pop_back();
  ++evictions_;
}

void PageCache::put(const PageKey& key, PageBytes page) {
  if (!page) return;
  base::MutexLock lock(mu_);
  auto it = map_.find(key);
  if (it != map_.end()) {
    Lru& list = it->second.interior ? interior_ : lru_;
    list.splice(list.begin(), list, it->second.it);
    return;  // same object version and page: same bytes
  }
  const bool interior = is_interior(key, *page);
  const size_t size = page->size();
  Lru& list = interior ? interior_ : lru_;
  list.emplace_front(key, std::move(page));
  map_.emplace(key, Entry{list.begin(), interior});
  bytes_ += size;
  if (interior) interior_bytes_ += size;
  // Interior pages go while they hold more than an eighth, or when nothing else is left. The page
  // just added stays, however small the capacity.
  while (bytes_ > capacity_) {
    bool from_interior = interior_bytes_ > capacity_ / 8 || lru_.empty();
    if ((from_interior ? interior_ : lru_).back().first == key) from_interior = !from_interior;
    Lru& victims = from_interior ? interior_ : lru_;
    if (victims.empty() || victims.back().first == key) break;
    evict_from(victims, from_interior);
  }
}

PageCacheStats PageCache::stats() const {
  base::MutexLock lock(mu_);
  return {hits_, misses_, evictions_, map_.size(), bytes_, capacity_};
}

}  // namespace ltxvfs::replica
