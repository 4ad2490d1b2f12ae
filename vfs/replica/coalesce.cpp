#include "vfs/replica/coalesce.h"

#include <algorithm>
#include <tuple>

namespace ltxvfs::replica {

std::vector<FetchRange> coalesce(std::vector<FrameRef> frames, uint64_t max_gap,
                                 uint64_t max_bytes) {
  std::sort(frames.begin(), frames.end(), [](const FrameRef& a, const FrameRef& b) {
    return std::tie(a.file->serial, a.offset) < std::tie(b.file->serial, b.offset);
  });
  std::vector<FetchRange> out;
  for (auto& f : frames) {
    const uint64_t f_end = f.offset + f.size;
    if (!out.empty()) {
      FetchRange& r = out.back();
      if (r.file->serial == f.file->serial) {
        if (f.offset < r.end) continue;  // duplicate (frames never overlap otherwise)
        if (f.offset - r.end <= max_gap && f_end - r.begin <= max_bytes) {
          r.end = f_end;
          r.frames.push_back(std::move(f));
          continue;
        }
      }
    }
    FetchRange r;
    r.file = f.file;
    r.begin = f.offset;
    r.end = f_end;
    r.frames.push_back(std::move(f));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace ltxvfs::replica
