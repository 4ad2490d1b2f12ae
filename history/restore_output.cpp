#include "history/restore_output.h"

#include <unistd.h>

#include <algorithm>

#include "base/posix_file.h"

namespace ltxvfs::history {

void RestoreOutput::write(size_t file, uint32_t first_pgno, std::span<const uint8_t> pages,
                          uint32_t page_size) {
  const auto count = static_cast<uint32_t>(pages.size() / page_size);
  for (uint32_t i = 0; i < count;) {
    const uint32_t pgno = first_pgno + i;
    const uint32_t in_block = std::min(count - i, kBlockPages - (pgno - 1) % kBlockPages);
    write_block(static_cast<uint32_t>(file + 1), pgno, in_block,
                pages.data() + size_t{i} * page_size, page_size);
    i += in_block;
  }
}

void RestoreOutput::write_block(uint32_t file_plus_1, uint32_t first, uint32_t count,
                                const uint8_t* data, uint32_t page_size) {
  const uint32_t block = (first - 1) / kBlockPages;
  Stripe& stripe = stripes_[block % kStripes];
  base::MutexLock lock(stripe.mu);
  const size_t block_start = size_t{block / kStripes} * kBlockPages;
  if (stripe.writer.size() < block_start + kBlockPages) {
    stripe.writer.resize(block_start + kBlockPages, 0);
  }
  uint32_t* writer = stripe.writer.data() + block_start + (first - 1) % kBlockPages;
  // Runs of the pages this file may write (no later file wrote them), one pwrite each.
  uint32_t run = 0;  // first page of the run being gathered
  for (uint32_t k = 0; k <= count; ++k) {
    const bool mine = k < count && writer[k] <= file_plus_1;
    if (mine) {
      writer[k] = file_plus_1;
      continue;
    }
    if (k > run) {
      const size_t bytes = size_t{k - run} * page_size;
      base::pwrite_all(fd_, uint64_t{first + run - 1} * page_size,
                       std::span(data + size_t{run} * page_size, bytes), name_);
      // On its way to the disk now, not all at the restore's fsync: W5's 123 MB took 50-74 ms to
      // sync after the writes, 1-3 ms with writeback started every 4 MiB.
      writeback_.wrote(fd_, bytes);
    }
    run = k + 1;
  }
}

void RestoreOutput::finish(uint32_t commit, uint32_t page_size) {
  if (::ftruncate(fd_, static_cast<off_t>(uint64_t{commit} * page_size)) != 0) {
    base::throw_errno("truncate to " + std::to_string(commit) + " pages", name_);
  }
}

}  // namespace ltxvfs::history
