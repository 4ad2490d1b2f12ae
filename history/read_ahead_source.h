// ReadAheadSource: an ltx::Source over one large object that keeps up to `parallelism` ranged
// GETs of the chunks ahead of the reader in flight (threads ltx-restore-ra). A restore streams
// files too large to hold whole (kStreamAbove) through it: one RemoteSource fetched a chunk only
// when the decoder reached it, ~80 ms per 4 MiB chunk through W5's simulated store (20 ms + 4 MiB
// at 64 MiB/s on one connection), which made "restore after +10k small txns", whose plan holds
// such a file, ~0.2 of the raw parallel download.
//
// Memory: at most `parallelism` chunks ahead of the one being read, plus that one. Readers go
// front to back; a read behind the chunk being read (never the decoder's) is fetched directly.
// Every chunk must come from the same object (size and etag), as with RemoteSource.
//
// Threads: the workers (work()) and the one reading thread (read_at(), bytes()); the destructor
// stops and joins the workers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "history/remote_source.h"
#include "ltx/source.h"
#include "storage/object_store.h"

namespace ltxvfs::history {

class ReadAheadSource final : public ltx::Source {
 public:
  ReadAheadSource(storage::ObjectStore& store, std::string key, uint64_t size, unsigned parallelism,
                  uint64_t chunk = kDefaultRemoteChunk);
  ~ReadAheadSource() override;
  ReadAheadSource(const ReadAheadSource&) = delete;
  ReadAheadSource& operator=(const ReadAheadSource&) = delete;

  uint64_t size() const override { return size_; }
  // Throws what RemoteSource throws, from whichever GET failed first.
  void read_at(uint64_t offset, std::span<uint8_t> out) const override;
  uint64_t bytes() const EXCLUDES(mu_);  // downloaded so far
  // The etag every chunk came with (empty before the first, or when the store gives none).
  std::string etag() const EXCLUDES(mu_);

 private:
  using Chunk = std::shared_ptr<const std::vector<uint8_t>>;
  void work() EXCLUDES(mu_);
  // Chunk c with the etag it came with.
  std::pair<Chunk, std::string> fetch(size_t c) const;
  Chunk wait_for(size_t c) const EXCLUDES(mu_);  // null: c is behind the reader
  void stop_and_join() EXCLUDES(mu_);

  // Constant after construction.
  storage::ObjectStore& store_;
  const std::string key_;
  const uint64_t size_;
  const uint64_t chunk_;
  const size_t count_;
  const unsigned workers_;

  // Protected by mu_.
  mutable base::Mutex mu_;
  mutable std::condition_variable cv_;  // a chunk arrived, the reader moved on, or stop
  mutable std::map<size_t, Chunk> ready_ GUARDED_BY(mu_);  // by chunk index
  mutable size_t low_ GUARDED_BY(mu_) = 0;  // the reader's chunk: those below are dropped
  mutable uint64_t bytes_ GUARDED_BY(mu_) = 0;
  size_t next_fetch_ GUARDED_BY(mu_) = 0;
  std::string etag_ GUARDED_BY(mu_);  // of the first chunk that arrived
  std::exception_ptr failure_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;

  std::vector<std::thread> threads_;  // started last, in the constructor's body
};

}  // namespace ltxvfs::history
