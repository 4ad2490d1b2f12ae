#include "vfs/replica/page_cache.h"

namespace ltxvfs::replica {

PageBytes PageCache::get(const PageKey& key) {
  base::MutexLock lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

bool PageCache::contains(const PageKey& key) const {
  base::MutexLock lock(mu_);
  return map_.count(key) != 0;
}

void PageCache::put(const PageKey& key, PageBytes page) {
  if (!page) return;
  base::MutexLock lock(mu_);
  auto it = map_.find(key);
  if (it != map_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return;  // same object version and page: same bytes
  }
  bytes_ += page->size();
  lru_.emplace_front(key, std::move(page));
  map_.emplace(key, lru_.begin());
  // Keep at least the page just added, however small the capacity.
  while (bytes_ > capacity_ && lru_.size() > 1) {
    auto& victim = lru_.back();
    bytes_ -= victim.second->size();
    map_.erase(victim.first);
    lru_.pop_back();
    ++evictions_;
  }
}

PageCacheStats PageCache::stats() const {
  base::MutexLock lock(mu_);
  return {hits_, misses_, evictions_, map_.size(), bytes_, capacity_};
}

}  // namespace ltxvfs::replica
