// LazyIndex: the page index of one LTX object whose index is long (a large database's snapshot or
// compaction output), read a part at a time through the directory the writer put in the head
// (ltx/index_directory.h, history/head_record.h "dirs"). A replica's open reads none of it; a
// page lookup reads the ~64 KiB part that covers the page, once; the poller then reads the rest
// in one GET (load_all), so scans and hydration do not wait part by part (issue 17: an open of a
// 1 GiB database read 2-4 MiB of indexes).
//
// Every part is checked as it is parsed (ltx::parse_index_part): the parts tile the file's
// frames, so "no entry for this page in its part" means the object does not hold the page. A part
// that fails the checks makes the whole index be read and parsed as at an open
// (ltx::parse_file_tail); when that fails too, find() throws the LtxError naming the object.
//
// Thread-safe: SQLite's threads, the poller and the hydrator call it at once. mu_ is held only to
// look up and store parts, never during a GET; two threads missing the same part may both read it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "history/restore_plan.h"
#include "ltx/index_directory.h"
#include "storage/object_store.h"

namespace ltxvfs::replica {

// What find() and load_all() throw when the object is gone or replaced (`gone`: the snapshot
// using it is lost, as when a page GET finds it gone) or its index is corrupt (set it aside,
// as a frame that does not decode). Other store errors (unreachable) come as storage::StoreError.
class IndexPartError : public std::runtime_error {
 public:
  IndexPartError(history::RemoteFile file, bool gone, const std::string& what)
      : std::runtime_error(what), file_(std::move(file)), gone_(gone) {}
  const history::RemoteFile& file() const { return file_; }
  bool gone() const { return gone_; }

 private:
  history::RemoteFile file_;
  bool gone_;
};

// Counters a LazyIndex adds to (IndexCacheStats).
struct LazyIndexCounters {
  std::atomic<uint64_t> parts_fetched{0};   // GETs of one part
  std::atomic<uint64_t> wholes_fetched{0};  // GETs of a whole index (load_all, a failed part)
  std::atomic<uint64_t> whole_bytes{0};     // their bytes, as asked for (counted before the GET)
};

class LazyIndex {
 public:
  // `etag`: the object's as the open saw it (empty: unknown); a part read from another version
  // counts as the object gone. `counters` outlives this.
  LazyIndex(storage::ObjectStore& store, history::RemoteFile file, std::string etag,
            std::vector<ltx::IndexMark> directory, ltx::IndexArea area,
            LazyIndexCounters& counters);

  // Where the object holds `pgno`, reading its part when it is not held; nullopt when the object
  // does not hold it. Throws IndexPartError or storage::StoreError.
  std::optional<ltx::PageIndexEntry> find(uint32_t pgno);
  // The same without a request: nullopt when the part is not held; else find()'s answer.
  std::optional<std::optional<ltx::PageIndexEntry>> find_held(uint32_t pgno) const;
  // Records where the object holds a page, proven by its frame decoded from the object's bytes
  // (an open's page 1 and roots, read by the head's hints): a frame decodes as `entry.pgno`, its
  // checksum and all, only where the object holds that page. find_held() answers it.
  void prove(const ltx::PageIndexEntry& entry);

  // Reads every part not held, in one GET. Throws as find().
  void load_all();
  bool complete() const;
  // Every entry, in order; only when complete().
  std::vector<ltx::PageIndexEntry> entries() const;

  const history::RemoteFile& file() const { return file_; }

 private:
  using Part = ltx::PageIndex;
  // Bytes [start, end) of the object, of the version the open saw.
  std::vector<uint8_t> read(uint64_t start, uint64_t end);
  // The whole index, parsed and checked at once; sets every part.
  void load_whole();
  // find()'s work, throwing the store's and the format's errors as they come.
  std::optional<ltx::PageIndexEntry> find_unchecked(uint32_t pgno);
  // Runs `fn`, turning a gone object and a corrupt index into IndexPartError.
  template <typename Fn>
  auto checked(Fn&& fn) -> decltype(fn());
  static std::optional<ltx::PageIndexEntry> in(const Part& part, uint32_t pgno) {
    const ltx::PageIndexEntry* e = part.find(pgno);
    return e ? std::optional<ltx::PageIndexEntry>(*e) : std::nullopt;
  }

  // Constant after construction.
  storage::ObjectStore& store_;
  const history::RemoteFile file_;
  const std::string etag_;
  const std::vector<ltx::IndexMark> directory_;
  const ltx::IndexArea area_;
  LazyIndexCounters& counters_;

  // Protected by mu_.
  mutable base::Mutex mu_;
  std::vector<std::shared_ptr<const Part>> parts_ GUARDED_BY(mu_);  // by directory position
  size_t held_ GUARDED_BY(mu_) = 0;
  std::vector<ltx::PageIndexEntry> proven_ GUARDED_BY(mu_);  // a few: page 1 and roots
};

}  // namespace ltxvfs::replica
