#include "vfs/core/database_image.h"

#include <vector>

namespace ltxvfs::core {

void DatabaseImage::set_page(uint32_t pgno, std::span<const uint8_t> data) {
  if (pgno == ltx::lock_page(page_size_)) return;
  if (pgno > sums_.size()) resize(pgno);
  uint64_t& slot = sums_[pgno - 1];
  db_.toggle(slot);  // out with the old content (toggling 0 is a no-op)
  slot = ltx::page_checksum(pgno, data);
  db_.toggle(slot);
}

void DatabaseImage::resize(uint32_t commit) {
  while (sums_.size() > commit) {
    db_.toggle(sums_.back());
    sums_.pop_back();
  }
  if (sums_.size() < commit) {
    // New pages count as zero-filled until written: their checksum is that of a zero page.
    std::vector<uint8_t> zero(page_size_, 0);
    const uint32_t lock = ltx::lock_page(page_size_);
    for (uint32_t pgno = static_cast<uint32_t>(sums_.size()) + 1; pgno <= commit; ++pgno) {
      uint64_t sum = pgno == lock ? 0 : ltx::page_checksum(pgno, zero);
      db_.toggle(sum);
      sums_.push_back(sum);
    }
  }
}

}  // namespace ltxvfs::core
