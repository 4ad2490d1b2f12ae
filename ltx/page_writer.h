// Where decoded pages go: a database file (FdPageWriter, a restore's output), memory in tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ltxvfs::ltx {

class PageWriter {
 public:
  virtual ~PageWriter() = default;
  virtual void write_page(std::uint32_t pgno, std::span<const std::uint8_t> page) = 0;
  // Pages first_pgno, first_pgno + 1, ... back to back in `pages` (a multiple of page_size).
  virtual void write_pages(std::uint32_t first_pgno, std::span<const std::uint8_t> pages,
                           std::uint32_t page_size) {
    for (std::size_t i = 0; i * page_size < pages.size(); ++i) {
      write_page(first_pgno + static_cast<std::uint32_t>(i),
                 pages.subspan(i * page_size, page_size));
    }
  }
  // The database is now `commit` pages of `page_size` bytes: drop anything beyond.
  virtual void truncate(std::uint32_t commit, std::uint32_t page_size) = 0;
};

}  // namespace ltxvfs::ltx
