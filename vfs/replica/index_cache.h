// IndexCache: page indexes (and headers) of LTX objects, fetched once per object version and
// shared across snapshots — objects are immutable, so a poll only reads the tails of new files.
//
// One ranged GET of each object's last bytes (explicit when the listing gave the size, as
// ByteRange::tail): exactly its index when the head names its length (the writer's tail hints,
// history/head_record.h), else kDefaultTailFetch bytes, and a second GET only when the index is
// longer than that. Headers cost a 100-byte GET, and only for objects
// whose tail did not cover them (in practice: the newest file of a chain). At an open, load() also
// reads the first bytes of the file the head says holds page 1 (Page1Bytes), in the same round
// trip, when that file's index is not cached yet; when it is the newest file, that GET brings its
// header too.
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
  uint64_t page1_fetched = 0;    // GETs of a header and page 1 (Page1Bytes)
  uint64_t cached = 0;           // objects whose index is held
};

// Bytes 0..end of the chain's file the head names as holding page 1 (history/head_record.h,
// page1): its header, then page 1's frame if the hint is right. Empty when there was no such
// hint, the file is not in the chain, or the GET failed (a hint: the page is fetched as usual).
struct Page1Bytes {
  std::string key;
  std::string etag;
  std::vector<uint8_t> bytes;
};

class IndexCache {
 public:
  // 32 GETs at once: a chain after compaction is a few dozen objects at most (a snapshot, a
  // snapshot interval of the top level, ...), so an open reads every index in one round trip.
  explicit IndexCache(storage::ObjectStore& store, unsigned parallelism = 32)
      : store_(store), parallelism_(parallelism) {}

  // The indexes of `files`, in order, fetching the missing ones in parallel; with them, the header
  // of the last one when its tail read cannot include it (callers ask header() of the newest
  // file next: it would be a round trip of its own). Throws the store's
  // StoreError (kNotFound when an object vanished since the listing), or history::BadFileError
  // naming an object whose tail fails verification (junk, truncated, a corrupt index or header).
  // `head`: the head read with the listing (nullptr: none); its tail hints size the GETs. With
  // `page1`, its page 1 hint is read into it too.
  std::vector<std::shared_ptr<const FileIndex>> load(const std::vector<history::RemoteFile>& files,
                                                     const history::HeadRecord* head = nullptr,
                                                     Page1Bytes* page1 = nullptr);

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
  ltx::Header header_unchecked(const FileIndex& file);
  ltx::Header fetch_header(const history::RemoteFile& file);
  // The first `end` bytes of `file` into `out`, its header validated and kept; nothing on error.
  void fetch_page1(const history::RemoteFile& file, uint64_t end, Page1Bytes& out) noexcept;
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
};

}  // namespace ltxvfs::replica
