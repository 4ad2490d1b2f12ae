// Shared by the SQLite-free writer tests (spool, uploader): a deterministic history of LTX files,
// one per TXID, with the writer position after each, and files covering a TXID range (what the
// builder spools for a batch of commits).
#pragma once

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ltx/compactor.h"
#include "ltx/decoder.h"
#include "ltx/sink.h"
#include "ltx/source.h"
#include "tests/ltx/test_support.h"
#include "vfs/writer/local_state.h"
#include "vfs/writer/wal_format.h"

namespace ltxvfs::testing {

using Bytes = std::vector<uint8_t>;

inline int64_t time_of(uint64_t txid) {
  return 1'700'000'000'000 + static_cast<int64_t>(txid) * 1000;
}

// TXID 1 creates a database of four pages; every later TXID rewrites page 1 and one other page,
// and every fifth grows the database by a page.
class LtxHistory {
 public:
  explicit LtxHistory(ltx::EncodeOptions options = ltx::EncodeOptions::native(),
                      uint32_t page_size = 512, uint64_t seed = 0)
      : db_(page_size, options), page_size_(page_size), seed_(seed) {}

  uint32_t page_size() const { return page_size_; }

  // The single-TXID file of `txid` (built on demand, in order).
  const Bytes& file(uint64_t txid) {
    extend(txid);
    return files_.at(txid);
  }
  // One file covering TXIDs min..max: the single files compacted (a snapshot when min is 1).
  Bytes range(uint64_t min, uint64_t max) {
    extend(max);
    if (min == max) return files_.at(min);
    std::vector<ltx::MemorySource> sources;
    sources.reserve(max - min + 1);
    for (uint64_t t = min; t <= max; ++t) sources.emplace_back(files_.at(t));
    std::vector<ltx::NamedSource> inputs;
    for (auto& s : sources) inputs.push_back({&s, "history"});
    ltx::VectorSink sink;
    ltx::compact(inputs, sink, options_of(files_.at(min)));
    return sink.bytes();
  }
  // The writer's position after `txid`.
  writer::LocalState state(uint64_t txid) {
    extend(txid);
    writer::LocalState s;
    s.page_size = page_size_;
    s.txid = txid;
    s.checksum = checksums_.at(txid);
    s.commit = commits_.at(txid);
    s.wal.salts = {0x11111111, 0x22222222};
    s.wal.page_size = page_size_;
    s.wal.offset = writer::kWalHeaderSize + txid * (writer::kWalFrameHeaderSize + page_size_);
    s.wal.checksum = {static_cast<uint32_t>(txid), static_cast<uint32_t>(txid * 7)};
    s.wal.big_endian_checksums = true;
    s.timestamp_ms = time_of(txid);
    return s;
  }
  // The database file after `txid`.
  const Bytes& image(uint64_t txid) {
    extend(txid);
    return images_.at(txid);
  }

 private:
  static ltx::EncodeOptions options_of(const Bytes& file) {
    ltx::MemorySource src(file);
    ltx::Decoder dec(src, "history");
    return dec.header().has_checksums() ? ltx::EncodeOptions::native()
                                        : ltx::EncodeOptions::litestream();
  }

  void extend(uint64_t txid) {
    while (db_.txid() < txid) {
      const uint64_t t = db_.txid() + 1;
      std::map<uint32_t, Bytes> changes;
      uint32_t commit = db_.commit_pages();
      if (t == 1) {
        commit = 4;
        for (uint32_t p = 1; p <= commit; ++p) changes[p] = page(p, t);
      } else {
        if (t % 5 == 0) ++commit;
        changes[1] = page(1, t);
        changes[static_cast<uint32_t>(2 + t % (commit - 1))] = page(2, t);
        changes[commit] = page(commit, t);
      }
      files_[t] = db_.commit(changes, commit, time_of(t));
      checksums_[t] = db_.checksum();
      commits_[t] = commit;
      images_[t] = db_.image();
    }
  }
  Bytes page(uint32_t pgno, uint64_t txid) const {
    return ltxtest::compressible_page(page_size_, seed_ * 1'000'003 + txid * 1000 + pgno);
  }

  ltxtest::ModelDb db_;
  uint32_t page_size_;
  uint64_t seed_;
  std::map<uint64_t, Bytes> files_;
  std::map<uint64_t, uint64_t> checksums_;
  std::map<uint64_t, uint32_t> commits_;
  std::map<uint64_t, Bytes> images_;
};

// The names of the spool logs in `dir`, sorted.
inline std::vector<std::string> spool_logs(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 7 && name.ends_with(".ltxlog")) out.push_back(name);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline uint64_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return UINT64_MAX;
  return static_cast<uint64_t>(st.st_size);
}

inline uint32_t mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return UINT32_MAX;
  return static_cast<uint32_t>(st.st_mode & 07777);
}

}  // namespace ltxvfs::testing
