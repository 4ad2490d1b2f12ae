// decode_file_parallel: one file decoded by several threads (a restore's large snapshot). It must
// write, return, accept and refuse exactly what decode_file does, errors in file order included.
#include <catch2/catch.hpp>

#include <mutex>

#include "ltx/decoded_file.h"
#include "ltx/encoder.h"
#include "ltx/encryption_key.h"
#include "ltx/parallel_decode.h"
#include "ltx/source.h"
#include "test_support.h"

using namespace ltxvfs::ltx;
using ltxtest::Bytes;
using ltxtest::MemoryPageWriter;
using ltxtest::ModelDb;

namespace {

// MemoryPageWriter for several threads.
class LockedWriter final : public PageWriter {
 public:
  void write_page(std::uint32_t pgno, std::span<const std::uint8_t> page) override {
    std::lock_guard lock(mu_);
    w.write_page(pgno, page);
  }
  void write_pages(std::uint32_t first, std::span<const std::uint8_t> pages,
                   std::uint32_t page_size) override {
    std::lock_guard lock(mu_);
    w.write_pages(first, pages, page_size);
  }
  void truncate(std::uint32_t commit, std::uint32_t page_size) override {
    std::lock_guard lock(mu_);
    w.truncate(commit, page_size);
  }
  MemoryPageWriter w;

 private:
  std::mutex mu_;
};

// A file of `pages` pages of 4 KiB, every third one incompressible, in several batches of ~1 MiB;
// with `gap`, pages 500-509 left out (two runs; a snapshot holds every page).
Bytes large_file(ModelDb& db, std::uint32_t pages, bool gap = false) {
  std::map<std::uint32_t, Bytes> changes;
  for (std::uint32_t p = 1; p <= pages; ++p) {
    if (gap && p >= 500 && p < 510) continue;
    changes[p] = p % 3 == 0 ? ltxtest::random_page(4096, p) : ltxtest::compressible_page(4096, p);
  }
  return db.commit(changes, pages);
}

std::optional<LtxErrorKind> kind_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const LtxError& e) {
    return e.kind();
  }
  return std::nullopt;
}

// How decode_file and decode_file_parallel on `threads` threads end on `file`: the kind each
// throws, or nothing.
struct Outcomes {
  std::optional<LtxErrorKind> one, many;
};
Outcomes outcomes(const Bytes& file, unsigned threads) {
  PageDecompressor d;
  MemoryPageWriter one;
  LockedWriter many;
  return {kind_of([&] { decode_file(MemorySource(file), "bad", d, one); }),
          kind_of([&] { decode_file_parallel(MemorySource(file), "bad", threads, many); })};
}

}  // namespace

TEST_CASE("parallel decode: the same pages, page numbers and checksums as decode_file",
          "[parallel_decode]") {
  for (const auto& opts : {EncodeOptions::native(), EncodeOptions::litestream()}) {
    INFO(to_string(opts.encoding));
    ModelDb db(4096, opts);
    const Bytes first = large_file(db, 1200);        // a snapshot, ~2 MB stored
    const Bytes second = large_file(db, 900, true);  // incremental, two runs, and it shrinks
    for (const Bytes* file : {&first, &second}) {
      PageDecompressor d;
      MemoryPageWriter one;
      const DecodedFile want = decode_file(MemorySource(*file), "f", d, one);
      for (unsigned threads : {1u, 2u, 4u}) {
        INFO(threads << " threads");
        LockedWriter many;
        const DecodedFile got = decode_file_parallel(MemorySource(*file), "f", threads, many);
        CHECK(many.w.db == one.db);
        CHECK(got.pgnos == want.pgnos);
        CHECK(got.sums == want.sums);
        CHECK(got.header.max_txid == want.header.max_txid);
        CHECK(got.trailer.post_apply_checksum == want.trailer.post_apply_checksum);
        CHECK(got.trailer.file_checksum == want.trailer.file_checksum);
      }
    }
  }
}

