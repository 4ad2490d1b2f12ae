// OpenDatabases: every replicated database and read replica open in this process, so that one
// call (ltx_metrics(), the metrics file) can report all of them (issue 18: a process with
// hundreds of tenants' databases needs one place to look, not one query per connection).
//
// Concurrency contract: every method may be called from any thread. collect() reads each
// database's statistics under the registry's mutex, and a database leaves the registry (under
// it) before it is destroyed, so none is closed while it is read: remove_* waits.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "storage/store_stats.h"
#include "vfs/replica/replica.h"
#include "vfs/writer/replicator.h"

namespace ltxvfs::vfs {

struct WriterMetrics {
  std::string db;           // the database's path
  std::string replica_url;  // where it replicates (never a secret: URLs carry none)
  writer::ReplicatorStats stats;
  storage::StoreStatsSnapshot store;
};

struct ReplicaMetrics {
  std::string db;  // the name the application opened
  replica::ReplicaStats stats;
};

struct ProcessMetrics {
  std::vector<WriterMetrics> writers;
  std::vector<ReplicaMetrics> replicas;
};

class OpenDatabases {
 public:
  static OpenDatabases& process();

  // Call remove_writer before the replicator is destroyed (its shared_ptr's deleter does).
  void add_writer(const std::string& path, const writer::Replicator* r) EXCLUDES(mu_);
  void remove_writer(const writer::Replicator* r) EXCLUDES(mu_);
  void add_replica(const std::string& name, const replica::Replica* r) EXCLUDES(mu_);
  void remove_replica(const replica::Replica* r) EXCLUDES(mu_);
  // Statistics of every open database, writers sorted by path, replicas by name.
  ProcessMetrics collect() EXCLUDES(mu_);

 private:
  struct Writer {
    std::string path;
    const writer::Replicator* replicator;
  };
  struct Replica {
    std::string name;
    const replica::Replica* replica;
  };
  base::Mutex mu_;
  std::vector<Writer> writers_ GUARDED_BY(mu_);
  std::vector<Replica> replicas_ GUARDED_BY(mu_);
};

}  // namespace ltxvfs::vfs
