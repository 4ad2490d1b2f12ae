// What the replica knows about one LTX object without downloading its pages: the page index and
// trailer from one ranged GET of the object's tail (and its header, when that GET covered it); or,
// for an object whose index is long and has a directory in the head, the trailer alone and the
// index read part by part as pages are looked up (`lazy`, lazy_index.h).
// Immutable once built, shared by every snapshot that uses the object.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "history/restore_plan.h"
#include "ltx/header.h"
#include "ltx/page_index.h"
#include "vfs/replica/lazy_index.h"

namespace ltxvfs::replica {

struct FileIndex {
  // Identity of this object version within one replica: the page cache key, so cached pages stay
  // valid across snapshots for as long as the object is the one that provides them.
  uint64_t serial = 0;
  history::RemoteFile file;  // level, TXID range, key, size as listed
  std::string etag;          // from the tail GET; empty when the store gives none
  ltx::PageIndex index;      // empty when `lazy`
  ltx::Trailer trailer;
  std::shared_ptr<LazyIndex> lazy;
  std::optional<ltx::Header> header;  // present when the tail GET covered the whole object
};

}  // namespace ltxvfs::replica
