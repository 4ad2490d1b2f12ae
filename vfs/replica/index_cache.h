// IndexCache: page indexes (and headers) of LTX objects, fetched once per object version and
// shared across snapshots — objects are immutable, so a poll only reads the tails of new files.
//
// An object whose index the head gives a directory for (history/head_record.h, "dirs": a long
// index) costs only a GET of its last 24 bytes (its trailer); its index is read part by part as
// pages are looked up (lazy_index.h).
//
// One ranged GET of each object's last bytes (explicit when the listing gave the size, as
// ByteRange::tail): exactly its index when the head names its length (the writer's tail hints,
// history/head_record.h), else kDefaultTailFetch bytes, and a second GET only when the index is
// longer than that. Headers cost a 100-byte GET, and only for objects
// whose tail did not cover them (in practice: the newest file of a chain). At an open, load() also
// reads, in the same round trip, the first bytes of the file the head says holds page 1 and the
// frames it says hold the schema's roots (HintedBytes), in the files whose index is not cached
// yet; when the page-1 file is the newest file, that GET brings its header too.
//
// Thread-safe: the poller, SQLite's threads re-planning in Replica::pin() and time travel all
// call it (Replica serialises them with its plan_mu_; this class does not rely on that). mu_ is
// held only to look up and insert, never during a GET; load() fetches missing tails on up to
// `parallelism` threads at once (base::parallel_for, threads named ltx-tail-get), the caller's
// included.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "history/head_record.h"
#include "storage/object_store.h"
#include "vfs/replica/file_index.h"

namespace ltxvfs::replica {

struct IndexCacheStats {
  uint64_t tails_fetched = 0;    // tail GETs (first and second)
  uint64_t headers_fetched = 0;  // 100-byte header GETs
  uint64_t page1_fetched = 0;    // GETs of a header and page 1 (HintedBytes)
  uint64_t roots_fetched = 0;    // GETs of root frames in other files or further on (HintedBytes)
  uint64_t cached = 0;           // objects whose index is held
  uint64_t lazy = 0;             // objects planned with a directory instead (lazy_index.h)
  uint64_t parts_fetched = 0;    // GETs of one part of such an index
  uint64_t wholes_fetched = 0;   // GETs of the rest of such an index at once
  uint64_t whole_bytes = 0;      // their bytes
};

// Bytes of the chain's files that the head's hints name (history/head_record.h, page1 and
// roots), read at an open: bytes 0..end of the file holding page 1 (its header, then page 1's
// frame if the hint is right) and the frames of the schema's roots, those of one file read
// together when they lie close. The plan decides whether a page's version is in them
// (Replica::seed_hinted). A hint whose file is not in the chain, or a GET that failed, leaves
// its piece out: the page is fetched as usual.
struct HintedBytes {
  struct Piece {
    std::string key;
    std::string etag;
    uint64_t offset = 0;
    std::vector<uint8_t> bytes;
  };
  std::vector<Piece> pieces;
  std::vector<uint32_t> pages;  // the pages the hints named: 1 (when hinted), then the roots
  // Where the hints say each of `pages` is: its object and frame.
  struct Claim {
    uint32_t pgno = 0;
    std::string key;
    uint64_t offset = 0;
    uint64_t size = 0;
  };
  std::vector<Claim> claims;
  // The bytes of `pages`'s frame at [offset, offset + size) of `key` (etag as the plan's file
  // says, when both are known), or an empty span.
  std::span<const uint8_t> find(const std::string& key, const std::string& etag, uint64_t offset,
                                uint64_t size) const;
};

// What an open reads of the roots' frames at most, page 1 aside: a few tables' and indexes' roots
// (a root of a 4 KiB page compresses to 1-4 KiB), keeping the open within issue 17's 256 KiB.
inline constexpr uint64_t kRootBytes = 12 * 1024;
// Two root frames of one file this close are read in one GET (a request costs more than 4 KiB
// of transfer), the bytes between them counted in kRootBytes.
inline constexpr uint64_t kRootGap = 4 * 1024;

class IndexCache {
 public:
  // 64 GETs at once: a chain after compaction is a few dozen objects at most (a snapshot, a
  // snapshot interval of the top level, ...), so an open reads every index in one round trip;
  // one no compaction shortened yet (225 files of a 1 GiB database loaded in 5 MB transactions)
  // in four rather than eight.
  explicit IndexCache(storage::ObjectStore& store, unsigned parallelism = 64)
      : store_(store), parallelism_(parallelism) {}

