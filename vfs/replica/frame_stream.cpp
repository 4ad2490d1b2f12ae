#include "vfs/replica/frame_stream.h"

#include <algorithm>
#include <utility>

#include "ltx/error.h"
#include "ltx/page_frame.h"
#include "vfs/replica/errors.h"

namespace ltxvfs::replica {

PageBytes decode_fetched(const FrameRef& f, std::span<const uint8_t> bytes,
                         ltx::PageDecompressor& decompressor) {
  auto page = std::make_shared<std::vector<uint8_t>>(f.page_size);
  ltx::decode_frame(bytes, f.pgno, *page, decompressor, f.file->file.key,
                    ltx::FrameFile{f.file->file.min_txid, f.file->file.max_txid, f.database_id});
  return page;
}

FrameStream::FrameStream(const FetchRange& range, Ready ready)
    : range_(range), ready_(std::move(ready)) {}

storage::GetResult FrameStream::fetch(storage::ObjectStore& store) {
  return store.get_streamed(range_.file->file.key,
                            storage::ByteRange::at(range_.begin, range_.end - range_.begin),
                            [this](const std::string& etag, uint64_t at,
                                   std::span<const uint8_t> bytes) { take(etag, at, bytes); });
}

void FrameStream::take(const std::string& etag, uint64_t at,
                       std::span<const uint8_t> bytes) noexcept {
  if (at > taken_) {  // bytes went missing: nothing after them can be placed
    decoding_ = false;
    return;
  }
  if (at + bytes.size() <= taken_) return;  // a retried request's bytes, taken before
  bytes = bytes.subspan(taken_ - at);
  taken_ += bytes.size();
  const std::string& indexed = range_.file->etag;
  if (!etag.empty() && !indexed.empty() && etag != indexed) decoding_ = false;
  if (!decoding_) return;
  try {
    feed(bytes);
  } catch (...) {
    error_ = std::current_exception();
    decoding_ = false;
  }
}

void FrameStream::feed(std::span<const uint8_t> bytes) {
  while (!bytes.empty() && next_ < range_.frames.size()) {
    const FrameRef& f = range_.frames[next_];
    const uint64_t begin = f.offset - range_.begin, end = begin + f.size;
    if (pos_ < begin) {  // a hole between frames
      const uint64_t skip = std::min<uint64_t>(begin - pos_, bytes.size());
      pos_ += skip;
      bytes = bytes.subspan(skip);
      continue;
    }
    const uint64_t n = std::min<uint64_t>(end - pos_, bytes.size());
    PageBytes page;
    if (partial_.empty() && n == f.size) {  // the whole frame in this piece
      page = decode_fetched(f, bytes.first(n), decompressor_);
    } else {
      partial_.insert(partial_.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
      if (partial_.size() == f.size) {
        page = decode_fetched(f, partial_, decompressor_);
        partial_.clear();
      }
    }
    pos_ += n;
    bytes = bytes.subspan(n);
    if (page) ready_(next_++, std::move(page));
  }
  pos_ += bytes.size();  // past the last frame
}

void FrameStream::finish(const storage::GetResult& got) {
  const std::string& key = range_.file->file.key;
  const std::string& indexed = range_.file->etag;
  if (!indexed.empty() && !got.etag.empty() && got.etag != indexed) {
    throw ReplicaError(ReplicaErrorKind::kSnapshotLost,
                       "object " + key + " was replaced in the store (etag " + got.etag +
                           ", indexed as " + indexed + ")");
  }
  if (taken_ != range_.end - range_.begin) {
    throw ltx::LtxError(ltx::LtxErrorKind::kTruncated, key,
                        "asked for bytes " + std::to_string(range_.begin) + ".." +
                            std::to_string(range_.end) + ", got " + std::to_string(taken_) +
                            " bytes");
  }
  if (error_) std::rethrow_exception(error_);
  if (next_ < range_.frames.size()) {  // cannot be: all bytes came, each frame decoded or failed
    throw ltx::LtxError(ltx::LtxErrorKind::kTruncated, key,
                        "the answer for bytes " + std::to_string(range_.begin) + ".." +
                            std::to_string(range_.end) + " left " +
                            std::to_string(range_.frames.size() - next_) + " frames out");
  }
}

}  // namespace ltxvfs::replica
