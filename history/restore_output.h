// RestoreOutput: the file a restore writes, from many threads at once. Each file of the chain is
// written by the thread that decodes it, as it decodes (ltx::decode_file), in whatever order the
// files finish; the applying thread only checks and accounts for them, in chain order. Written by
// that one thread, W5's 123 MB took ~135 ms of a 300 ms restore: the page cache's first touch of
// each page costs ~6 ms per 4.4 MB file in this VM, and the thread did nothing else meanwhile.
//
// For every page, the newest file's bytes win: a file's page is written only if no later file of
// the chain wrote it already, and the check and the write are one step under the lock of the
// page's stripe. Shrinking waits for the end (finish()): a page a shrink cut off that a later file
// grows back, that file carries (ltx::ChainApplier checks every growth), so one cut to the final
// size gives the file the chain applied in order gives.
//
// Memory: 4 bytes per page of the database (which file wrote it), beside the applier's 8.
//
// Threads: write() and FileWriters from any thread; finish() once they are all done.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/posix_file.h"
#include "ltx/page_writer.h"

namespace ltxvfs::history {

class RestoreOutput {
 public:
  RestoreOutput(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}

  // Pages first_pgno, first_pgno + 1, ... of the chain's file number `file` (0: the first),
  // except those a later file wrote already. Throws std::system_error when a write fails.
  void write(size_t file, uint32_t first_pgno, std::span<const uint8_t> pages, uint32_t page_size);
  // The database is `commit` pages of `page_size` bytes: cuts what lies beyond.
  void finish(uint32_t commit, uint32_t page_size);

  // An ltx::PageWriter (for decode_file and ChainApplier) whose writes are those of the file
  // set_file() names (set it before each file); its truncations wait for finish().
  class FileWriter final : public ltx::PageWriter {
   public:
    explicit FileWriter(RestoreOutput& out) : out_(out) {}
    void set_file(size_t file) { file_ = file; }
    void write_page(uint32_t pgno, std::span<const uint8_t> page) override {
      out_.write(file_, pgno, page, static_cast<uint32_t>(page.size()));
    }
    void write_pages(uint32_t first_pgno, std::span<const uint8_t> pages,
                     uint32_t page_size) override {
      out_.write(file_, first_pgno, pages, page_size);
    }
    void truncate(uint32_t, uint32_t) override {}

   private:
    RestoreOutput& out_;
    size_t file_ = 0;
  };

 private:
  // Pages are grouped in blocks of kBlockPages, block b in stripe b % kStripes.
  static constexpr uint32_t kBlockPages = 256;
  static constexpr size_t kStripes = 64;
  struct Stripe {
    base::Mutex mu;
    // 1 + the file that wrote each page of the stripe's blocks (0: none yet), block by block.
    std::vector<uint32_t> writer GUARDED_BY(mu);
  };
  // Writes pages [first, first + count) of one block, those no later file wrote.
  void write_block(uint32_t file_plus_1, uint32_t first, uint32_t count, const uint8_t* data,
                   uint32_t page_size);

  // Constant after construction.
  const int fd_;
  const std::string name_;

  std::array<Stripe, kStripes> stripes_;  // each guarded by its own mutex
  base::WritebackPacer writeback_;        // thread-safe itself
};

}  // namespace ltxvfs::history
