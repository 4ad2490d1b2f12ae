#include "history/streamed_source.h"

#include <cstring>

#include "history/remote_source.h"
#include "ltx/error.h"

namespace ltxvfs::history {

StreamedSource::StreamedSource(std::string key, uint64_t size)
    : key_(std::move(key)), size_(size), bytes_(std::make_unique_for_overwrite<uint8_t[]>(size)) {}

void StreamedSource::take(const std::string& etag, uint64_t at,
                          std::span<const uint8_t> bytes) noexcept {
  uint64_t in;
  {
    base::MutexLock lock(mu_);
    if (ended_) return;
    const uint64_t end = at + bytes.size();
    if (etag_.empty()) etag_ = etag;
    if ((!etag.empty() && etag != etag_) || end > size_) {
      try {
        object_replaced(
            key_, end > size_ ? "more than the " + std::to_string(size_) + " bytes listed arrived"
                              : "another etag arrived while it downloaded");
      } catch (...) {
        fail(std::current_exception());
      }
      cv_.notify_all();
      return;
    }
    // get_streamed hands the bytes over in order, from 0 again after a retry: never past in_.
    if (at > in_ || end <= in_) return;
    in = in_;
  }
  // Past in_, so no reader looks at these bytes until in_ is raised below.
  std::memcpy(bytes_.get() + in, bytes.data() + (in - at), bytes.size() - (in - at));
  {
    base::MutexLock lock(mu_);
    in_ = at + bytes.size();
  }
  cv_.notify_all();
}

void StreamedSource::fetch(storage::ObjectStore& store) noexcept {
  std::exception_ptr error;
  try {
    if (size_ != 0) {
      const auto got =
          store.get_streamed(key_, storage::ByteRange::at(0, size_),
                             [this](const std::string& etag, uint64_t at,
                                    std::span<const uint8_t> bytes) { take(etag, at, bytes); });
      if (got.object_size != 0 && got.object_size != size_) {
        object_replaced(key_, "listed with " + std::to_string(size_) + " bytes, now " +
                                  std::to_string(got.object_size));
      }
    }
  } catch (...) {
    error = std::current_exception();
  }
  end(error);
}

void StreamedSource::end(std::exception_ptr error) noexcept {
  {
    base::MutexLock lock(mu_);
    fail(error);
  }
  cv_.notify_all();
}

std::string StreamedSource::etag() const {
  base::MutexLock lock(mu_);
  return etag_;
}

void StreamedSource::fail(std::exception_ptr error) {
  if (ended_) return;  // the first outcome stands
  ended_ = true;
  error_ = std::move(error);
}

void StreamedSource::wait_for(uint64_t end) const {
  base::MutexLock lock(mu_);
  lock.wait(cv_, [&]() REQUIRES(mu_) { return in_ >= end || ended_; });
  // Once the download failed, nothing of it is read any more: the bytes in may be of an object
  // replaced since the listing.
  if (error_) std::rethrow_exception(error_);
  if (in_ >= end) return;
  throw ltx::LtxError(ltx::LtxErrorKind::kTruncated, key_,
                      "the download ended after " + std::to_string(in_) + " of its " +
                          std::to_string(size_) + " bytes");
}

void StreamedSource::read_at(uint64_t offset, std::span<uint8_t> out) const {
  check_within_object(key_, size_, offset, out.size());
  wait_for(offset + out.size());
  std::memcpy(out.data(), bytes_.get() + offset, out.size());
}

}  // namespace ltxvfs::history