TEST_CASE("parallel decode: a bit flip is refused as decode_file refuses it", "[parallel_decode]") {
  SECTION("every bit of a small file") {
    for (const auto& opts : {EncodeOptions::native(), EncodeOptions::litestream()}) {
      ModelDb db(512, opts);
      db.commit({{1, ltxtest::compressible_page(512, 1)}, {2, ltxtest::random_page(512, 2)}}, 2);
      const Bytes file = db.commit({{1, ltxtest::compressible_page(512, 11)},
                                    {2, ltxtest::random_page(512, 22)},
                                    {4, ltxtest::compressible_page(512, 4)}},
                                   4);
      for (std::size_t i = 0; i < file.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
          Bytes bad = file;
          bad[i] ^= static_cast<std::uint8_t>(1u << bit);
          INFO(to_string(opts.encoding) << ", byte " << i << " bit " << bit);
          const Outcomes o = outcomes(bad, 2);
          REQUIRE(o.many == o.one);
        }
      }
    }
  }
  SECTION("bytes in every batch of a large file, its index and its trailer") {
    ModelDb db(4096, EncodeOptions::native());
    const Bytes file = large_file(db, 1200);
    int refused = 0;
    for (std::size_t i = 100; i < file.size(); i += file.size() / 97) {
      for (const std::size_t at : {i, file.size() - 1 - i % 200}) {
        Bytes bad = file;
        bad[at] ^= 0x10;
        INFO("byte " << at);
        const Outcomes o = outcomes(bad, 3);
        REQUIRE(o.many == o.one);
        refused += o.one ? 1 : 0;
      }
    }
    CHECK(refused > 150);
  }
}

TEST_CASE("parallel decode: the first failure in file order is the one thrown",
          "[parallel_decode]") {
  // Two bad frames, far apart: a corrupt payload early and a page out of order late. decode_file
  // stops at the first; so must the parallel walk, whichever thread meets its failure first.
  ModelDb db(4096, EncodeOptions::native());
  const Bytes file = large_file(db, 1200);
  PageDecompressor d;
  Bytes bad = file;
  bad[200] ^= 0xff;               // inside page 1's zstd frame
  bad[bad.size() - 100] ^= 0x01;  // in the page index
  MemoryPageWriter one;
  const auto want = kind_of([&] { decode_file(MemorySource(bad), "bad", d, one); });
  REQUIRE(want);
  for (int round = 0; round < 20; ++round) {
    LockedWriter many;
    CHECK(kind_of([&] { decode_file_parallel(MemorySource(bad), "bad", 4, many); }) == want);
  }
}

TEST_CASE("parallel decode: an encrypted file, its frames opened by the walk",
          "[parallel_decode]") {
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "5a";
  const KeyPtr key = parse_key(hex);
  register_keys(KeyRing{{key}});
  ModelDb db(4096, EncodeOptions::of(OutputFormat::kNative, key, 0x0c0c0c0c0c0c0c0cULL));
  const Bytes file = large_file(db, 1200);
  PageDecompressor d;
  MemoryPageWriter one;
  const DecodedFile want = decode_file(MemorySource(file), "f", d, one);
  LockedWriter many;
  const DecodedFile got = decode_file_parallel(MemorySource(file), "f", 3, many);
  CHECK(many.w.db == one.db);
  CHECK(got.pgnos == want.pgnos);
  CHECK(got.sums == want.sums);
  CHECK(got.trailer.file_checksum == want.trailer.file_checksum);
  // A flipped ciphertext byte, a flipped tag, a flipped MAC in the trailer: refused alike.
  for (const std::size_t at : {std::size_t{300}, file.size() / 2, file.size() - 3}) {
    Bytes bad = file;
    bad[at] ^= 0x04;
    INFO("byte " << at);
    const Outcomes o = outcomes(bad, 3);
    REQUIRE(o.one);
    CHECK(o.many == o.one);
  }
}
