// FrameStream: the frames of one ranged GET, decoded while its bytes arrive
// (storage::ObjectStore::get_streamed). Each frame is handed out the moment it is whole, so a
// reader waiting for the first page of a 4 MiB request waits for that page's bytes, not for the
// request's last one; and only the frame being filled is held, never the body.
//
// Frames are decoded only from the object version the plan indexed (the answer's etag is the
// index's, or either is unknown); after anything else nothing more is decoded, and the caller's
// checks of the whole answer say what was wrong. A frame that does not decode stops the stream too;
// finish() throws its error.
//
// Not thread-safe: one per request, fed on the transfer's thread, then asked by the same caller.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "ltx/page_codec.h"
#include "storage/object_store.h"
#include "vfs/replica/coalesce.h"
#include "vfs/replica/page_cache.h"

namespace ltxvfs::replica {

// The page of frame `f`, decoded and checked from `bytes` (the whole frame), as every fetched
// frame is.
PageBytes decode_fetched(const FrameRef& f, std::span<const uint8_t> bytes,
                         ltx::PageDecompressor& decompressor);

class FrameStream {
 public:
  // `ready(i, page)`: frame i of `range` decoded, called in frame order.
  using Ready = std::function<void(size_t index, PageBytes page)>;
  FrameStream(const FetchRange& range, Ready ready);

  // The range's bytes from `at` on (in order; from 0 again when the store retried the request).
  // Never throws: what goes wrong is kept for finish().
  void take(const std::string& etag, uint64_t at, std::span<const uint8_t> bytes) noexcept;
  // Gets the range from `store`, its bytes fed to take() as they arrive
  // (ObjectStore::get_streamed); returns the store's result, without a body.
  storage::GetResult fetch(storage::ObjectStore& store);
  // How many bytes of the range arrived in order (the furthest a request got), decoded or not.
  uint64_t received() const { return taken_; }
  // Checks the whole answer `got` (fetch()'s result): throws ReplicaError(kSnapshotLost) when it
  // came from another version of the object than the one indexed (replaced in the store),
  // ltx::LtxError(kTruncated) when bytes of the range went missing, or what stopped a frame from
  // decoding.
  void finish(const storage::GetResult& got);

 private:
  // Feeds `bytes`, which start at pos_ (== the bytes taken before them), to the frames.
  void feed(std::span<const uint8_t> bytes);

  const FetchRange& range_;
  const Ready ready_;
  bool decoding_ = true;  // neither another object version nor a bad frame came
  std::exception_ptr error_;
  size_t next_ = 0;               // the next frame to hand out
  uint64_t taken_ = 0;            // bytes of the range taken, in order
  uint64_t pos_ = 0;              // of those, fed to the frames (all of them while decoding_)
  std::vector<uint8_t> partial_;  // the start of frame next_, when it came in pieces
  ltx::PageDecompressor decompressor_;
};

}  // namespace ltxvfs::replica
