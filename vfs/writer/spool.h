// Spool: LTX files built locally and not yet acknowledged by the store, each with the writer's
// position after it.
//
// They are records appended to log files (<db>-ltx/spool/<first txid>.ltxlog), not a file each:
// creating a file costs a journal transaction (measured 620 us per create+rename here, 300x an
// append), which capped the builder far below SQLite's commit rate. A record is
//
//   [96-byte header: "LTXS", TXID range, LTX length, the LocalState after the record, CRC-64]
//   [one LTX file]
//
// so spooling a batch *is* recording the position: there is no separate state file to rewrite
// and fsync on the commit path. Appends are not synced (the WAL is the durable log); make_durable()
// is one fdatasync per log written since the last call, and the replicator runs it in the
// background and before SQLite may overwrite WAL frames. Only durable records may be uploaded, so
// the store is never ahead of what the spool will remember after a crash.
//
// On open every record is verified (header CRC, a whole-file LTX decode) and a log is cut at its
// first bad record: a crash can tear only what was appended after the last make_durable(), which
// the WAL still holds. Uploaded records are removed from memory (remove()); a log whose records
// were all uploaded is deleted once a newer durable record exists elsewhere, so the newest
// position always survives in some log. A record supersedes live records whose TXID range starts
// at or after its own (the builder rebuilt from there). Bookkeeping is O(log n).
//
// Threads: every method may be called from any thread; in practice the build stage's runs append
// (SpoolWriter, append()), the sync stage calls make_durable(), the upload stage reads and
// remove()s, and
// SQLite's threads ask for counts. Two locks, append_mu_ before mu_: append_mu_ lets one record be
// written at a time (held by a SpoolWriter for the whole build of a batch, and by append()); mu_
// guards the bookkeeping and is never held during an fdatasync. A leaf: no other lock is taken
// under either.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/posix_file.h"
#include "storage/body_source.h"
#include "vfs/writer/local_state.h"

namespace ltxvfs::writer {

struct SpoolEntry {
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  uint64_t size = 0;  // bytes of the LTX file
  int64_t timestamp_ms = 0;
};

class SpoolWriter;

class Spool {
 private:
  struct Log;

 public:
  // A spooled LTX file, readable for as long as the handle lives (even once removed).
  class Record final : public storage::BodySource {
   public:
    uint64_t size() const override { return entry_.size; }
    void read_at(uint64_t offset, std::span<uint8_t> out) const override;
    std::string describe() const override;
    const SpoolEntry& entry() const { return entry_; }

   private:
    friend class Spool;
    SpoolEntry entry_;
    std::shared_ptr<Log> log_;
    uint64_t offset_ = 0;
  };

  // Creates the directory (with directory_mode(file_mode)) if needed and reads the existing logs,
  // verifying every record. New logs get `file_mode`.
  Spool(std::string dir, uint32_t file_mode);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  const std::string& dir() const { return dir_; }
  // Appends one complete LTX file and the position after it.
  void append(const LocalState& after, uint64_t min_txid, std::span<const uint8_t> ltx)
      EXCLUDES(append_mu_, mu_);

  // Live records, ascending.
  std::vector<SpoolEntry> entries() const;
  // The first live records while each is durable, in order, up to `max_bytes` (at least one).
  std::vector<Record> durable_prefix(uint64_t max_bytes) const;
  size_t count() const;       // live records
  uint64_t bytes() const;     // of live records
  uint64_t max_txid() const;  // of live records, 0 when none
  // The position after the newest record in any log (live or already uploaded): what the spool
  // would tell a process that opens it now.
  std::optional<LocalState> newest_state() const;
  // A live record, readable while the handle lives; nullopt when it is gone.
  std::optional<Record> record(const SpoolEntry& entry) const;
  // Its bytes (tests and small files).
  std::vector<uint8_t> read(const SpoolEntry& entry) const;
  // The store acknowledged it (by TXID range).
  void remove(const SpoolEntry& entry);

