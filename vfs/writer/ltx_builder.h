// LtxBuilder: turns committed WAL transactions into LTX files in the spool and keeps the writer's
// position (TXID, database checksum, WAL place) current. Every SQLite transaction is one TXID;
// the commits queued since the last build go into ONE LTX file covering their TXID range (newest
// copy of each page), so the cost of a build is paid per batch, not per transaction. A batch is
// as fine-grained as the store keeps history anyway: uploads group the spool per interval.
//
// Single-threaded: the replicator runs it on its builder thread (hurry() aside: any thread). While
// a thread waits for the builds, pages are compressed on two threads (page_feeder.h). It reads the
// WAL and database through FileAccess; SQLite must not overwrite WAL frames it has not built yet
// (the replicator's gates hold a WAL restart or truncation until the builder is done and the spool
// durable).
//
// Continuity: commits are built incrementally only when the WAL shows they follow exactly the
// recorded position. Anything else (a write by a process without the VFS, a WAL restart we did
// not see, a database replaced underneath) produces a full-database file at the next TXID instead
// of a guess.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/log_sink.h"
#include "ltx/header.h"
#include "ltx/page_codec.h"
#include "vfs/writer/checkpoint_gate.h"
#include "vfs/writer/commit_notice.h"
#include "vfs/writer/config.h"
#include "vfs/writer/database_image.h"
#include "vfs/writer/file_access.h"
#include "vfs/writer/local_state.h"
#include "vfs/writer/spool.h"
#include "vfs/writer/wal_scanner.h"

namespace ltxvfs::writer {

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
  // With `key`, every file (spooled and uploaded) is encrypted (docs/SECURITY.md). With `gate`,
  // SQLite checkpoints without waiting for builds that read only the WAL, and every read of the
  // database file holds the gate (checkpoint_gate.h); without one, the caller must not let a
  // checkpoint run until everything queued is built.
  LtxBuilder(FileAccess& files, Spool& spool, ltx::OutputFormat format, int zstd_level,
             ltx::KeyPtr key = nullptr, CheckpointGate* gate = nullptr);

  // With a key: the database id every file binds (vfs/writer/database_id.h). Call before
  // initial_sync(); an encrypted build without one throws.
  void bind_database(uint64_t id) { database_id_ = id; }

  // Establishes the position from `recorded` (the spool's newest record or the state file; null
  // when there is none; `recorded_problem` says why a state that existed was unusable), the
  // database and the WAL; builds what the WAL holds beyond it, or a full-database file when
  // continuity is lost.
  void initial_sync(const std::optional<LocalState>& recorded, const std::string& recorded_problem,
                    int64_t now_ms);
  // The state of the database as SQLite sees it now (the file and the committed WAL frames), at
  // the end of the WAL, with `txid` 0: what a database that has no replication state of its own
  // would be adopted as. nullopt for an empty database. Call before the builder is in use.
  std::optional<LocalState> describe_current(int64_t now_ms);
  // Builds consecutive commits (in commit order).
  void build(std::span<const CommitNotice> notices);
  // Writes a snapshot (min TXID 1) of the current state at the next TXID: a new base for a store
  // that lacks the history (empty, or behind the spool).
  void write_snapshot(int64_t now_ms, const std::string& reason);
  // The spool is full: stop building (commits are skipped, cheaply) until resume_after_overflow(),
  // which ships the whole database at the next TXID to bridge the gap.
  void set_overflow() { overflow_ = true; }
  bool overflowed() const { return overflow_; }
  void resume_after_overflow(int64_t now_ms);
  // Forgets the position: the next call must be initial_sync(), which re-derives it. Used after a
  // failed build.
  void reset() {
    synced_ = false;
    wal_map_.clear();
  }

  // Idle (the build stage's thread is ending): gives back the WAL's descriptor
  // (FileAccess::release_idle; every entry point above refreshes first) and the helper's
  // compression context, made again at the next wait (issue 18: an idle database's memory).
  void release_idle() {
    files_.release_idle();
    helper_compressor_.reset();
  }

  uint64_t txid() const { return state_.txid; }
  // Runs of commits whose frames had to be read back from the WAL because their notices lacked
  // the wal-index's page numbers (normally 0: a real connection always has them).
  uint64_t wal_scans() const { return wal_scans_; }
  const LocalState& state() const { return state_; }
  bool synced() const { return synced_; }
  // Events since the last call.
  std::vector<BuildEvent> take_events();
  // A thread starts (true) or stops (false) waiting for the builds: the builder compresses on two
  // threads while any does (page_feeder.h). Any thread.
  void hurry(bool waiting) {
    if (waiting) {
      hurried_.fetch_add(1, std::memory_order_relaxed);
    } else {
      hurried_.fetch_sub(1, std::memory_order_relaxed);
    }
  }

 private:
  enum class FullKind { kIncremental, kSnapshot };

  std::optional<WalHeader> read_wal_header();
  // Scans the current WAL from its header up to `limit`; resets the frame map to what it holds.
  std::vector<WalTransaction> rescan_wal(const WalHeader& header, uint64_t limit);
  uint32_t page_size_from_db();
  void read_page(uint32_t pgno, std::span<uint8_t> out);
  // Calls fn for pages 1..commit (not the lock page) as SQLite sees them: from the WAL where the
  // frame map has them, otherwise from the database file, read in runs of up to 1 MiB (a full
  // file of a large database costs a few large reads, not one per page).
  void for_each_page(uint32_t commit,
                     const std::function<void(uint32_t, std::span<const uint8_t>)>& fn);
  // The image of the database file overlaid with the frame map.
  DatabaseImage image_of_current_state(uint32_t commit);

