// RemoteSource: an ltx::Source over one object of an ObjectStore, read with ranged GETs in
// bounded chunks. Compaction, snapshot building and restore stream LTX files through it, so no
// object is ever held whole in memory: memory is one chunk per source (an object no larger than a
// chunk is fetched whole, in one GET).
//
// Objects are immutable once written, but a key can be deleted (retention) or, in a broken
// replica, rewritten: every chunk after the first must come from the same object (same size and
// etag), otherwise reading fails rather than mixing two objects' bytes.
//
// Not thread-safe: one source is read by one thread at a time (prefetch() may run on another
// thread before reading starts).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "ltx/source.h"
#include "storage/object_store.h"

namespace ltxvfs::history {

inline constexpr uint64_t kDefaultRemoteChunk = 4u << 20;

// Thrown by a read when its owner asked the work to stop (a writer closing while a snapshot is
// being built): nothing half-done is ever published, so stopping anywhere is safe.
class WorkStopped : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Polled before each request; true means stop (throw WorkStopped).
using StopCheck = std::function<bool()>;

struct RemoteReadStats {
  uint64_t gets = 0;
  uint64_t bytes = 0;
};

class RemoteSource final : public ltx::Source {
 public:
  // `size` is the object's size as listed (the listing is the only place that knows it without a
  // request). `chunk` bounds the bytes held (and fetched per GET).
  RemoteSource(storage::ObjectStore& store, std::string key, uint64_t size,
               uint64_t chunk = kDefaultRemoteChunk, StopCheck stop = {});

  uint64_t size() const override { return size_; }
  // Throws storage::StoreError from the store (kNotFound when the object was deleted),
  // ltx::LtxError(kTruncated) for a range past the end or an object that changed size, and
  // WorkStopped when `stop` says so.
  void read_at(uint64_t offset, std::span<uint8_t> out) const override;

  // Fetches the first chunk now (e.g. from a pool of threads before a merge reads many small
  // objects one after another).
  void prefetch() const;

  const std::string& key() const { return key_; }
  // The etag of the chunks read so far (empty before the first, or when the store gives none).
  const std::string& etag() const { return etag_; }
  const RemoteReadStats& stats() const { return stats_; }

 private:
  void fetch(uint64_t offset, uint64_t length) const;

  storage::ObjectStore& store_;
  std::string key_;
  uint64_t size_;
  uint64_t chunk_;
  StopCheck stop_;
  // The cached chunk and what identifies the object it came from.
  mutable std::vector<uint8_t> buf_;
  mutable uint64_t buf_offset_ = 0;
  mutable std::string etag_;
  mutable RemoteReadStats stats_;
};

// Runs prefetch() of every source on up to `threads` threads (base::parallel_for: the caller
// and threads - 1 named ltx-merge-get); rethrows the first failure, skipping the rest.
void prefetch_all(std::span<RemoteSource* const> sources, unsigned threads);

// The checks every reader of a listed object makes (RemoteSource, ReadAheadSource), each
// throwing ltx::LtxError(kTruncated) that names `key`:
// a read of `length` bytes at `offset` stays within the listed `size`;
void check_within_object(const std::string& key, uint64_t size, uint64_t offset, uint64_t length);
// the object read is still the one listed (`detail` says how it differs): list again.
[[noreturn]] void object_replaced(const std::string& key, const std::string& detail);

}  // namespace ltxvfs::history
