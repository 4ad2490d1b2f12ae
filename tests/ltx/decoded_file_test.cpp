// decode_file() and ChainApplier::apply(DecodedFile): the restore's path, where workers decode,
// verify and write whole files and one thread applies them. It must accept and refuse exactly what
// the streaming path does, and write what it does.
#include <catch2/catch.hpp>

#include <map>

#include "ltx/applier.h"
#include "ltx/decoded_file.h"
#include "ltx/source.h"
#include "test_support.h"

using namespace ltxvfs::ltx;
using ltxtest::Bytes;
using ltxtest::MemoryPageWriter;
using ltxtest::ModelDb;

namespace {

// Decodes `file`, its pages written to `w`.
DecodedFile decoded(const Bytes& file, MemoryPageWriter& w) {
  PageDecompressor d;
  return decode_file(MemorySource(file), "f", d, w);
}

}  // namespace

TEST_CASE("decoded files: a chain with overwrites, growth and shrinking", "[applier]") {
  for (const auto& opts : {EncodeOptions::native(), EncodeOptions::litestream()}) {
    INFO(to_string(opts.encoding));
    ModelDb db(512, opts);
    auto pg = [&](std::uint64_t seed) { return ltxtest::compressible_page(512, seed); };
    std::vector<Bytes> files;
    files.push_back(db.commit({{1, pg(1)}, {2, pg(2)}, {3, pg(3)}, {4, pg(4)}}, 4));
    files.push_back(db.commit({{2, pg(22)}, {4, pg(44)}}, 4));
    files.push_back(db.commit({{1, pg(111)}, {5, pg(5)}, {6, pg(6)}, {7, pg(7)}}, 7));
    files.push_back(db.commit({{2, pg(222)}}, 3));
    files.push_back(db.commit({{3, pg(333)}, {4, pg(444)}, {5, pg(555)}}, 5));
    MemoryPageWriter w;
    ChainApplier applier(w);
    for (const auto& f : files) applier.apply(decoded(f, w), "f");
    REQUIRE(w.db == db.image());
    REQUIRE(applier.state().checksum == db.checksum());
    REQUIRE(applier.state().txid == 5);
    // One write per run of consecutive pages: 1, 2+2 (2 and 4), 1+1 (1, 5..7), 1, 1 (3..5).
    REQUIRE(w.runs == 1 + 2 + 2 + 1 + 1);
  }
}

TEST_CASE("decoded files: a bit flip that changes a page is refused as the decoder refuses it",
          "[applier]") {
  // decode_file checks each page by the file checksum and not by its zstd frame's own checksum
  // (Decoder::pages_only): a flip the frame checksum catches first in the decoder is a file
  // checksum mismatch here, and a flip of the frame checksum's own bytes, which leaves every page
  // as written, is no error at all. Nothing else differs.
  ModelDb db(512, EncodeOptions::native());
  const Bytes file = db.commit(
      {{1, ltxtest::compressible_page(512, 1)}, {2, ltxtest::compressible_page(512, 2)}}, 2);
  const auto image = db.image();
  PageDecompressor d;
  int accepted_with_pages_intact = 0;
  int caught_by_file_checksum = 0;
  for (std::size_t i = 0; i < file.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes bad = file;
      bad[i] ^= static_cast<std::uint8_t>(1u << bit);
      INFO("byte " << i << " bit " << bit);
      const auto expected = ltxtest::decode_error(bad);
      MemoryPageWriter w;
      std::optional<LtxErrorKind> got;
      try {
        decode_file(MemorySource(bad), "bad", d, w);
      } catch (const LtxError& e) {
        got = e.kind();
      }
      if (!expected) {
        REQUIRE(!got);
      } else if (!got) {
        REQUIRE(*expected == LtxErrorKind::kDecompress);
        REQUIRE(w.db == image);
        ++accepted_with_pages_intact;
      } else if (*got != *expected) {
        REQUIRE(*expected == LtxErrorKind::kDecompress);
        REQUIRE(*got == LtxErrorKind::kChecksumMismatch);
        ++caught_by_file_checksum;
      }
    }
  }
  // The two frames' 4-byte checksums, 32 bits each.
  REQUIRE(accepted_with_pages_intact == 2 * 32);
  // Flips that zstd decodes into another page, which its frame checksum would have caught.
  REQUIRE(caught_by_file_checksum > 0);
}

