#include <catch2/catch.hpp>

#include "base/byte_order.h"
#include "ltx/checksum.h"
#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/sink.h"
#include "ltx/source.h"
#include "test_support.h"

using namespace ltxvfs::ltx;
using ltxtest::Bytes;
using ltxtest::Page;
using ltxtest::RawFile;

namespace {

const EncodeOptions kVariants[] = {
    EncodeOptions::litestream(),
    {PageEncoding::kLz4Block, true, kDefaultZstdLevel, nullptr},
    EncodeOptions::native(),
};

// A small valid file: a 3-page snapshot of random 512-byte pages.
Bytes small_file(const EncodeOptions& opts) {
  std::vector<Page> pages;
  DatabaseChecksum c;
  for (std::uint32_t p = 1; p <= 3; ++p) {
    pages.push_back({p, ltxtest::random_page(512, p)});
    c.toggle(p, pages.back().data);
  }
  return ltxtest::encode(ltxtest::make_header(512, 3, 1, 1), pages, opts, c.value());
}

RawFile raw_with_header(std::uint32_t page_size, std::uint32_t commit, std::uint64_t min,
                        std::uint64_t max, std::uint32_t flags = kHeaderFlagNoChecksum) {
  RawFile raw;
  Header h = ltxtest::make_header(page_size, commit, min, max);
  h.flags = flags;
  raw.header = h.encode();
  return raw;
}

Bytes page(std::uint32_t seed, std::uint32_t size = 512) {
  return ltxtest::random_page(size, seed);
}

}  // namespace

TEST_CASE("the small test files decode cleanly", "[corruption]") {
  for (const auto& opts : kVariants)
    REQUIRE(ltxtest::decode_error(small_file(opts)) == std::nullopt);
}

TEST_CASE("truncation at every offset is reported as truncation", "[corruption]") {
  for (const auto& opts : kVariants) {
    const Bytes file = small_file(opts);
    for (std::size_t len = 0; len < file.size(); ++len) {
      INFO(to_string(opts.encoding) << ": file cut to " << len << " of " << file.size());
      REQUIRE(ltxtest::decode_error(std::span(file).first(len)) == LtxErrorKind::kTruncated);
    }
  }
}

TEST_CASE("every single bit flip is detected", "[corruption]") {
  for (const auto& opts : kVariants) {
    const Bytes file = small_file(opts);
    Bytes flipped = file;
    std::vector<std::size_t> undetected;
    for (std::size_t bit = 0; bit < file.size() * 8; ++bit) {
      flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      if (!ltxtest::decode_error(flipped)) undetected.push_back(bit);
      flipped[bit / 8] = file[bit / 8];
    }
    INFO(to_string(opts.encoding) << ", " << file.size() * 8 << " bits");
    CAPTURE(undetected);
    REQUIRE(undetected.empty());
  }
}

TEST_CASE("appended bytes are refused", "[corruption]") {
  Bytes file = small_file(EncodeOptions::native());
  file.push_back(0);
  REQUIRE(ltxtest::decode_error(file) == LtxErrorKind::kTrailingData);
}

TEST_CASE("header problems are reported by kind", "[corruption]") {
  const Bytes good = small_file(EncodeOptions::native());
  auto with = [&](std::size_t offset, std::uint32_t value) {
    Bytes b = good;
    ltxvfs::base::store_be32(b.data() + offset, value);
    return b;
  };
  REQUIRE(ltxtest::decode_error(with(0, 0x4c545832)) == LtxErrorKind::kBadMagic);  // "LTX2"
  REQUIRE(ltxtest::decode_error(Bytes{'S', 'Q', 'L', 'i', 't', 'e'}) == LtxErrorKind::kBadMagic);
  REQUIRE(ltxtest::decode_error(with(4, 0x4)) == LtxErrorKind::kBadFlags);
  REQUIRE(ltxtest::decode_error(with(8, 1000)) == LtxErrorKind::kBadPageSize);
  REQUIRE(ltxtest::decode_error(with(8, 131072)) == LtxErrorKind::kBadPageSize);
  REQUIRE(ltxtest::decode_error(with(20, 0)) == LtxErrorKind::kBadTxid);    // min TXID 0
  REQUIRE(ltxtest::decode_error(with(96, 1)) == LtxErrorKind::kBadHeader);  // reserved
  // A page size that is valid but not the one the pages were written with.
  REQUIRE(ltxtest::decode_error(with(8, 1024)).has_value());
}

