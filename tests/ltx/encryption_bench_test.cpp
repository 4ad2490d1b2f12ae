// Throughput of encoding and decoding real SQLite pages with and without encryption: the figure
// bench/RESULTS.md quotes ("decode still >= 1 GB/s with AES-NI"). Hidden ([.]): it measures, it
// does not check, and CI need not spend its time. Run:
//   build/tests/ltx/ltx_tests "[.encryption-bench]"
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>

#include "ltx/decoder.h"
#include "ltx/encryption_key.h"
#include "ltx/sink.h"
#include "ltx/source.h"
#include "test_support.h"

using namespace ltxvfs::ltx;
using Clock = std::chrono::steady_clock;

namespace {

// MB/s of page bytes over the best of `rounds` (the least disturbed by other load).
template <typename Fn>
double best_mb_per_s(std::size_t bytes, int rounds, Fn fn) {
  double best = 0;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    fn();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, static_cast<double>(bytes) / s / 1e6);
  }
  return best;
}

}  // namespace

TEST_CASE("encryption bench: encode and decode of a real database", "[.encryption-bench]") {
  const auto db = read_file(LTXVFS_TEST_DATA_DIR "/Chinook_Sqlite.sqlite");
  const std::uint32_t ps = 4096;
  const std::uint32_t n = static_cast<std::uint32_t>(db.size() / ps);
  const KeyPtr key = parse_key(std::string(64, 'c'));
  register_keys(KeyRing{{key}});
  Header h = ltxtest::make_header(ps, n, 1, 1);
  for (const bool encrypted : {false, true}) {
    EncodeOptions o = EncodeOptions::of(OutputFormat::kNative, encrypted ? key : nullptr, 1);
    o.checksums = false;
    std::vector<std::uint8_t> file;
    const double enc = best_mb_per_s(db.size(), 5, [&] {
      VectorSink sink;
      Encoder e(sink, h, o);
      for (std::uint32_t p = 1; p <= n; ++p) {
        e.add_page(p, std::span(db).subspan(std::size_t{p - 1} * ps, ps));
      }
      e.finish();
      file = sink.take();
    });
    const double dec = best_mb_per_s(db.size(), 5, [&] {
      MemorySource src(file);
      Decoder d(src, "bench");
      d.verify();
    });
    std::printf("%s: %u pages of 4 KiB (%.1f MB -> %.1f MB): encode %.0f MB/s, decode %.0f MB/s\n",
                encrypted ? "encrypted" : "plain    ", n, db.size() / 1e6, file.size() / 1e6, enc,
                dec);
  }
}

TEST_CASE("encryption bench: a one-page transaction file", "[.encryption-bench]") {
  // What a small transaction pays per file: W1's 1 row/tx case writes one or two pages per file.
  const KeyPtr key = parse_key(std::string(64, 'd'));
  const auto page = ltxtest::compressible_page(4096, 1);
  const Header h = ltxtest::make_header(4096, 10, 5, 5, kChecksumFlag | 1);
  constexpr int kFiles = 20000;
  for (const bool encrypted : {false, true, false, true}) {
    const EncodeOptions o = EncodeOptions::of(OutputFormat::kNative, encrypted ? key : nullptr, 1);
    PageCompressor compressor(PageEncoding::kZstd);
    const auto t0 = Clock::now();
    for (int i = 0; i < kFiles; ++i) {
      VectorSink sink;
      Encoder e(sink, h, o, compressor);
      e.add_page(3, page);
      e.finish(kChecksumFlag | 2);
    }
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / kFiles;
    std::printf("%s one-page file: %.2f us\n", encrypted ? "encrypted" : "plain    ", us);
  }
}
