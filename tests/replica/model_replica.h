// A model primary for the engine tests: a map of pages that commits LTX files (native or
// Litestream encoding) straight into a replica directory, so the replica engine can be tested
// without SQLite against a database whose every page is known.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ltx/encoder.h"
#include "storage/file_store.h"
#include "storage/replica_layout.h"

namespace ltxvfs::testing {

class ModelPrimary {
 public:
  ModelPrimary(std::string dir, uint32_t page_size, bool native = true);

  // Sets page `pgno` to bytes derived from `seed` (and the page number).
  void set(uint32_t pgno, uint32_t seed);
  void truncate(uint32_t commit);
  // Writes the changes since the last commit as one file at `level` (TXID + 1), or as a full
  // snapshot when `snapshot` (or for the first commit). Returns the new TXID.
  uint64_t commit(uint32_t level = 0, bool snapshot = false);

  std::vector<uint8_t> page(uint32_t pgno) const;  // at the current TXID
  std::vector<uint8_t> page_at(uint64_t txid, uint32_t pgno) const;
  uint32_t commit_at(uint64_t txid) const { return history_.at(txid).second; }
  uint64_t txid() const { return txid_; }
  uint32_t page_size() const { return page_size_; }
  storage::FileStore& store() { return store_; }
  std::string key(uint32_t level, uint64_t min, uint64_t max) const {
    return storage::ltx_key(storage::LayoutStyle::kDirectory, level, min, max);
  }

 private:
  std::string dir_;
  uint32_t page_size_;
  bool native_;
  storage::FileStore store_;
  std::map<uint32_t, std::vector<uint8_t>> pages_;
  std::map<uint32_t, bool> dirty_;
  uint32_t commit_ = 0;
  uint64_t txid_ = 0;
  uint64_t checksum_ = 0;
  // txid -> (pages, commit)
  std::map<uint64_t, std::pair<std::map<uint32_t, std::vector<uint8_t>>, uint32_t>> history_;
};

}  // namespace ltxvfs::testing
