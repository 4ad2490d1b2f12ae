// DatabaseImage: the page checksums of the replicated database state, so the LTX database checksum
// (XOR of page checksums) can be kept current incrementally as transactions change pages, and
// compared with the recorded state when a process reopens the database.
#pragma once

#include <cstdint>
#include <deque>
#include <span>

#include "ltx/checksum.h"

namespace ltxvfs::writer {

class DatabaseImage {
 public:
  DatabaseImage() = default;
  explicit DatabaseImage(uint32_t page_size) : page_size_(page_size) {}

  uint32_t page_size() const { return page_size_; }
  uint32_t commit() const { return static_cast<uint32_t>(sums_.size()); }
  // The LTX database checksum. Throws std::logic_error while a page added by resize() has not
  // been given its content: the checksum would be wrong.
  uint64_t checksum() const;

  // Records the new content of `pgno` (growing the image if needed). The lock page is ignored.
  void set_page(uint32_t pgno, std::span<const uint8_t> data);
  // Sets the database size: pages above `commit` are dropped; pages added have no content until
  // set_page() gives them theirs, which the caller must do for every one of them before asking
  // for the checksum. (Every caller reads each added page right away; computing the checksum of
  // a zero page for each first was a third CRC pass over every page a transaction added.)
  void resize(uint32_t commit);

 private:
  uint32_t page_size_ = 0;
  // sums_[pgno-1]; 0 for the lock page. A deque: it grows in small blocks as the database grows,
  // where a vector would double and copy (6 MiB at the peak for a 1 GiB database, not 2).
  std::deque<uint64_t> sums_;  // 0: the lock page, or a page added and not yet set
  uint32_t unset_ = 0;         // pages added by resize() and not yet set
  ltx::DatabaseChecksum db_;
};

}  // namespace ltxvfs::writer
