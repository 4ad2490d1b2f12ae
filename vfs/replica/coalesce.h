// Request coalescing: frames of one object that lie next to each other (an LTX file stores its
// frames back to back, in page order) are fetched with one ranged GET.
#pragma once

#include <cstdint>
#include <vector>

#include "vfs/replica/snapshot.h"

namespace ltxvfs::replica {

struct FetchRange {
  std::shared_ptr<const FileIndex> file;
  uint64_t begin = 0;  // byte range [begin, end) of the object
  uint64_t end = 0;
  std::vector<FrameRef> frames;  // ascending offsets, all inside the range
};

// Groups `frames` into ranges: frames of the same object are merged while the hole between them
// is at most `max_gap` bytes and the range stays within `max_bytes` (a single frame larger than
// that still gets its own range). Duplicates are dropped. Output order: by object, then offset.
std::vector<FetchRange> coalesce(std::vector<FrameRef> frames, uint64_t max_gap,
                                 uint64_t max_bytes);

}  // namespace ltxvfs::replica
