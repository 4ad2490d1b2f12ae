#include "vfs/writer/database_image.h"

#include <stdexcept>
#include <string>

namespace ltxvfs::writer {

uint64_t DatabaseImage::checksum() const {
  if (unset_ != 0) {
    throw std::logic_error("database image: " + std::to_string(unset_) +
                           " added pages were never given their content");
  }
  return db_.value();
}

void DatabaseImage::set_page(uint32_t pgno, std::span<const uint8_t> data) {
  const uint32_t lock = ltx::lock_page(page_size_);
  if (pgno == lock) return;
  if (pgno > sums_.size()) resize(pgno);
  uint64_t& slot = sums_[pgno - 1];
  if (slot == 0) {
    --unset_;
  } else {
    db_.toggle(slot);  // out with the old content
  }
  slot = ltx::page_checksum(pgno, data);
  db_.toggle(slot);
}

void DatabaseImage::resize(uint32_t commit) {
  if (commit == sums_.size()) return;
  if (page_size_ == 0) throw std::logic_error("database image without a page size resized");
  const uint32_t lock = ltx::lock_page(page_size_);
  while (sums_.size() > commit) {
    const uint64_t sum = sums_.back();
    if (sum != 0) {
      db_.toggle(sum);
    } else if (sums_.size() != lock) {
      --unset_;
    }
    sums_.pop_back();
  }
  while (sums_.size() < commit) {
    sums_.push_back(0);
    if (sums_.size() != lock) ++unset_;
  }
}

}  // namespace ltxvfs::writer
