#include "storage/body_source.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "storage/object_store.h"

namespace ltxvfs::storage {

void MemoryBody::read_at(uint64_t offset, std::span<uint8_t> out) const {
  if (offset > bytes_.size() || out.size() > bytes_.size() - offset) {
    throw StoreError(StoreErrorKind::kIo, "read past the end of " + describe());
  }
  std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
}

void FileRangeBody::read_at(uint64_t offset, std::span<uint8_t> out) const {
  if (offset > length_ || out.size() > length_ - offset) {
    throw StoreError(StoreErrorKind::kIo, "read past the end of " + name_);
  }
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                              static_cast<off_t>(offset_ + offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw StoreError(StoreErrorKind::kIo,
                       "cannot read " + name_ + ": " +
                           (n < 0 ? std::string(std::strerror(errno)) : "the file ends early"));
    }
    done += static_cast<size_t>(n);
  }
}

PutResult ObjectStore::put_body(const std::string& key, const BodySource& body,
                                const PutOptions& options) {
  std::vector<uint8_t> bytes(body.size());
  body.read_at(0, bytes);
  return put(key, bytes, options);
}

std::optional<GetResult> ObjectStore::get_if_changed(const std::string& key,
                                                     const std::string& etag) {
  const auto info = head(key);
  if (!info) throw StoreError(StoreErrorKind::kNotFound, describe() + "/" + key + ": not found");
  if (!etag.empty() && info->etag == etag) return std::nullopt;
  GetResult got = get(key);
  if (!etag.empty() && got.etag == etag) return std::nullopt;  // changed back meanwhile
  return got;
}

}  // namespace ltxvfs::storage
