// The lock page: the page holding SQLite's PENDING_BYTE (offset 0x40000000). SQLite never writes
// it, LTX never stores or checksums it, and a restored database holds zeros there. Page 262145 at
// 4 KiB pages, so it only matters for databases over 1 GiB, which is why it is easy to get wrong.
#pragma once

#include <cstdint>

namespace ltxvfs::ltx {

inline constexpr std::uint32_t kPendingByte = 0x40000000;

// page_size must be non-zero (callers validate it first).
constexpr std::uint32_t lock_page(std::uint32_t page_size) {
  return kPendingByte / page_size + 1;
}

// How many pages a complete copy of a `commit`-page database stores (all but the lock page).
constexpr std::uint32_t stored_page_count(std::uint32_t commit, std::uint32_t page_size) {
  return commit >= lock_page(page_size) ? commit - 1 : commit;
}

// The page a complete copy stores after `pgno` (skipping the lock page).
constexpr std::uint32_t next_stored_page(std::uint32_t pgno, std::uint32_t page_size) {
  return pgno + 1 == lock_page(page_size) ? pgno + 2 : pgno + 1;
}

}  // namespace ltxvfs::ltx
