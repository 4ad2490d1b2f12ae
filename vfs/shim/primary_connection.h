// PrimaryConnection: the ConnectionHooks of one connection to a replicated database. It turns
// what SQLite does to the WAL locks into commit notices for the shared Replicator:
//
//  - taking the WAL write lock (shm slot 0): remember the wal-index header;
//  - releasing it, if the header changed and this was not a recovery (the recover lock was not
//    taken) nor a WAL restart followed by nothing: that is a commit;
//  - taking the checkpoint lock (slot 1): SQLite is about to copy WAL frames into the database,
//    so wait until the replicator has built every commit (it may still read database pages);
//  - restarting (a write at offset 0), truncating or deleting the WAL: its frames are about to be
//    lost, so wait until the replicator has spooled them durably;
//  - the first WAL write of a transaction: refuse it while the replicator refuses writes (a
//    remote-durability commit the store has not acknowledged).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "vfs/shim/connection_hooks.h"
#include "vfs/shim/lent_db_files.h"
#include "vfs/writer/replicator.h"
#include "vfs/writer/wal_index_header.h"

namespace ltxvfs::vfs {

// A file control opcode private to ltx: the SQL functions reach the replicator of a connection's
// main database through sqlite3_file_control(db, "main", kFcntlLtxReplicator, &ptr).
inline constexpr int kFcntlLtxReplicator = 0x4c545801;  // 'L' 'T' 'X' 1

class PrimaryConnection final : public ConnectionHooks {
 public:
  // `file`: the connection's database file, lent to the replicator by `loan` (null when the
  // replicator has nowhere to take it).
  PrimaryConnection(std::shared_ptr<writer::Replicator> replicator,
                    std::unique_ptr<LentDbFile> file, std::unique_ptr<DbFileLoan> loan)
      : file_(std::move(file)), loan_(std::move(loan)), replicator_(std::move(replicator)) {}

  LentDbFile& lent_file() { return *file_; }

  void on_shm_region(int region, const void* base) override;
  void after_shm_lock(int offset, int n, bool exclusive) override;
  void before_shm_unlock(int offset, int n, bool exclusive) override;
  void after_shm_unlock(int offset, int n, bool exclusive) override;
  void on_wal_write(int64_t offset, int amount, bool wal_empty) override;
  void on_db_write() override;
  void before_wal_overwrite() override { replicator_->before_wal_overwrite(); }
  void before_exclusive_lock() override;
  void after_unlock(int level) override;
  bool file_control(int op, void* arg, int& rc) override;

 private:
  std::optional<writer::WalIndexHeader> read_header() const;

  // Destroyed in reverse order: the replicator first (the last connection's drains it, still
  // reading through this file), then the loan (waiting out a read under way), then the file.
  std::unique_ptr<LentDbFile> file_;
  std::unique_ptr<DbFileLoan> loan_;
  std::shared_ptr<writer::Replicator> replicator_;
  std::vector<const void*> regions_;  // the wal-index regions mapped, by number
  bool write_locked_ = false;
  bool checkpointing_ = false;  // holds the checkpoint lock (its writes to the database are ours)
  bool exclusive_ = false;      // holds an EXCLUSIVE lock on the database file (closing)
  bool recovering_ = false;     // this write-lock hold is a recovery
  bool wal_restarted_ = false;
  bool writing_ = false;  // this transaction has written to the WAL
  std::optional<writer::WalIndexHeader> before_;
  uint64_t pending_seq_ = 0;
};

// The hooks of a WAL file opened through a VFS stacked on top of ltx (a test or tracing VFS): its
// database file object is the other VFS's, so the connection's hooks cannot be found from it. The
// replicator is found by path instead; commits are seen through the database file's shm locks as
// usual, and this keeps the gates that protect WAL frames and the remote-durability refusal.
class WalFileHooks final : public ConnectionHooks {
 public:
  explicit WalFileHooks(std::shared_ptr<writer::Replicator> replicator)
      : replicator_(std::move(replicator)) {}

  void on_shm_region(int, const void*) override {}
  void after_shm_lock(int, int, bool) override {}
  void before_shm_unlock(int, int, bool) override {}
  void after_shm_unlock(int, int, bool) override {}
  void on_wal_write(int64_t offset, int amount, bool wal_empty) override;
  void on_db_write() override {}
  void before_wal_overwrite() override { replicator_->before_wal_overwrite(); }
  void before_exclusive_lock() override {}
  void after_unlock(int) override {}
  bool file_control(int, void*, int&) override { return false; }

 private:
  std::shared_ptr<writer::Replicator> replicator_;
};

}  // namespace ltxvfs::vfs
