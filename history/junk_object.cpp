#include "history/junk_object.h"

#include <algorithm>

#include "ltx/error.h"
#include "ltx/header.h"

namespace ltxvfs::history {

bool is_junk_object(storage::ObjectStore& store, const std::string& key, uint64_t size) {
  if (size == 0) return true;
  const auto got =
      store.get(key, storage::ByteRange::at(0, std::min<uint64_t>(size, ltx::kHeaderSize)));
  try {
    ltx::Header::decode(got.body, key);
  } catch (const ltx::LtxError& e) {
    // No magic, or shorter than the magic itself: no LTX writer ever produced it.
    return e.kind() == ltx::LtxErrorKind::kBadMagic ||
           (e.kind() == ltx::LtxErrorKind::kTruncated && got.body.size() < 4);
  }
  return false;
}

}  // namespace ltxvfs::history
