// PageCache: a bounded LRU of decompressed pages, keyed by frame identity (object version, page
// number). Objects are immutable, so an entry stays valid across snapshots for as long as a
// snapshot still takes that page from that object. Thread-safe.
//
// Interior b-tree pages (one per ~400 leaves) have an LRU of their own, evicted only while it
// holds more than an eighth of the capacity (or nothing else is left): every lookup passes
// through them, and a scan prefetches each one well before it reads it. In one LRU, the ~16k
// pages a cold scan of W4 read after its last interior pages had arrived pushed them out, and the
// scan's last four steps each paid a round trip of their own (~100 ms of its 0.7 s).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"

namespace ltxvfs::replica {

using PageBytes = std::shared_ptr<const std::vector<uint8_t>>;

struct PageKey {
  uint64_t serial = 0;  // FileIndex::serial
  uint32_t pgno = 0;
  bool operator==(const PageKey&) const = default;
};

struct PageKeyHash {
  size_t operator()(const PageKey& k) const {
    return std::hash<uint64_t>()(k.serial * 0x9E3779B97F4A7C15ull ^ k.pgno);
  }
};

struct PageCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
  uint64_t pages = 0;
  uint64_t bytes = 0;
  uint64_t capacity_bytes = 0;
};

class PageCache {
 public:
  explicit PageCache(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

  // Counts a hit or a miss.
  PageBytes get(const PageKey& key);
  // Looks without counting (prefetch filtering).
  bool contains(const PageKey& key) const;
  void put(const PageKey& key, PageBytes page);

  PageCacheStats stats() const;

 private:
  using Lru = std::list<std::pair<PageKey, PageBytes>>;
  struct Entry {
    Lru::iterator it;
    bool interior = false;  // in interior_, not lru_
  };
  // Drops the least recently used entry of `list`.
  void evict_from(Lru& list, bool interior) REQUIRES(mu_);

  const uint64_t capacity_;
  // Shared by every reader and the prefetch workers.
  mutable base::Mutex mu_;
  Lru lru_ GUARDED_BY(mu_);       // most recently used first
  Lru interior_ GUARDED_BY(mu_);  // interior b-tree pages, most recently used first
  std::unordered_map<PageKey, Entry, PageKeyHash> map_ GUARDED_BY(mu_);
  uint64_t bytes_ GUARDED_BY(mu_) = 0;
  uint64_t interior_bytes_ GUARDED_BY(mu_) = 0;
  uint64_t hits_ GUARDED_BY(mu_) = 0;
  uint64_t misses_ GUARDED_BY(mu_) = 0;
  uint64_t evictions_ GUARDED_BY(mu_) = 0;
};

}  // namespace ltxvfs::replica
