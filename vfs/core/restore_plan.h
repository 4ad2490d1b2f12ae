// Restore planning: which LTX files of a replica, applied in order, give the database at a TXID.
//
// A plan starts at a snapshot (min TXID 1) and continues with files whose TXID ranges are
// contiguous, drawn from any level. Among all such chains it takes one with the fewest files
// (newest snapshot, largest compactions). Shared by the restore tool and the read replica.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/object_store.h"
#include "storage/replica_layout.h"

namespace ltxvfs::core {

struct RemoteFile {
  uint32_t level = 0;
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  std::string key;
  uint64_t size = 0;
  int64_t last_modified_ms = 0;
};

class RestoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Every LTX file of the replica (one listing), sorted by level, then min TXID.
std::vector<RemoteFile> list_ltx_files(storage::ObjectStore& store, storage::LayoutStyle layout);

// The newest TXID a chain can reach (0 when the replica is empty). Files beyond a TXID gap are
// unreachable; `gap_after`, when given, receives the TXID after which the first gap lies (or 0).
uint64_t newest_restorable_txid(const std::vector<RemoteFile>& files,
                                uint64_t* gap_after = nullptr);

// The chain of files that restores the database at exactly `target_txid`. Throws RestoreError
// naming the gap (or the missing snapshot) when no chain reaches it.
std::vector<RemoteFile> plan_restore(const std::vector<RemoteFile>& files, uint64_t target_txid);

}  // namespace ltxvfs::core
