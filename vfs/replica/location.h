// Location: what every replica of one store location in a process shares (issue 17): the store
// (its connections and request counters), the page indexes of its objects (IndexCache) and one
// page cache bounded by cache_mb. Two connections opening the same replica URL so pay for an
// object's index tail once, and a page one of them read is a cache hit for the other.
//
// What stays per connection is everything about position: each Replica has its own snapshots,
// poller, time travel (PRAGMA ltx_txid moves one connection only), fetch workers and hydration.
// Sharing is safe because both caches are keyed by object identity, never by a replica's state:
// IndexCache by object key and version, PageCache by (that cache's serial of the object, page).
//
// Thread-safe: Location::shared() takes a process-wide lock only to look up or insert, never while
// a store is opened; the members are thread-safe themselves. A Location lives as long as a
// replica holds it: the last connection to close drops the caches.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "storage/object_store.h"
#include "storage/replica_layout.h"
#include "storage/store_factory.h"
#include "vfs/replica/index_cache.h"
#include "vfs/replica/page_cache.h"

namespace ltxvfs::replica {

class Location {
 public:
  Location(storage::OpenedStore opened, uint64_t cache_bytes);
  Location(const Location&) = delete;
  Location& operator=(const Location&) = delete;

  // The process's Location for `store_url` with a cache of `cache_bytes`, opened by `open` when
  // no replica holds one now. Different cache sizes get different Locations (each bounded as
  // asked). `open` runs without the registry's lock, so a slow store holds no other open up;
  // when two opens race, the first to finish is kept.
  static std::shared_ptr<Location> shared(const std::string& store_url, uint64_t cache_bytes,
                                          const std::function<storage::OpenedStore()>& open);

  const std::string& source() const { return source_; }
  storage::ObjectStore& store() { return *store_; }
  storage::LayoutStyle layout() const { return layout_; }
  const std::shared_ptr<storage::StoreStats>& store_stats() const { return store_stats_; }
  IndexCache& indexes() { return indexes_; }
  PageCache& cache() { return cache_; }

 private:
  // Constant after construction (declaration order: the caches use the store).
  const std::string source_;
  const std::unique_ptr<storage::ObjectStore> store_;
  const storage::LayoutStyle layout_;
  const std::shared_ptr<storage::StoreStats> store_stats_;
  IndexCache indexes_;
  PageCache cache_;
};

}  // namespace ltxvfs::replica
