// Spool: LTX files built locally and not yet acknowledged by the store, one file per TXID range,
// in <db>-ltx/spool/<min>-<max>.ltx.
//
// Files are written without fsync (the WAL is the durable log); make_durable() fsyncs whatever is
// not yet durable, and the replicator calls it before SQLite may discard WAL frames. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "vfs/core/posix_file.h"

namespace ltxvfs::core {

struct SpoolEntry {
  uint64_t min_txid = 0;
  uint64_t max_txid = 0;
  uint64_t size = 0;
  std::string path;
};

class Spool;

// A file being written into the spool; invisible to entries() until commit().
class SpoolWriter {
 public:
  SpoolWriter(Spool& spool, uint64_t min_txid, uint64_t max_txid);
  ~SpoolWriter();  // removes the temporary file unless committed
  SpoolWriter(const SpoolWriter&) = delete;
  SpoolWriter& operator=(const SpoolWriter&) = delete;

  int fd() const { return fd_.get(); }
  const std::string& temp_path() const { return temp_path_; }
  void commit();

 private:
  Spool& spool_;
  uint64_t min_txid_;
  uint64_t max_txid_;
  std::string temp_path_;
  Fd fd_;
  bool committed_ = false;
};

class Spool {
 public:
  // Creates the directory if needed, removes stale temporary files, and indexes existing files.
  explicit Spool(std::string dir);

  const std::string& dir() const { return dir_; }
  std::vector<SpoolEntry> entries() const;  // ascending by min TXID
  uint64_t bytes() const;
  uint64_t max_txid() const;  // 0 when empty
  // Removes the entry's file (after the store acknowledged it).
  void remove(const SpoolEntry& entry);
  // Removes every file whose max TXID is <= txid.
  void remove_through(uint64_t txid);
  // fsyncs every file written since the last call, and the directory.
  void make_durable();

 private:
  friend class SpoolWriter;
  void add(SpoolEntry entry);

  std::string dir_;
  mutable std::mutex mu_;
  std::vector<SpoolEntry> entries_;
  std::vector<std::string> not_durable_;
  bool dir_dirty_ = false;
};

}  // namespace ltxvfs::core