  // What initial_sync() finds: the WAL's committed transactions and the database file's size.
  struct FoundWal {
    std::optional<WalHeader> header;   // nullopt: no WAL, or none SQLite would read
    std::vector<WalTransaction> txns;  // committed, from the WAL's start
    WalPosition start;                 // the WAL's first frame (WalPosition{} without one)
    WalPosition end;                   // after its last commit
    uint32_t db_file_pages = 0;
    uint32_t end_commit = 0;  // the database's size in pages as SQLite sees it
    // No committed frame: the database file is the state, whatever generation comes next.
    bool commits_nothing() const { return !header || txns.empty(); }
  };
  // The parts of initial_sync(): an empty database; a database with no usable recorded state
  // (none, or of another page size); the two ways a recorded state is found again, each
  // returning false when the database is not there.
  void sync_empty(const std::optional<LocalState>& recorded, const std::string& recorded_problem);
  void sync_without_recorded_state(const std::optional<LocalState>& recorded,
                                   const std::string& recorded_problem, const FoundWal& wal,
                                   uint32_t page_size, int64_t now_ms);
  bool resume_in_wal(const LocalState& recorded, const FoundWal& wal, int64_t now_ms);
  bool resume_at_db_file(const LocalState& recorded, const FoundWal& wal, int64_t now_ms);

  // The first commit of an empty database: takes its page size from the wal-index header.
  void adopt_page_size(const WalIndexHeader& after);
  // One LTX file for a run of consecutive commits starting at `from` (or a full file, when their
  // WAL frames do not verify).
  void build_run(std::span<const CommitNotice> run, const WalPosition& from);
  // One LTX file for consecutive transactions starting at `from`.
  void build_batch(std::span<const WalTransaction> txns, const WalPosition& from, int64_t time_ms);
  void build_full(FullKind kind, uint32_t commit, const WalPosition& end, int64_t time_ms,
                  const std::string& reason);
  // Reads the WAL frame (header, and as much of the page as `bytes` holds) whose page data is at
  // `data_offset` into `bytes`, and checks that it holds `pgno` in the generation of `salts` (and,
  // with `commit`, that it commits that database size); throws if not.
  void read_checked_frame(uint64_t data_offset, std::span<uint8_t> bytes, uint32_t pgno,
                          const WalSalts& salts, std::optional<uint32_t> commit);
  // Puts the position at the database file (`yes`; see wal_generation_unknown_), or in a known
  // generation.
  void at_database_file(bool yes, std::optional<WalSalts> next = std::nullopt) {
    wal_generation_unknown_ = yes;
    next_generation_ = yes ? next : std::nullopt;
  }
  // While at the database file: whether a transaction whose lock-time header is `before` begins
  // the next generation.
  bool starts_generation(const WalIndexHeader& before) const {
    return before.max_frame == 0 && (!next_generation_ || before.salts == *next_generation_);
  }
  // After reading frames of generation `salts`: throws unless the WAL still holds it. A restart
  // writes the new header before any frame, so the frames read were not overwritten meanwhile.
  // (A restart waits for the commits queued, not for a snapshot or a run after a failure.)
  void check_wal_generation(const WalSalts& salts);
  // A full file at the next TXID, of the state at `limit` in the WAL (kNoLimit: its end); a
  // snapshot when `snapshot` or when the chain must restart. Reads the database file.
  void discontinuity(const std::string& reason, int64_t time_ms, uint64_t limit,
                     bool snapshot = false);
  // Every read of the database file holds this for its duration (a checkpoint cannot copy
  // frames into the file meanwhile).
  CheckpointGate::Hold hold_database() { return gate_ ? gate_->hold() : CheckpointGate::Hold(); }
  // A checkpoint may have copied frames past `offset` of generation `salts` into the database
  // file: reading it does not give the state at that position.
  bool database_ahead_of(const WalSalts& salts, uint64_t offset) const {
    return gate_ != nullptr && gate_->ahead_of(salts, offset);
  }
  void record(const WalPosition& end, uint32_t commit, int64_t time_ms);
  void add_to_map(std::span<const WalTransaction> txns);

  FileAccess& files_;
  Spool& spool_;
  ltx::OutputFormat format_;
  ltx::KeyPtr key_;
  uint64_t database_id_ = 0;  // bind_database(), before the first build
  int zstd_level_;
  CheckpointGate* const gate_;
  // Lives as long as the builder: a zstd context costs more to create than a small batch costs
  // to encode.
  std::unique_ptr<ltx::PageCompressor> compressor_;
  // The second thread's while someone waits (page_feeder.h): made at the first such run.
  std::unique_ptr<ltx::PageCompressor> helper_compressor_;
  // How many threads wait for the builds (hurry()); any thread writes it.
  std::atomic<unsigned> hurried_{0};

  LocalState state_;
  bool synced_ = false;
  bool overflow_ = false;
  // The next file must start a new chain (a snapshot): the recorded history does not describe the
  // database any more (it was deleted and recreated empty, or the recorded state was unusable).
  bool restart_chain_ = false;
  std::string restart_reason_;
  // True when the position is "the database file itself, no WAL generation known yet" (no WAL,
  // none of its frames committed, or restarted after the position): the next commit may begin
  // one, at its first frame; the one `next_generation_` names when a restart told us.
  bool wal_generation_unknown_ = false;
  std::optional<WalSalts> next_generation_;
  DatabaseImage image_;
  // Latest frame of each page in the current WAL generation, up to state_.wal.offset.
  std::unordered_map<uint32_t, uint64_t> wal_map_;
  std::vector<BuildEvent> events_;
  uint64_t wal_scans_ = 0;
  std::vector<uint8_t> write_buffer_;  // spool appends, reused
};

}  // namespace ltxvfs::writer
