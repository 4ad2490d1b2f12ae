// LtxBuilder: turns committed WAL transactions into LTX files in the spool, one TXID per SQLite
// transaction, and keeps the writer's position (TXID, database checksum, WAL place) current.
//
// Single-threaded: the replicator runs it on its builder thread. It reads the WAL and database
// through FileAccess; SQLite must not discard WAL frames it has not processed yet (the replicator
// holds checkpoints until the builder is idle).
//
// Continuity: a transaction is built incrementally only when the WAL shows it follows exactly the
// recorded position. Anything else (a write by a process without the VFS, a WAL restart we did not
// see, a database replaced underneath) produces a full-database file at the next TXID instead of a
// guess.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ltx/header.h"
#include "ltx/page_codec.h"
#include "vfs/core/commit_notice.h"
#include "vfs/core/config.h"
#include "vfs/core/database_image.h"
#include "vfs/core/file_access.h"
#include "vfs/core/local_state.h"
#include "vfs/core/spool.h"
#include "vfs/core/wal_scanner.h"

namespace ltxvfs::core {

// What the builder produced, for stats and logs.
struct BuildEvent {
  enum class Kind { kIncremental, kFull, kSnapshot } kind = Kind::kIncremental;
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  uint32_t pages = 0;
  uint64_t bytes = 0;
  std::string reason;  // why a full file was written
};

class LtxBuilder {
 public:
  LtxBuilder(FileAccess& files, Spool& spool, std::string state_path, OutputFormat format);

  // Establishes the position from the recorded state, the database and the WAL; builds what the
  // WAL holds beyond the recorded state, or a full-database file when continuity is lost.
  // Returns false (and does nothing) while the database file is still in rollback mode: the
  // opening connection is switching it to WAL mode; call again shortly.
  bool initial_sync(int64_t now_ms);
  void on_commit(const CommitNotice& notice);
  // Writes a snapshot (min TXID 1) of the current state at the next TXID: a new base for a store
  // that lacks the history (empty, or behind the spool).
  void write_snapshot(int64_t now_ms, const std::string& reason);
  // The spool is full: stop building per-transaction files (commits are skipped, cheaply) until
  // resume_after_overflow(), which ships the whole database at the next TXID to bridge the gap.
  void set_overflow() { overflow_ = true; }
  bool overflowed() const { return overflow_; }
  void resume_after_overflow(int64_t now_ms);
  // Forgets the position: the next call must be initial_sync(), which re-derives it from the
  // recorded state, the database and the WAL. Used after a failed build.
  void reset() {
    synced_ = false;
    wal_map_.clear();
  }
  // Writes the state file (no fsync) if the position moved. The replicator calls it before each
  // upload: the store must never hold a TXID the state file does not record. Not per commit:
  // rewriting a file on every commit costs metadata I/O that synchronous=FULL pays in each fsync.
  void persist();
  // Persists the spool and the state file durably (before SQLite may discard WAL frames).
  void make_durable();

  uint64_t txid() const { return state_.txid; }
  const LocalState& state() const { return state_; }
  bool synced() const { return synced_; }
  // Events since the last call.
  std::vector<BuildEvent> take_events();

 private:
  enum class FullKind { kIncremental, kSnapshot };

  std::optional<WalHeader> read_wal_header();
  // Scans the current WAL from its header up to `limit`; resets the frame map to what it holds.
  std::vector<WalTransaction> rescan_wal(const WalHeader& header, uint64_t limit);
  uint32_t page_size_from_db();
  bool db_in_wal_mode();
  void read_page(uint32_t pgno, std::span<uint8_t> out);
  // The image of the database file overlaid with the frame map.
  DatabaseImage image_of_current_state(uint32_t commit);

  void build_transaction(const WalTransaction& txn, const WalPosition& from, int64_t time_ms);
  void build_full(FullKind kind, uint32_t commit, const WalPosition& end, int64_t time_ms,
                  const std::string& reason);
  void discontinuity(const std::string& reason, int64_t time_ms, uint64_t limit);
  void record(const WalPosition& end, uint32_t commit, int64_t time_ms);

  FileAccess& files_;
  Spool& spool_;
  // Lives as long as the builder: a zstd context costs more to create than a small transaction
  // costs to encode.
  std::unique_ptr<ltx::PageCompressor> compressor_;
  std::string state_path_;
  OutputFormat format_;

  LocalState state_;
  bool synced_ = false;
  bool overflow_ = false;
  bool dirty_ = false;  // the position moved since the state file was written
  // True when the position is "the database file itself, no WAL generation known yet".
  bool wal_generation_unknown_ = false;
  DatabaseImage image_;
  // Latest frame of each page in the current WAL generation, up to state_.wal.offset.
  std::unordered_map<uint32_t, uint64_t> wal_map_;
  std::vector<BuildEvent> events_;
};

}  // namespace ltxvfs::core