  // The indexes of `files`, in order, fetching the missing ones in parallel; with them, the header
  // of the last one when its tail read cannot include it (callers ask header() of the newest
  // file next: it would be a round trip of its own). Throws the store's
  // StoreError (kNotFound when an object vanished since the listing), or history::BadFileError
  // naming an object whose tail fails verification (junk, truncated, a corrupt index or header).
  // `head`: the head read with the listing (nullptr: none); its tail hints size the GETs. With
  // `hinted`, what its page 1 and root hints name is read into it too.
  std::vector<std::shared_ptr<const FileIndex>> load(const std::vector<history::RemoteFile>& files,
                                                     const history::HeadRecord* head = nullptr,
                                                     HintedBytes* hinted = nullptr);

  // The header of `file`: from its tail read, the cache, or a 100-byte GET. Validated; throws
  // history::BadFileError when it is not the header of that object.
  ltx::Header header(const FileIndex& file);

  // Drops every cached object not named in `keep` that no snapshot holds any more (called after a
  // new chain is in use; a Location's replicas share this cache, and another replica's snapshot
  // may still be on an older chain).
  void retain_only(const std::set<std::string>& keep);

  IndexCacheStats stats() const;

 private:
  // The first GET of `file`'s tail: its hinted length (checked against the object), else the
  // default, never more than the object.
  static uint64_t first_tail_request(const history::RemoteFile& file,
                                     const history::HeadRecord* head);
  std::shared_ptr<const FileIndex> fetch(const history::RemoteFile& file, uint64_t want);
  std::shared_ptr<const FileIndex> fetch_unchecked(const history::RemoteFile& file, uint64_t want);
  // The trailer of `file`, whose head `hint` has a directory: its index is read part by part
  // later (FileIndex::lazy). When its last bytes do not match the hint, fetch() instead.
  std::shared_ptr<const FileIndex> fetch_lazy(const history::RemoteFile& file,
                                              const history::TailHint& hint);
  ltx::Header header_unchecked(const FileIndex& file);
  ltx::Header fetch_header(const history::RemoteFile& file);
  // A hinted GET: what the head's hints name in `files` (those listed in `missing`), at most
  // kRootBytes of root frames, as the pieces to read; the pages and claims go into `named`.
  struct HintedRead {
    const history::RemoteFile* file = nullptr;
    uint64_t offset = 0;
    uint64_t end = 0;
  };
  static std::vector<HintedRead> hinted_reads(const std::vector<history::RemoteFile>& files,
                                              const std::vector<size_t>& missing,
                                              const history::HeadRecord& head, HintedBytes& named);
  // Bytes [read.offset, read.end) of its file into `out`; a piece from byte 0 has its header
  // validated and kept. Nothing on error.
  void fetch_hinted(const HintedRead& read, HintedBytes::Piece& out) noexcept;
  static std::string identity(const history::RemoteFile& file);

  // Constant after construction.
  storage::ObjectStore& store_;
  const unsigned parallelism_;

  // Protected by mu_.
  mutable base::Mutex mu_;
  std::map<std::string, std::shared_ptr<const FileIndex>> by_identity_ GUARDED_BY(mu_);
  std::map<std::string, ltx::Header> headers_ GUARDED_BY(mu_);  // by identity
  // Atomic: any thread, no lock.
  std::atomic<uint64_t> next_serial_{1};
  std::atomic<uint64_t> tails_fetched_{0};
  std::atomic<uint64_t> headers_fetched_{0};
  std::atomic<uint64_t> page1_fetched_{0};
  std::atomic<uint64_t> roots_fetched_{0};
  std::atomic<uint64_t> lazy_{0};
  LazyIndexCounters lazy_counters_;
};

}  // namespace ltxvfs::replica