TEST_CASE("descending and duplicate pages", "[corruption]") {
  RawFile raw = raw_with_header(512, 5, 2, 2);
  raw.add(3, page(3), PageEncoding::kLz4Block);
  raw.add(2, page(2), PageEncoding::kLz4Block);
  REQUIRE(ltxtest::decode_error(raw.build()) == LtxErrorKind::kBadPageOrder);
  raw.frames[1].pgno = 3;
  REQUIRE(ltxtest::decode_error(raw.build()) == LtxErrorKind::kBadPageOrder);
}

TEST_CASE("a stored lock page is refused", "[corruption]") {
  for (std::uint32_t size : {512u, 65536u}) {
    const std::uint32_t lock = lock_page(size);
    RawFile raw = raw_with_header(size, lock + 1, 2, 2);
    raw.add(lock, page(1, size), PageEncoding::kLz4Frame);
    REQUIRE(ltxtest::decode_error(raw.build()) == LtxErrorKind::kLockPage);
  }
}

TEST_CASE("a page beyond the commit is refused", "[corruption]") {
  RawFile raw = raw_with_header(512, 2, 2, 2);
  raw.add(3, page(3), PageEncoding::kLz4Frame);
  REQUIRE(ltxtest::decode_error(raw.build()) == LtxErrorKind::kPageBeyondCommit);
}

TEST_CASE("incomplete snapshots are refused", "[corruption]") {
  RawFile missing_middle = raw_with_header(512, 3, 1, 1);
  missing_middle.add(1, page(1), PageEncoding::kLz4Frame);
  missing_middle.add(3, page(3), PageEncoding::kLz4Frame);
  REQUIRE(ltxtest::decode_error(missing_middle.build()) == LtxErrorKind::kIncompleteSnapshot);
  RawFile missing_last = raw_with_header(512, 3, 1, 1);
  missing_last.add(1, page(1), PageEncoding::kLz4Frame);
  missing_last.add(2, page(2), PageEncoding::kLz4Frame);
  REQUIRE(ltxtest::decode_error(missing_last.build()) == LtxErrorKind::kIncompleteSnapshot);
  RawFile missing_first = raw_with_header(512, 2, 1, 1);
  missing_first.add(2, page(2), PageEncoding::kLz4Frame);
  REQUIRE(ltxtest::decode_error(missing_first.build()) == LtxErrorKind::kIncompleteSnapshot);
  // The same pages in an incremental file are fine.
  RawFile incremental = raw_with_header(512, 3, 2, 2);
  incremental.add(1, page(1), PageEncoding::kLz4Frame);
  incremental.add(3, page(3), PageEncoding::kLz4Frame);
  REQUIRE(ltxtest::decode_error(incremental.build()) == std::nullopt);
}

TEST_CASE("a page that decompresses to the wrong length is refused", "[corruption]") {
  for (auto e : {PageEncoding::kLz4Frame, PageEncoding::kLz4Block, PageEncoding::kZstd}) {
    for (std::uint32_t wrong : {511u, 513u}) {
      RawFile raw =
          raw_with_header(512, 1, 2, 2, kHeaderFlagNoChecksum | kHeaderFlagNativeExtensions);
      raw.add(1, page(1, wrong), e);  // the file checksum is right for those bytes
      INFO(to_string(e) << ", " << wrong << " bytes");
      REQUIRE(ltxtest::decode_error(raw.build()) == LtxErrorKind::kDecompress);
    }
  }
}

