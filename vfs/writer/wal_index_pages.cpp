#include "vfs/writer/wal_index_pages.h"

#include <algorithm>
#include <cstring>

namespace ltxvfs::writer {

bool read_frame_pages(std::span<const void* const> regions, uint32_t first,
                      std::span<uint32_t> out) {
  if (first == 0) return false;  // frames count from 1
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t frame = first + done;
    // Where `frame` lives: its region, its slot there, and the last frame that region holds.
    size_t region = 0;
    uint64_t slot = 0;
    uint64_t region_last = kWalIndexRegion0Frames;
    if (frame <= kWalIndexRegion0Frames) {
      slot = kWalIndexHeaderWords + (frame - 1);
    } else {
      const uint64_t past_zero = frame - kWalIndexRegion0Frames - 1;
      region = static_cast<size_t>(1 + past_zero / kWalIndexFramesPerRegion);
      slot = past_zero % kWalIndexFramesPerRegion;
      region_last = kWalIndexRegion0Frames + uint64_t{region} * kWalIndexFramesPerRegion;
    }
    if (region >= regions.size() || regions[region] == nullptr) return false;
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(out.size() - done, region_last - frame + 1));
    const std::span<uint32_t> part = out.subspan(done, n);
    // Shared memory: copy, then judge the copy (as SQLite does with the header).
    std::memcpy(part.data(), static_cast<const uint8_t*>(regions[region]) + slot * 4, n * 4);
    if (std::find(part.begin(), part.end(), 0u) != part.end()) return false;
    done += n;
  }
  return true;
}

}  // namespace ltxvfs::writer
