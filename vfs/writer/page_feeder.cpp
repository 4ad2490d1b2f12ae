#include "vfs/writer/page_feeder.h"

#include "base/parallel_for.h"

namespace ltxvfs::writer {

PageFeeder::PageFeeder(ltx::Encoder& encoder, ltx::PageCompressor& own,
                       std::unique_ptr<ltx::PageCompressor>& helper, int zstd_level,
                       const std::atomic<unsigned>& hurried)
    : encoder_(encoder), own_(own), helper_(helper), zstd_level_(zstd_level), hurried_(hurried) {}

void PageFeeder::add(uint32_t pgno, std::span<const uint8_t> page) {
  // Pages of a run lie back to back at the file's page size; another size goes to the encoder
  // as it comes, which refuses it there (kBadPageSize) as it always did.
  if ((pgnos_.empty() && hurried_.load(std::memory_order_relaxed) == 0) ||
      page.size() != page_size()) {
    flush();
    encoder_.add_page(pgno, page);
    return;
  }
  bytes_.insert(bytes_.end(), page.begin(), page.end());
  pgnos_.push_back(pgno);
  if (bytes_.size() >= kRunBytes) flush();
}

void PageFeeder::finish() {
  flush();
}

void PageFeeder::flush() {
  const size_t n = pgnos_.size();
  if (n == 0) return;
  if (payloads_.size() < n) payloads_.resize(n);
  const auto page = [&](size_t i) {
    return std::span<const uint8_t>(bytes_).subspan(i * page_size(), page_size());
  };
  // Two halves, each with its own compressor (a compressor is one thread's at a time); the
  // caller's thread takes the first, a helper the second. A single page needs no helper.
  const size_t half = (n + 1) / 2;
  if (n > 1 && !helper_) {
    helper_ = std::make_unique<ltx::PageCompressor>(own_.encoding(), zstd_level_);
  }
  ltx::PageCompressor& helper = n > 1 ? *helper_ : own_;
  base::parallel_for(n > 1 ? 2 : 1, 2, "ltx-build-help", [&](size_t part) {
    ltx::PageCompressor& compressor = part == 0 ? own_ : helper;
    for (size_t i = part == 0 ? 0 : half; i < (part == 0 ? half : n); ++i) {
      payloads_[i].clear();
      compressor.compress(page(i), payloads_[i]);
    }
  });
  for (size_t i = 0; i < n; ++i) {
    encoder_.add_encoded_page(pgnos_[i], page(i), own_.encoding(), payloads_[i]);
  }
  pages_in_runs_ += n;
  bytes_.clear();
  pgnos_.clear();
}

}  // namespace ltxvfs::writer
