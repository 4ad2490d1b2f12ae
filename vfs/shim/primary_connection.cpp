#include "vfs/shim/primary_connection.h"

#include <strings.h>

#include <string>

#include "vfs/shim/log.h"
#include "vfs/shim/sqlite_api.h"
#include "vfs/writer/wal_index_pages.h"

namespace ltxvfs::vfs {
namespace {

constexpr int kWriteLockSlot = 0;
constexpr int kCheckpointLockSlot = 1;
constexpr int kRecoverLockSlot = 2;

bool covers(int offset, int n, int slot) {
  return offset <= slot && slot < offset + n;
}

}  // namespace

void PrimaryConnection::on_shm_region(int region, const void* base) {
  if (region < 0) return;
  if (static_cast<size_t>(region) >= regions_.size()) regions_.resize(region + 1, nullptr);
  regions_[region] = base;
}

std::optional<writer::WalIndexHeader> PrimaryConnection::read_header() const {
  if (regions_.empty() || regions_[0] == nullptr) return std::nullopt;
  return writer::read_wal_index_header(regions_[0]);
}

void PrimaryConnection::after_shm_lock(int offset, int n, bool exclusive) {
  if (!exclusive) return;
  if (covers(offset, n, kWriteLockSlot)) {
    write_locked_ = true;
    writing_ = false;
    recovering_ = false;
    wal_restarted_ = false;
    before_ = read_header();
  }
  // A recovery (rebuilding the wal-index from the WAL) takes the recover lock, under the write
  // lock; it changes the wal-index header without committing anything.
  if (covers(offset, n, kRecoverLockSlot)) recovering_ = true;
  // Exactly the checkpoint lock: a checkpoint. (A recovery takes it together with the recover
  // lock; it does not write the database file.)
  if (offset == kCheckpointLockSlot && n == 1) {
    checkpointing_ = true;
    // A checkpoint copies WAL frames into the database file: it waits while the builder reads
    // that file (a full file), never for commits it has not built (checkpoint_gate.h).
    replicator_->before_checkpoint();
  }
}

void PrimaryConnection::before_shm_unlock(int offset, int n, bool exclusive) {
  if (exclusive && covers(offset, n, kCheckpointLockSlot) && checkpointing_) {
    checkpointing_ = false;
    // It copied at most the frames the wal-index header counts now.
    replicator_->after_checkpoint(read_header());
  }
  if (!exclusive || !write_locked_ || !covers(offset, n, kWriteLockSlot)) return;
  write_locked_ = false;
  // Only this connection could change the wal-index header while it held the write lock: a
  // commit, unless it was a recovery, or a WAL restart with nothing committed after it (a
  // TRUNCATE checkpoint's restart, or a rolled-back transaction's). Deciding from the header
  // alone (not from writes seen on the -wal file) also sees the commits of a VFS stacked on top
  // of ltx.
  if (recovering_) return;
  std::optional<writer::WalIndexHeader> after = read_header();
  if (!after || (before_ && *after == *before_)) return;
  writer::CommitNotice notice;
  notice.before = before_;
  notice.after = *after;
  if (notice.restart_only()) {
    // Not a commit, but the builder must hear of it: the next commit starts a new generation
    // where the old one ended (the builder checks that this was where it stood), instead of
    // looking like transactions it never saw, which cost a whole-database file every TRUNCATE
    // checkpoint. Nobody waits for it (remote durability waits for commits only).
    replicator_->commit(std::move(notice));
    return;
  }
  if (after->max_frame == 0) return;
  notice.wal_restarted = wal_restarted_;
  // Which page each new frame holds, from the wal-index while it is still this commit's: the
  // builder then reads only the newest copy of each page instead of every frame.
  if (const uint32_t frames = notice.frame_count();
      frames > 0 && !writer::read_frame_pages(regions_, notice.first_frame(),
                                              notice.frame_pages.resize(frames))) {
    notice.frame_pages.clear();
  }
  pending_seq_ = replicator_->commit(std::move(notice));
}

void PrimaryConnection::after_shm_unlock(int offset, int n, bool exclusive) {
  if (!exclusive || !covers(offset, n, kWriteLockSlot) || pending_seq_ == 0) return;
  const uint64_t seq = pending_seq_;
  pending_seq_ = 0;
  // Remote durability: the commit is local already; hold the caller until the store has it (at
  // most remote_timeout_ms). The lock is released first so other writers can join the same
  // upload (group commit). SQLite ignores this call's result, so a commit that was not
  // acknowledged makes the next write transaction fail instead (on_wal_write).
  if (replicator_->config().durability == writer::Durability::kRemote) {
    replicator_->wait_uploaded(seq);
  }
}

void PrimaryConnection::on_wal_write(int64_t offset, int, bool wal_empty) {
  if (!write_locked_) {
    // Only an exclusive-locking-mode connection writes the WAL without the shm write lock; the
    // pragma is refused, so this is a connection we cannot see commits of.
    throw SqliteError(SQLITE_IOERR_WRITE,
                      "a WAL write without the WAL write lock (locking_mode=EXCLUSIVE?): ltx "
                      "cannot replicate such a connection; use locking_mode=NORMAL");
  }
  if (!writing_) {
    // The first write of a transaction: the place to refuse it, before anything is committed.
    const std::string refusal = replicator_->write_refusal();
    if (!refusal.empty()) throw SqliteError(SQLITE_IOERR_WRITE, refusal);
    writing_ = true;
  }
  if (offset == 0) {
    // A new WAL header: SQLite restarts the WAL and will overwrite the frames of the previous
    // generation. They must be spooled durably first. An empty WAL file has none: it was just
    // created (the first write after an open), or truncated, and truncating waited already. So
    // the first commit after an open waits only for the open's first build, not for the
    // pipeline and an fdatasync of the spool (Replicator::before_wal_header).
    wal_restarted_ = true;
    replicator_->before_wal_header(wal_empty);
  }
}

void PrimaryConnection::before_exclusive_lock() {
  // The last connection's close: sqlite3WalClose() takes this lock, switches the WAL to exclusive
  // mode (so its checkpoint takes no shm locks, and the checkpoint gate would not run),
  // checkpoints, then deletes the WAL (the VFS's xDelete holds that until the spool is durable).
  replicator_->before_closing_checkpoint();
  exclusive_ = true;
}

void PrimaryConnection::after_unlock(int level) {
  if (level < SQLITE_LOCK_EXCLUSIVE) exclusive_ = false;
}

void PrimaryConnection::on_db_write() {
  // In WAL mode only a checkpoint writes the database file. Anything else (the rollback-journal
  // transaction that switches a database to WAL mode, a connection that bypassed WAL) changed the
  // database behind the WAL: the next commit must ship the whole database. Under the EXCLUSIVE
  // lock, the writes are the closing checkpoint's, or the switch to WAL mode; the builder's first
  // run reads the database after the switch, and a close leaves nothing to replicate after it.
  if (!checkpointing_ && !exclusive_) replicator_->note_write_outside_wal();
}

void WalFileHooks::on_wal_write(int64_t offset, int, bool wal_empty) {
  // Transaction boundaries are not visible here: every write is checked.
  const std::string refusal = replicator_->write_refusal();
  if (!refusal.empty()) throw SqliteError(SQLITE_IOERR_WRITE, refusal);
  if (offset == 0) replicator_->before_wal_header(wal_empty);  // as the connection's
}

bool PrimaryConnection::file_control(int op, void* arg, int& rc) {
  if (op == kFcntlLtxReplicator) {
    *static_cast<writer::Replicator**>(arg) = replicator_.get();
    rc = SQLITE_OK;
    return true;
  }
  if (op != SQLITE_FCNTL_PRAGMA) return false;
  char** args = static_cast<char**>(arg);
  const char* name = args[1];
  const char* value = args[2];
  if (name == nullptr || value == nullptr) return false;
  if (strcasecmp(name, "journal_mode") == 0 && strcasecmp(value, "wal") != 0) {
    args[0] = sqlite3_mprintf(
        "ltx: this database is replicated and must stay in WAL mode; journal_mode=%s would let "
        "writes bypass the replica (open it without vfs=ltx to change the journal mode)",
        value);
    rc = SQLITE_ERROR;
    return true;
  }
  if (strcasecmp(name, "locking_mode") == 0 && strcasecmp(value, "exclusive") == 0) {
    args[0] = sqlite3_mprintf(
        "ltx: locking_mode=EXCLUSIVE is not supported on a replicated database: ltx sees "
        "commits through the WAL's shared-memory locks, which that mode does not use");
    rc = SQLITE_ERROR;
    return true;
  }
  return false;
}

}  // namespace ltxvfs::vfs
