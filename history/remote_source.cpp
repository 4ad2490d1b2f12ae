#include "history/remote_source.h"

#include <algorithm>
#include <cstring>

#include "base/parallel_for.h"
#include "ltx/error.h"

namespace ltxvfs::history {

RemoteSource::RemoteSource(storage::ObjectStore& store, std::string key, uint64_t size,
                           uint64_t chunk, StopCheck stop)
    : store_(store),
      key_(std::move(key)),
      size_(size),
      chunk_(std::max<uint64_t>(chunk, 4096)),
      stop_(std::move(stop)) {}

void RemoteSource::fetch(uint64_t offset, uint64_t length) const {
  if (stop_ && stop_()) throw WorkStopped("stopped while reading " + key_ + " (asked to stop)");
  // A whole small object in one GET without a Range header (some stores serve that faster).
  const bool whole = offset == 0 && length >= size_;
  storage::GetResult got =
      whole ? store_.get(key_) : store_.get(key_, storage::ByteRange::at(offset, length));
  ++stats_.gets;
  stats_.bytes += got.body.size();
  const uint64_t object_size = got.object_size != 0 ? got.object_size : got.body.size();
  if (object_size != size_ || (!etag_.empty() && !got.etag.empty() && got.etag != etag_)) {
    object_replaced(key_, "listed with " + std::to_string(size_) + " bytes, now " +
                              std::to_string(object_size) + " bytes or another etag");
  }
  if (got.body.size() != length) {
    throw ltx::LtxError(ltx::LtxErrorKind::kTruncated, key_,
                        "a ranged read of " + std::to_string(length) + " bytes at offset " +
                            std::to_string(offset) + " returned " +
                            std::to_string(got.body.size()) + " bytes");
  }
  if (etag_.empty()) etag_ = got.etag;
  buf_ = std::move(got.body);
  buf_offset_ = offset;
}

void RemoteSource::read_at(uint64_t offset, std::span<uint8_t> out) const {
  check_within_object(key_, size_, offset, out.size());
  while (!out.empty()) {
    if (offset < buf_offset_ || offset >= buf_offset_ + buf_.size()) {
      // Readers go front to back: fetch from here on, a chunk at a time (more when one read asks
      // for more, which the LTX decoder never does beyond its 256 KiB reads).
      const uint64_t length = std::min(std::max<uint64_t>(chunk_, out.size()), size_ - offset);
      fetch(offset, length);
    }
    const uint64_t at = offset - buf_offset_;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), buf_.size() - at));
    std::memcpy(out.data(), buf_.data() + at, n);
    out = out.subspan(n);
    offset += n;
  }
}

void RemoteSource::prefetch() const {
  if (buf_.empty() && size_ > 0) fetch(0, std::min(chunk_, size_));
}

void prefetch_all(std::span<RemoteSource* const> sources, unsigned threads) {
  base::parallel_for(sources.size(), threads, "ltx-merge-get",
                     [&](size_t i) { sources[i]->prefetch(); });
}

void check_within_object(const std::string& key, uint64_t size, uint64_t offset, uint64_t length) {
  if (offset > size || length > size - offset) {
    throw ltx::LtxError(ltx::LtxErrorKind::kTruncated, key,
                        "read of " + std::to_string(length) + " bytes at offset " +
                            std::to_string(offset) + " passes the end of the object (" +
                            std::to_string(size) + " bytes)");
  }
}

void object_replaced(const std::string& key, const std::string& detail) {
  throw ltx::LtxError(ltx::LtxErrorKind::kTruncated, key,
                      "the object changed while it was being read (" + detail +
                          "): it was replaced; list the replica again");
}

}  // namespace ltxvfs::history
