// Spool: LTX files built locally and not yet acknowledged by the store.
//
// They are records appended to log files (<db>-ltx/spool/<first min txid>.ltxlog), not a file
// each: creating a file costs a journal transaction (measured 620 us per create+rename here, 300x
// an append), which capped the builder far below SQLite's commit rate. Records are appended
// without fsync (the WAL is the durable log); make_durable() is one fdatasync of the logs written
// since the last call, and the replicator calls it before SQLite may discard WAL frames.
//
// Record: [u32 "LTXR"][u64 min txid][u64 max txid][u64 length][length bytes of one LTX file].
// On open every record is verified (a whole-file LTX decode) and a log is cut at its first bad
// record: a crash can tear only what was written after the last make_durable(), which the WAL
// still holds. A log is deleted once every record in it was uploaded (remove()). Removals are not
// recorded: after a restart the uploader drops records the store already has. A record supersedes
// live records whose TXID range starts at or after its own (the builder rebuilt from there).
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "vfs/core/posix_file.h"

namespace ltxvfs::core {

struct SpoolEntry {
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  uint64_t size = 0;    // bytes of the LTX file
  std::string path;     // the log holding it
  uint64_t offset = 0;  // of the LTX bytes in the log
  uint64_t id = 0;      // unique per entry
};

class Spool;

// One LTX file being appended (streamed) to the spool; invisible to entries() until commit(),
// cut off again if destroyed without commit().
class SpoolWriter {
 public:
  SpoolWriter(Spool& spool, uint64_t min_txid, uint64_t max_txid);
  ~SpoolWriter();
  SpoolWriter(const SpoolWriter&) = delete;
  SpoolWriter& operator=(const SpoolWriter&) = delete;

  int fd() const;                  // write the LTX bytes here, in order (O_APPEND)
  const std::string& name() const  // for messages
  {
    return name_;
  }
  void commit();

 private:
  Spool& spool_;
  std::unique_lock<std::mutex> append_lock_;  // one append at a time
  uint64_t min_txid_, max_txid_;
  uint64_t record_offset_ = 0;
  std::string name_;
  bool committed_ = false;
};

class Spool {
 public:
  // Creates the directory if needed and reads the existing logs (verifying every record).
  explicit Spool(std::string dir);
  ~Spool();

  const std::string& dir() const { return dir_; }
  // Appends one complete LTX file.
  void append(uint64_t min_txid, uint64_t max_txid, std::span<const uint8_t> ltx);
  std::vector<SpoolEntry> entries() const;  // live records, ascending by min TXID
  std::vector<uint8_t> read(const SpoolEntry& entry) const;
  uint64_t bytes() const;
  uint64_t max_txid() const;  // 0 when empty
  // The store acknowledged it.
  void remove(const SpoolEntry& entry);
  // fdatasync of every log appended to since the last call (and the directory for new logs).
  void make_durable();

 private:
  friend class SpoolWriter;
  struct Log {
    std::string path;
    Fd fd;
    uint64_t size = 0;
    size_t live = 0;  // records not yet removed
    bool durable = true;
  };
  void load_log(const std::string& path);
  Log& active_log_locked();  // the log appends go to (creates one)
  void add_locked(SpoolEntry entry);
  void release_locked(const std::string& path);

  std::string dir_;
  mutable std::mutex mu_;  // entries and logs
  std::mutex append_mu_;   // serialises appends (held by SpoolWriter)
  // shared: a reader keeps a log (and its descriptor) alive while it reads, even if the log is
  // released meanwhile.
  std::map<std::string, std::shared_ptr<Log>> logs_;
  std::string active_;      // path of the log appends go to; "" until the first append
  bool dir_dirty_ = false;  // a log was created since make_durable()
  std::vector<SpoolEntry> entries_;
  uint64_t next_id_ = 1;
};

}  // namespace ltxvfs::core
