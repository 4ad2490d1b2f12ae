// ConnectionHooks: what one SQLite connection's primary database file reports to the replicator.
//
// The shim calls these from the file methods of the main database file and its WAL. They run on
// SQLite's threads, inside SQLite's locks, so they must be cheap: record, queue, return.
#pragma once

#include <cstdint>

namespace ltxvfs::vfs {

class ConnectionHooks {
 public:
  virtual ~ConnectionHooks() = default;

  // Region `region` of the wal-index (shared memory) was mapped at `base`.
  virtual void on_shm_region(int region, const void* base) = 0;
  virtual void after_shm_lock(int offset, int n, bool exclusive) = 0;
  virtual void before_shm_unlock(int offset, int n, bool exclusive) = 0;
  virtual void after_shm_unlock(int offset, int n, bool exclusive) = 0;
  // A write of the WAL; `wal_empty`: at offset 0, into a WAL file of 0 bytes (no frame of an
  // earlier generation is there to be overwritten).
  virtual void on_wal_write(int64_t offset, int amount, bool wal_empty) = 0;
  // The database file itself was written (a checkpoint, or a write that bypassed the WAL).
  virtual void on_db_write() = 0;
  // The WAL is about to lose frames (truncate): they must be safely spooled first.
  virtual void before_wal_overwrite() = 0;
  // SQLite takes an EXCLUSIVE lock on the database file (in WAL mode: only when the last
  // connection closes, before its checkpoint and the WAL's deletion) / drops below it.
  virtual void before_exclusive_lock() = 0;
  virtual void after_unlock(int level) = 0;
  // Returns true when the file control was handled here (result in `rc`).
  virtual bool file_control(int op, void* arg, int& rc) = 0;
};

}  // namespace ltxvfs::vfs
