#include "vfs/replica/location.h"

#include <map>
#include <utility>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace ltxvfs::replica {
namespace {

// The Locations some replica holds, by store URL and cache size. Entries whose Location is gone
// are dropped when the next lookup passes them.
struct Registry {
  base::Mutex mu;
  std::map<std::pair<std::string, uint64_t>, std::weak_ptr<Location>> locations GUARDED_BY(mu);
};

Registry& registry() {
  static auto* r = new Registry();  // never destroyed: replicas may close at exit
  return *r;
}

std::shared_ptr<Location> find_locked(Registry& r, const std::pair<std::string, uint64_t>& key)
    REQUIRES(r.mu) {
  std::erase_if(r.locations, [](const auto& entry) { return entry.second.expired(); });
  const auto it = r.locations.find(key);
  return it == r.locations.end() ? nullptr : it->second.lock();
}

}  // namespace

Location::Location(storage::OpenedStore opened, uint64_t cache_bytes)
    : source_(opened.url.to_string()),
      store_(std::move(opened.store)),
      layout_(opened.layout),
      store_stats_(std::move(opened.stats)),
      indexes_(*store_),
      cache_(cache_bytes) {}

std::shared_ptr<Location> Location::shared(const std::string& store_url, uint64_t cache_bytes,
                                           const std::function<storage::OpenedStore()>& open) {
  Registry& r = registry();
  const auto key = std::make_pair(store_url, cache_bytes);
  {
    base::MutexLock lock(r.mu);
    if (auto found = find_locked(r, key)) return found;
  }
  auto made = std::make_shared<Location>(open(), cache_bytes);
  base::MutexLock lock(r.mu);
  if (auto found = find_locked(r, key)) return found;  // another open finished first
  r.locations[key] = made;
  return made;
}

}  // namespace ltxvfs::replica
