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

void drop_junk_objects(storage::ObjectStore& store, std::vector<RemoteFile>& files,
                       uint64_t from_txid, const std::function<void(const RemoteFile&)>& on_junk) {
  std::erase_if(files, [&](const RemoteFile& f) {
    if (f.max_txid < from_txid || !is_junk_object(store, f.key, f.size)) return false;
    if (on_junk) on_junk(f);
    return true;
  });
}

}  // namespace ltxvfs::history