TEST_CASE("decoded files: pages are written in runs of consecutive pages, up to 1 MiB",
          "[applier]") {
  ModelDb db(4096, EncodeOptions::native());
  std::map<std::uint32_t, Bytes> pages;
  for (std::uint32_t p = 1; p <= 600; ++p) pages[p] = ltxtest::compressible_page(4096, p);
  PageDecompressor d;
  MemoryPageWriter whole;
  decode_file(MemorySource(db.commit(pages, 600)), "snapshot", d, whole);
  CHECK(whole.db == db.image());
  pages.erase(300);
  for (auto& [p, bytes] : pages) bytes = ltxtest::compressible_page(4096, p + 1000);
  MemoryPageWriter w;
  const DecodedFile f = decode_file(MemorySource(db.commit(pages, 600)), "f", d, w);
  CHECK(f.pgnos.size() == 599);
  const Bytes image = db.image();
  CHECK(Bytes(w.db.begin(), w.db.begin() + 299 * 4096) ==
        Bytes(image.begin(), image.begin() + 299 * 4096));
  CHECK(Bytes(w.db.begin() + 300 * 4096, w.db.end()) ==
        Bytes(image.begin() + 300 * 4096, image.end()));
  // 1..299 (256 pages = 1 MiB, then 43), 301..600 (256, then 44).
  CHECK(w.runs == 4);
}

TEST_CASE("decoded files: continuity, checksums and growth are checked in chain order",
          "[applier]") {
  ModelDb db(512, EncodeOptions::native());
  const Bytes snap = db.commit({{1, ltxtest::random_page(512, 1)}}, 1);
  {  // a file of another history: refused, the database's state as it was
    ModelDb other(512, EncodeOptions::native());
    other.commit({{1, ltxtest::random_page(512, 7)}}, 1);
    const Bytes foreign = other.commit({{1, ltxtest::random_page(512, 8)}}, 1);
    MemoryPageWriter w, scratch;
    ChainApplier a(w);
    REQUIRE_LTX_ERROR(a.apply(decoded(foreign, scratch), "foreign"), LtxErrorKind::kTxidGap);
    a.apply(decoded(snap, w), "snap");
    const auto state = a.state();
    REQUIRE_LTX_ERROR(a.apply(decoded(foreign, scratch), "foreign"),
                      LtxErrorKind::kPreApplyMismatch);
    REQUIRE(a.state().txid == state.txid);
    REQUIRE(a.state().checksum == state.checksum);
  }
  {  // a wrong post-apply checksum
    const Bytes next = ltxtest::encode(ltxtest::make_header(512, 1, 2, 2, db.checksum()),
                                       {{1, ltxtest::random_page(512, 2)}}, EncodeOptions::native(),
                                       kChecksumFlag | 77);
    MemoryPageWriter w;
    ChainApplier a(w);
    a.apply(decoded(snap, w), "snap");
    REQUIRE_LTX_ERROR(a.apply(decoded(next, w), "next"), LtxErrorKind::kPostApplyMismatch);
  }
  {  // growth without the new pages
    const Bytes grow =
        ltxtest::encode(ltxtest::make_header(512, 3, 2, 2), {{3, ltxtest::random_page(512, 3)}},
                        EncodeOptions::litestream());
    MemoryPageWriter w;
    ChainApplier a(w);
    a.apply(decoded(snap, w), "snap");
    REQUIRE_LTX_ERROR(a.apply(decoded(grow, w), "grow"), LtxErrorKind::kIncompleteGrowth);
  }
}
