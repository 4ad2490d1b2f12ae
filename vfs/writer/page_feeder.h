// PageFeeder: hands an LTX file's pages to its ltx::Encoder in page order, and while someone waits
// for the build compresses them in runs on two threads, the builder's and one helper.
//
// Who waits: SQLite, before it overwrites the WAL (a restart after a checkpoint; DESIGN.md, "The
// commit path"). Its thread is blocked until everything the old WAL held is built and synced, so
// its core is idle, while the builder compresses alone: after a VACUUM of a 10 MB database
// (2,569 pages, the whole database in the WAL) the next commit waited 35-40 ms for ~1,700 pages
// at ~20 us each, 60 % of it zstd (speedtest1's test 210: 1 ms on unix; bench/RESULTS.md). Only
// compression goes to the second thread; reading frames, checksums and writes stay in order on
// the builder's. Outside those waits a second compressing thread would take the core SQLite
// commits on, so pages go to the encoder one by one as before, with no copy.
//
// Same bytes either way: each page is compressed on its own (ltx::PageCompressor), and a run's
// payloads go to the encoder in page order with add_encoded_page, which checksums and seals
// them as add_page would.
//
// Single-threaded (the builder's); `hurried` is read from any thread's writes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ltx/encoder.h"
#include "ltx/page_codec.h"

namespace ltxvfs::writer {

class PageFeeder {
 public:
  // A run is compressed once it holds this many bytes of pages (at least two pages): long
  // enough that starting the helper thread (~50 us) costs little beside ~3 ms of zstd.
  static constexpr size_t kRunBytes = 1u << 20;

  // `own`: the compressor `encoder` was built with, at `zstd_level`. `helper`: the helper
  // thread's, made at the first run and kept by the caller for the next files (a compression
  // context costs more to create than a small file to encode). `hurried`: non-zero while
  // someone waits for this build.
  PageFeeder(ltx::Encoder& encoder, ltx::PageCompressor& own,
             std::unique_ptr<ltx::PageCompressor>& helper, int zstd_level,
             const std::atomic<unsigned>& hurried);

  void add(uint32_t pgno, std::span<const uint8_t> page);
  // Hands over what a run still holds; call before the encoder's finish().
  void finish();

  // Pages compressed on two threads so far (for tests).
  uint64_t pages_in_runs() const { return pages_in_runs_; }

 private:
  void flush();

  ltx::Encoder& encoder_;
  ltx::PageCompressor& own_;
  std::unique_ptr<ltx::PageCompressor>& helper_;
  const int zstd_level_;
  const std::atomic<unsigned>& hurried_;
  size_t page_size() const { return encoder_.header().page_size; }

  std::vector<uint8_t> bytes_;  // the run's pages, back to back, page_size() each
  std::vector<uint32_t> pgnos_;
  std::vector<std::vector<uint8_t>> payloads_;  // reused across runs
  uint64_t pages_in_runs_ = 0;
};

}  // namespace ltxvfs::writer
