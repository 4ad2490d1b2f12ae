// Snapshot: one immutable, complete view of the replicated database at one TXID — which object
// and frame holds each page, the database size (commit) and the page size. A read transaction
// pins one (shared_ptr) from its SHARED lock to its unlock; the poller publishes new ones.
//
// The page map is chunked and copy-on-write: a snapshot extended by a few new LTX files shares
// every untouched chunk with its predecessor, so following the primary costs memory and time in
// proportion to the pages that changed, not to the database size.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ltx/header.h"
#include "vfs/replica/file_index.h"

namespace ltxvfs::replica {

// Where a page lives: a slot in Snapshot::files() (1-based; 0 = no such page) and its frame.
struct PageLocation {
  uint32_t slot = 0;
  uint32_t size = 0;
  uint64_t offset = 0;
};

class PageMap {
 public:
  static constexpr uint32_t kChunkBits = 10;
  static constexpr uint32_t kChunkPages = 1u << kChunkBits;

  PageMap() = default;
  // A copy shares every chunk and owns none: the first write to a chunk copies it.
  PageMap(const PageMap& other) : chunks_(other.chunks_), owned_(other.chunks_.size(), false) {}
  PageMap& operator=(const PageMap&) = delete;
  PageMap(PageMap&&) = default;
  PageMap& operator=(PageMap&&) = default;

  PageLocation get(uint32_t pgno) const;
  void set(uint32_t pgno, const PageLocation& location);
  // Forgets every page above `pages`.
  void truncate(uint32_t pages);

 private:
  using Chunk = std::array<PageLocation, kChunkPages>;
  std::vector<std::shared_ptr<const Chunk>> chunks_;
  std::vector<bool> owned_;  // chunks only this map references (safe to write in place)
};

// One frame to fetch: the object, which page, and where its frame lies in the object.
struct FrameRef {
  std::shared_ptr<const FileIndex> file;
  uint32_t pgno = 0;
  uint64_t offset = 0;
  uint32_t size = 0;
  uint32_t page_size = 0;
  // The database id an encrypted frame must be bound to (Snapshot::database_id()).
  uint64_t database_id = 0;
};

class Snapshot {
 public:
  uint64_t txid() const { return txid_; }
  uint32_t page_size() const { return page_size_; }
  uint32_t commit() const { return commit_; }
  uint64_t size_bytes() const { return uint64_t{commit_} * page_size_; }
  // Commit time of the newest file (milliseconds since the epoch).
  int64_t timestamp_ms() const { return timestamp_ms_; }
  // Bumped when the replica had to re-plan from scratch onto a history that may differ from the
  // one it showed before (folded into the change counter so SQLite drops its cache).
  uint64_t epoch() const { return epoch_; }
  uint64_t post_apply_checksum() const { return post_apply_checksum_; }
  // The database whose history this is, as its newest file's header names it when that file is
  // encrypted (ltx::Header::database_id; 0 otherwise). Every encrypted frame read through this
  // snapshot must be bound to it: a file of another database sealed with the same key fails its
  // tags (docs/SECURITY.md). A random-access reader never sees the other files' headers.
  uint64_t database_id() const { return database_id_; }
  // What page 1 shows in its change counter and version-valid-for fields: the TXID's low 32
  // bits (plus a multiple of the epoch, normally 0). Differs exactly when the content may.
  uint32_t change_counter() const;

  // The frame holding `pgno`, or nullopt past the end of the database, for the lock page and for
  // a page no file of the chain holds. May read a part of a long index (FileIndex::lazy) that the
  // page's lookup needs: throws storage::StoreError (kNotFound: an object of the chain is gone)
  // or ltx::LtxError (an object's index is corrupt).
  std::optional<FrameRef> locate(uint32_t pgno) const;
  // locate() without a request: nullopt when a part it needs is not held yet.
  std::optional<std::optional<FrameRef>> locate_held(uint32_t pgno) const;
  // Files of the chain whose index is read part by part, and whether all of them are held whole.
  size_t lazy_files() const { return lazy_slots_.size(); }
  bool lazy_complete() const;
  // Reads what is missing of those indexes, one GET each, `parallelism` at once. Throws as
  // locate().
  void load_lazy(unsigned parallelism) const;
  // The chain of files applied, oldest first.
  const std::vector<std::shared_ptr<const FileIndex>>& files() const { return files_; }
  bool uses(const std::string& key) const;

 private:
  friend std::shared_ptr<const Snapshot> build_snapshot(
      std::vector<std::shared_ptr<const FileIndex>>, const ltx::Header&, uint64_t);
  friend std::shared_ptr<const Snapshot> extend_snapshot(
      const Snapshot&, std::vector<std::shared_ptr<const FileIndex>>, const ltx::Header&);
  friend std::shared_ptr<const Snapshot> empty_snapshot(uint64_t);
  friend std::shared_ptr<const Snapshot> resolve_snapshot(const Snapshot&);
  void apply(const std::shared_ptr<const FileIndex>& file);
  // locate_held(), adding to `missing` (when given) the lazy indexes whose part for `pgno` the
  // answer waits for.
  std::optional<std::optional<FrameRef>> walk(uint32_t pgno,
                                              std::vector<LazyIndex*>* missing) const;
  void check_complete(uint32_t from_pgno) const;

  uint64_t txid_ = 0;
  uint32_t page_size_ = 0;
  uint32_t commit_ = 0;
  int64_t timestamp_ms_ = 0;
  uint64_t epoch_ = 0;
  uint64_t post_apply_checksum_ = 0;
  uint64_t database_id_ = 0;
  std::vector<std::shared_ptr<const FileIndex>> files_;
  // The pages of the files read whole; a lazy file's pages are looked up in it (locate()).
  PageMap pages_;
  std::vector<uint32_t> lazy_slots_;  // slots of files_ with a lazy index, ascending
};

// The database after applying `chain` (a restore plan: a snapshot file, then contiguous files).
// `newest` is the header of the last file (commit, page size, time, database id). Throws LtxError
// when the chain is not contiguous, does not start at a snapshot, or misses a page below the
// commit, and kAuthentication when a file whose header was read with its tail is encrypted for
// another database than the newest one.
std::shared_ptr<const Snapshot> build_snapshot(std::vector<std::shared_ptr<const FileIndex>> chain,
                                               const ltx::Header& newest, uint64_t epoch);

// The database before the primary's first upload: TXID 0, no page (SQLite sees an empty file, a
// database with no table), so a replica can be deployed before its primary (issue 19, item 9).
// The page size is SQLite's default; a replica moves off it by planning anew, never extending it.
std::shared_ptr<const Snapshot> empty_snapshot(uint64_t epoch);

// `lazy` with every long index it reads part by part held whole (Snapshot::lazy_complete()):
// the same state, TXID, epoch and objects (the same serials, so cached pages stay valid), looked
// up in its page map alone, and checked complete as build_snapshot checks. Throws as
// build_snapshot does for a chain that misses a page.
std::shared_ptr<const Snapshot> resolve_snapshot(const Snapshot& lazy);

// `base` followed by `newer` (contiguous from base.txid() + 1). Shares base's unchanged chunks.
// Throws kAuthentication when `newest` is encrypted for another database than base's.
std::shared_ptr<const Snapshot> extend_snapshot(const Snapshot& base,
                                                std::vector<std::shared_ptr<const FileIndex>> newer,
                                                const ltx::Header& newest);

}  // namespace ltxvfs::replica
