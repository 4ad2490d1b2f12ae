// WriteBehind: an ltx::PageWriter that hands each run of pages to a thread of its own, so the
// thread decoding a file goes on decoding while the pages go into the page cache.
//
// Why: a restore decodes a file larger than kStreamAbove (a snapshot of a big database) on the
// applying thread, as it streams in. Writing its pages there took as long as decoding them: of
// restoring a 405 MiB snapshot (854 MB database) from a directory, 57 % of the samples were the
// kernel's, 40 % copying pages into the page cache (copy_folio_from_iter_atomic), beside zstd's
// 32 %, all on that one thread.
//
// Contract: write_page()/write_pages() copy the bytes and return (waiting only while
// `max_queued_bytes` are queued); the writes reach `target` in the order given, on the writer
// thread. drain() waits until every queued write is done and rethrows the first one that failed
// (after which every call rethrows it). truncate() drains first. A caller that changes what
// `target` writes to (RestoreOutput::FileWriter::set_file) drains before. The destructor drops
// what is still queued and joins the thread.
//
// Threads: any number of producers (the threads decoding a file, ltx/parallel_decode.h), whose
// runs are written in the order they came, and the writer thread (ltx-restore-wb).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <span>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "ltx/page_writer.h"

namespace ltxvfs::history {

class WriteBehind final : public ltx::PageWriter {
 public:
  WriteBehind(ltx::PageWriter& target, uint64_t max_queued_bytes);
  ~WriteBehind() override;
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  void write_page(uint32_t pgno, std::span<const uint8_t> page) override {
    write_pages(pgno, page, static_cast<uint32_t>(page.size()));
  }
  void write_pages(uint32_t first_pgno, std::span<const uint8_t> pages, uint32_t page_size) override
      EXCLUDES(mu_);
  void truncate(uint32_t commit, uint32_t page_size) override EXCLUDES(mu_);
  void drain() EXCLUDES(mu_);

 private:
  struct Run {
    uint32_t first = 0;
    uint32_t page_size = 0;
    std::vector<uint8_t> bytes;
  };
  void work() EXCLUDES(mu_);

  // Constant after construction.
  ltx::PageWriter& target_;
  const uint64_t max_queued_bytes_;

  // Protected by mu_.
  base::Mutex mu_;
  std::condition_variable cv_;  // a run was queued or written, an error, or stop
  std::deque<Run> queue_ GUARDED_BY(mu_);
  // Buffers of written runs, reused: a fresh 1 MiB buffer is fresh memory to fault in.
  std::vector<std::vector<uint8_t>> spare_ GUARDED_BY(mu_);
  uint64_t queued_bytes_ GUARDED_BY(mu_) = 0;
  bool writing_ GUARDED_BY(mu_) = false;  // the writer thread holds a run
  std::exception_ptr error_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;

  std::thread thread_;  // started by the constructor, joined by the destructor
};

}  // namespace ltxvfs::history
