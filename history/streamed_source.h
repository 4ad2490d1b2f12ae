// StreamedSource: an ltx::Source over one listed object whose bytes are still arriving, fed by
// another thread from ObjectStore::get_streamed. read_at() waits until the bytes it asks for are
// in, so a file can be decoded and verified while it downloads. A restore's workers used to decode
// each ~2.5 MB object of W5 after its last byte: with 8 of them decoding at once on 2 cores, that
// took 15-35 ms per object, during which the next download of that worker had not started.
//
// Holds the whole object (the restore streams only objects of up to 16 MiB this way). Bytes are
// taken once: a retried request hands them over from 0 again, and only what lies past the bytes
// already in is copied; an answer with another etag, or with more bytes than listed, stops the
// source (object_replaced(): list again).
//
// Threads: one feeding thread (take(), end()) and any number of readers (read_at()).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <string>

#include "base/mutex.h"
#include "ltx/source.h"
#include "storage/object_store.h"

namespace ltxvfs::history {

class StreamedSource final : public ltx::Source {
 public:
  StreamedSource(std::string key, uint64_t size);

  uint64_t size() const override { return size_; }
  // Waits for [offset, offset + out.size()); throws what ended the download (the store's error,
  // object_replaced()) once it failed, whatever the bytes asked for, or ltx::LtxError(kTruncated)
  // when it ended short of them.
  void read_at(uint64_t offset, std::span<uint8_t> out) const override EXCLUDES(mu_);

  // The feeding thread: get_streamed's Received. Never throws (it runs inside the transfer);
  // what is wrong with the bytes is kept for the readers.
  void take(const std::string& etag, uint64_t at, std::span<const uint8_t> bytes) noexcept
      EXCLUDES(mu_);
  // Gets the whole object from `store`, fed to take(), then end()s the source with the outcome.
  // Throws nothing: the readers get the error.
  void fetch(storage::ObjectStore& store) noexcept EXCLUDES(mu_);
  // The download is over: `error` (null: it succeeded) is what readers waiting for bytes not in
  // get.
  void end(std::exception_ptr error) noexcept EXCLUDES(mu_);
  // The object's etag as the store answered (empty before the first bytes, or when it gives
  // none).
  std::string etag() const EXCLUDES(mu_);

 private:
  void fail(std::exception_ptr error) REQUIRES(mu_);
  // Waits until `end` bytes are in or the download ended; throws if they are not in.
  void wait_for(uint64_t end) const EXCLUDES(mu_);

  // Constant after construction.
  const std::string key_;
  const uint64_t size_;

  // Written by the feeding thread only past in_ (then published by raising in_ under mu_); read by
  // readers only below in_. Not guarded: the two never touch the same bytes.
  // Not zeroed first: every byte read was written.
  std::unique_ptr<uint8_t[]> bytes_;

  // Protected by mu_.
  mutable base::Mutex mu_;
  mutable std::condition_variable cv_;  // bytes came in, or the download ended
  uint64_t in_ GUARDED_BY(mu_) = 0;     // bytes in, from the object's start
  std::string etag_ GUARDED_BY(mu_);    // of the first answer
  bool ended_ GUARDED_BY(mu_) = false;
  std::exception_ptr error_ GUARDED_BY(mu_);  // why no more bytes will come (set: ended_)
};

}  // namespace ltxvfs::history