TEST_CASE("unknown page encodings and zstd without the native header bit", "[corruption]") {
  RawFile raw = raw_with_header(512, 1, 2, 2);
  raw.add(1, page(1), PageEncoding::kZstd);
  REQUIRE(ltxtest::decode_error(raw.build()) == LtxErrorKind::kUnsupportedEncoding);
  raw.frames[0].flags = 0x0002;
  REQUIRE(ltxtest::decode_error(raw.build()) == LtxErrorKind::kUnsupportedEncoding);
  RawFile native =
      raw_with_header(512, 1, 2, 2, kHeaderFlagNoChecksum | kHeaderFlagNativeExtensions);
  native.add(1, page(1), PageEncoding::kZstd);
  REQUIRE(ltxtest::decode_error(native.build()) == std::nullopt);
  // Page number 0 with non-zero flags is neither a page nor the end marker.
  native.frames[0].pgno = 0;
  REQUIRE(ltxtest::decode_error(native.build()) == LtxErrorKind::kBadPageHeader);
}

TEST_CASE("an index that disagrees with the frames is refused", "[corruption]") {
  auto build = [](auto mutate) {
    RawFile raw = raw_with_header(512, 5, 2, 2);
    raw.add(2, page(2), PageEncoding::kLz4Block);
    raw.add(4, page(4), PageEncoding::kLz4Block);
    const std::uint64_t s0 = 6 + raw.frames[0].payload.size();
    const std::uint64_t s1 = 6 + raw.frames[1].payload.size();
    std::vector<PageIndexEntry> idx = {{2, 100, s0}, {4, 100 + s0, s1}};
    mutate(idx);
    raw.index = idx;
    return raw.build();
  };
  REQUIRE(ltxtest::decode_error(build([](auto&) {})) == std::nullopt);
  REQUIRE(ltxtest::decode_error(build([](auto& i) { i[1].offset += 1; })) ==
          LtxErrorKind::kIndexMismatch);
  REQUIRE(ltxtest::decode_error(build([](auto& i) { i[0].size -= 1; })) ==
          LtxErrorKind::kIndexMismatch);
  REQUIRE(ltxtest::decode_error(build([](auto& i) { i[1].pgno = 3; })) ==
          LtxErrorKind::kIndexMismatch);
  REQUIRE(ltxtest::decode_error(build([](auto& i) { i.pop_back(); })) ==
          LtxErrorKind::kIndexMismatch);
  REQUIRE(ltxtest::decode_error(build([](auto& i) {
            i.push_back({5, 9999, 10});
          })) == LtxErrorKind::kIndexMismatch);
}

TEST_CASE("trailer and checksum problems", "[corruption]") {
  // Wrong stored file checksum, with a precise message.
  RawFile raw = raw_with_header(512, 1, 2, 2);
  raw.add(1, page(1), PageEncoding::kLz4Frame);
  raw.file_checksum = kChecksumFlag | 0x1234;
  std::string msg;
  const Bytes bad = raw.build();
  MemorySource src(bad);
  LTX_ERROR_MESSAGE(verify_file(src, "0000000000000005-0000000000000005.ltx"), msg);
  REQUIRE_THAT(msg, Catch::StartsWith("0000000000000005-0000000000000005.ltx: file checksum "
                                      "mismatch: stored 0x8000000000001234, computed 0x"));
  REQUIRE(ltxtest::decode_error(bad) == LtxErrorKind::kChecksumMismatch);

  // A post-apply checksum in a NoChecksum file.
  raw.file_checksum.reset();
  raw.post_apply = kChecksumFlag | 1;
  REQUIRE(ltxtest::decode_error(raw.build()) == LtxErrorKind::kBadTrailer);

  // A checksummed snapshot whose post-apply checksum is not that of its pages.
  RawFile snap = raw_with_header(512, 1, 1, 1, 0);
  snap.add(1, page(1), PageEncoding::kLz4Frame);
  snap.post_apply = page_checksum(1, page(1));
  REQUIRE(ltxtest::decode_error(snap.build()) == std::nullopt);
  snap.post_apply ^= 1;
  REQUIRE(ltxtest::decode_error(snap.build()) == LtxErrorKind::kPostApplyMismatch);
}