  // fdatasync of every log appended to since the last call (and of the directory when a log was
  // created; the first call also fsyncs the directory, its parent and the parent's parent,
  // <db>-ltx and the database's directory, whose entries nothing else made durable); then deletes
  // logs whose records were all uploaded. Returns the newest TXID durable.
  uint64_t make_durable();
  uint64_t durable_txid() const;
  // Idle (issue 18): closes the descriptor of every log whose records were all uploaded and which
  // is durable, so an idle database holds none for its spool. The files stay (one may hold the
  // newest position; make_durable() deletes each once a newer record is durable in another log),
  // and the next append starts a new log. Does nothing while a record is being appended, nor to a
  // log of which a record handle lives. Returns whether it closed one.
  bool close_idle_log() EXCLUDES(append_mu_, mu_);

 private:
  friend class SpoolWriter;
  // One log file. path and fd are constant once it is listed in logs_ (a Record reads fd without
  // a lock), but for close_idle_log(), which closes fd when no record of it is live nor held; the
  // counters are guarded by Spool::mu_ (an annotation cannot name it from here).
  struct Log {
    std::string path;
    base::Fd fd;
    uint64_t size = 0;       // bytes appended
    uint64_t synced = 0;     // bytes known durable
    size_t live = 0;         // records not yet removed
    uint64_t last_txid = 0;  // max TXID of the records it holds
  };
  struct Item {
    SpoolEntry entry;
    std::shared_ptr<Log> log;
    uint64_t offset = 0;  // of the LTX bytes in the log
  };
  void load_log(const std::string& path) EXCLUDES(mu_);
  Log& active_log_locked() REQUIRES(mu_);  // the log appends go to (rotates, creates)
  void add_locked(Item item, const LocalState& after) REQUIRES(mu_);
  void release_locked(const std::shared_ptr<Log>& log) REQUIRES(mu_);

  // Constant after construction.
  const std::string dir_;
  const uint32_t file_mode_;

  // One record written at a time: its holder owns the active log's bytes past active_->size.
  base::Mutex append_mu_;

  // Protected by mu_.
  mutable base::Mutex mu_;
  std::map<std::string, std::shared_ptr<Log>> logs_ GUARDED_BY(mu_);
  std::shared_ptr<Log> active_ GUARDED_BY(mu_);
  bool dir_dirty_ GUARDED_BY(mu_) = false;          // a log was created since make_durable()
  bool ancestors_durable_ GUARDED_BY(mu_) = false;  // the directories above dir_ fsynced once
  std::map<uint64_t, Item> items_ GUARDED_BY(mu_);  // live records by min TXID
  uint64_t bytes_ GUARDED_BY(mu_) = 0;              // of items_
  // Position after the newest record appended or loaded.
  std::optional<LocalState> newest_ GUARDED_BY(mu_);
  uint64_t appended_txid_ GUARDED_BY(mu_) = 0;  // max TXID of the newest record appended
  uint64_t durable_txid_ GUARDED_BY(mu_) = 0;   // at most appended_txid_
  // Records superseded so far (a rebuild moved the position back).
  uint64_t supersedes_ GUARDED_BY(mu_) = 0;
};

// One LTX file being appended (streamed) to the spool; invisible until commit(), cut off again if
// destroyed without commit(). Holds the spool's append lock meanwhile (a scoped capability, as
// base::MutexLock: the analysis knows that a live SpoolWriter holds it). Used by one thread.
class SCOPED_CAPABILITY SpoolWriter {
 public:
  SpoolWriter(Spool& spool, uint64_t min_txid, uint64_t max_txid) ACQUIRE(spool.append_mu_);
  ~SpoolWriter() RELEASE();
  SpoolWriter(const SpoolWriter&) = delete;
  SpoolWriter& operator=(const SpoolWriter&) = delete;

  int fd() const { return fd_; }  // write the LTX bytes here, in order (at the file position)
  const std::string& name() const { return name_; }
  void commit(const LocalState& after);

 private:
  Spool& spool_;
  base::MutexLock append_lock_;
  uint64_t min_txid_, max_txid_;
  int fd_ = -1;
  uint64_t record_offset_ = 0;
  std::string name_;
  bool committed_ = false;
};

}  // namespace ltxvfs::writer
