// CommitNotice: what the shim observes about one write transaction, recorded on SQLite's thread
// while it still holds the WAL write lock, and handed to the builder thread.
#pragma once

#include <cstdint>
#include <optional>

#include "vfs/core/wal_index_header.h"

namespace ltxvfs::core {

struct CommitNotice {
  uint64_t seq = 0;                      // assigned by the replicator, in commit order
  std::optional<WalIndexHeader> before;  // wal-index header when the write lock was taken
  WalIndexHeader after;                  // ... and when it was released (after the commit)
  bool wal_restarted = false;            // this transaction wrote a new WAL header
  int64_t time_ms = 0;                   // commit time: the LTX timestamp
  // The database file was written outside a checkpoint since the previous commit: its content
  // no longer follows from the WAL, so this commit must ship the whole database.
  bool database_written_outside_wal = false;
};

}  // namespace ltxvfs::core