TEST_CASE("the legacy v1 file is refused as legacy", "[corruption]") {
  const std::string path = LTXVFS_TEST_DATA_DIR "/000000000000000d-000000000000000d.ltx";
  const Bytes file = read_file(path);
  MemorySource src(file);
  std::string msg;
  LTX_ERROR_MESSAGE(Decoder(src, "000000000000000d-000000000000000d.ltx"), msg);
  REQUIRE_THAT(msg, Catch::Contains("legacy LTX v1 layout") &&
                        Catch::Contains("000000000000000d-000000000000000d.ltx") &&
                        Catch::Contains("supports the current layout only"));
  REQUIRE(ltxtest::decode_error(file) == LtxErrorKind::kLegacyV1);
  // Damaged, it is no longer recognisably v1 (its v1 checksum fails) and is refused otherwise.
  Bytes damaged = file;
  damaged[5000] ^= 1;
  const auto kind = ltxtest::decode_error(damaged);
  REQUIRE(kind.has_value());
  REQUIRE(kind != LtxErrorKind::kLegacyV1);
}

TEST_CASE("the encoder refuses what the format forbids", "[corruption]") {
  VectorSink sink;
  Encoder enc(sink, ltxtest::make_header(512, 10, 2, 2, kChecksumFlag | 1), EncodeOptions::native(),
              "out.ltx");
  REQUIRE_LTX_ERROR(enc.add_page(1, page(1, 511)), LtxErrorKind::kBadPageSize);
  enc.add_page(5, page(5));
  REQUIRE_LTX_ERROR(enc.add_page(5, page(5)), LtxErrorKind::kBadPageOrder);
  REQUIRE_LTX_ERROR(enc.add_page(4, page(4)), LtxErrorKind::kBadPageOrder);
  REQUIRE_LTX_ERROR(enc.add_page(11, page(11)), LtxErrorKind::kPageBeyondCommit);
  REQUIRE_LTX_ERROR(enc.finish(0), LtxErrorKind::kInvalidArgument);  // checksums on: required

  VectorSink lock_sink;
  Encoder lock_enc(lock_sink, ltxtest::make_header(65536, 16386, 2, 2, kChecksumFlag | 1),
                   EncodeOptions::native());
  REQUIRE_LTX_ERROR(lock_enc.add_page(16385, page(1, 65536)), LtxErrorKind::kLockPage);

  VectorSink snap_sink;
  Encoder snap(snap_sink, ltxtest::make_header(512, 3, 1, 1), EncodeOptions::native());
  snap.add_page(1, page(1));
  snap.add_page(3, page(3));
  REQUIRE_LTX_ERROR(snap.finish(kChecksumFlag), LtxErrorKind::kIncompleteSnapshot);

  VectorSink snap2_sink;
  Encoder snap2(snap2_sink, ltxtest::make_header(512, 1, 1, 1), EncodeOptions::native());
  snap2.add_page(1, page(1));
  REQUIRE_LTX_ERROR(snap2.finish(kChecksumFlag | 42), LtxErrorKind::kPostApplyMismatch);

  VectorSink bad_header_sink;
  REQUIRE_LTX_ERROR(Encoder(bad_header_sink, ltxtest::make_header(500, 1, 1, 1)),
                    LtxErrorKind::kBadPageSize);
  REQUIRE_LTX_ERROR(Encoder(bad_header_sink, ltxtest::make_header(512, 1, 2, 2, 0)),
                    LtxErrorKind::kBadHeader);  // checksums on: pre-apply required

  VectorSink done_sink;
  Encoder done(done_sink, ltxtest::make_header(512, 1, 2, 2), EncodeOptions::litestream());
  done.finish();
  REQUIRE_LTX_ERROR(done.add_page(1, page(1)), LtxErrorKind::kInvalidArgument);
  REQUIRE_LTX_ERROR(done.finish(), LtxErrorKind::kInvalidArgument);
}
