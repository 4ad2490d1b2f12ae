// Uploader: ships spooled LTX files to the store as level-0 objects, in TXID order, never skipping
// one. Several contiguous spooled files go up as one object (group upload) covering their TXID
// range. Every PUT is conditional (If-None-Match: *), so it can never overwrite remote data.
//
// Single-threaded: the replicator calls step() from its uploader thread and decides when to retry.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/object_store.h"
#include "storage/replica_layout.h"
#include "vfs/core/config.h"
#include "vfs/core/spool.h"

namespace ltxvfs::core {

// The store holds history this writer does not have: uploading would corrupt the replica.
// Permanent until someone acts; the message says what to do.
class RemoteConflict : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct UploadLimits {
  uint64_t max_group_bytes = 64u << 20;  // compact at most this much into one object
  size_t max_group_files = 1000;
};

class Uploader {
 public:
  Uploader(Spool& spool, storage::ObjectStore& store, storage::LayoutStyle layout,
           OutputFormat format, UploadLimits limits = {});

  enum class Outcome {
    kIdle,           // nothing to upload
    kUploaded,       // one object went up; call again
    kNeedsSnapshot,  // the store lacks the history before the spool: build a snapshot
  };

  // Learns the store's newest TXID (one listing) when not yet known, then uploads the next group.
  // `local_txid` is the newest TXID the builder has recorded in its state file; newer spooled
  // files wait. Throws storage::StoreError on store
  // failures (the caller retries with backoff) and RemoteConflict when uploading is unsafe.
  Outcome step(uint64_t local_txid);

  // Newest TXID the store is known to hold (0: empty, nullopt: not listed yet).
  std::optional<uint64_t> remote_txid() const { return remote_max_; }
  uint64_t objects_uploaded() const { return objects_; }
  uint64_t bytes_uploaded() const { return bytes_; }

 private:
  struct RemoteRange {
    uint64_t min_txid;
    uint64_t max_txid;
  };
  void list_remote();
  bool covered_by_remote(const SpoolEntry& e) const;
  std::vector<uint8_t> group_body(const std::vector<SpoolEntry>& group);
  void put(const std::string& key, const std::vector<uint8_t>& body, int64_t timestamp_ms);

  Spool& spool_;
  storage::ObjectStore& store_;
  storage::LayoutStyle layout_;
  OutputFormat format_;
  UploadLimits limits_;
  std::optional<uint64_t> remote_max_;
  std::vector<RemoteRange> remote_ranges_;
  uint64_t objects_ = 0;
  uint64_t bytes_ = 0;
};

// True when two LTX files hold the same transactions: equal headers except the timestamp, equal
// pages, equal post-apply checksum. A transaction rebuilt from the WAL after a crash differs from
// its first upload only in its timestamp.
bool same_transactions(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace ltxvfs::core
