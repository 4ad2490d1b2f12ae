#include "vfs/shim/open_databases.h"

#include <algorithm>

namespace ltxvfs::vfs {

OpenDatabases& OpenDatabases::process() {
  static auto* registry = new OpenDatabases();  // never destroyed: threads may outlive main()
  return *registry;
}

void OpenDatabases::add_writer(const std::string& path, const writer::Replicator* r) {
  base::MutexLock lock(mu_);
  writers_.push_back({path, r});
}

void OpenDatabases::remove_writer(const writer::Replicator* r) {
  base::MutexLock lock(mu_);
  std::erase_if(writers_, [&](const Writer& w) { return w.replicator == r; });
}

void OpenDatabases::add_replica(const std::string& name, const replica::Replica* r) {
  base::MutexLock lock(mu_);
  replicas_.push_back({name, r});
}

void OpenDatabases::remove_replica(const replica::Replica* r) {
  base::MutexLock lock(mu_);
  std::erase_if(replicas_, [&](const Replica& x) { return x.replica == r; });
}

ProcessMetrics OpenDatabases::collect() {
  ProcessMetrics out;
  {
    // Statistics are copies taken under each database's own locks; none waits on the store.
    base::MutexLock lock(mu_);
    for (const auto& w : writers_) {
      out.writers.push_back({w.path, w.replicator->config().replica_url, w.replicator->stats(),
                             w.replicator->store_stats()});
    }
    for (const auto& r : replicas_) out.replicas.push_back({r.name, r.replica->stats()});
  }
  std::sort(out.writers.begin(), out.writers.end(),
            [](const auto& a, const auto& b) { return a.db < b.db; });
  std::sort(out.replicas.begin(), out.replicas.end(),
            [](const auto& a, const auto& b) { return a.db < b.db; });
  return out;
}

}  // namespace ltxvfs::vfs
