#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "base/byte_order.h"
#include "ltx/checksum.h"
#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/page_frame.h"
#include "ltx/sink.h"
#include "ltx/source.h"
#include "test_support.h"

using namespace ltxvfs::ltx;
using ltxtest::Bytes;
using ltxtest::Page;

namespace {

struct Case {
  const char* name;
  EncodeOptions options;
};

const Case kCases[] = {
    {"litestream (LZ4 frame, no checksums)", EncodeOptions::litestream()},
    {"LZ4 block, checksums", {PageEncoding::kLz4Block, true, kDefaultZstdLevel, nullptr}},
    {"LZ4 frame, checksums", {PageEncoding::kLz4Frame, true, kDefaultZstdLevel, nullptr}},
    {"native (zstd, checksums)", EncodeOptions::native()},
    {"zstd, no checksums", {PageEncoding::kZstd, false, kDefaultZstdLevel, nullptr}},
};

std::uint64_t checksum_of(const std::vector<Page>& pages) {
  DatabaseChecksum c;
  for (const auto& p : pages) c.toggle(p.pgno, p.data);
  return c.value();
}

}  // namespace

TEST_CASE("round trip: every encoding x page size, snapshots and incrementals", "[roundtrip]") {
  for (const auto& c : kCases) {
    for (std::uint32_t page_size : {512u, 4096u, 65536u}) {
      for (bool compressible : {false, true}) {
        INFO(c.name << ", page size " << page_size << (compressible ? ", compressible" : ""));
        auto make = [&](std::uint32_t pgno) {
          return compressible ? ltxtest::compressible_page(page_size, pgno * 31 + page_size)
                              : ltxtest::random_page(page_size, pgno * 31 + page_size);
        };
        // Snapshot of 5 pages.
        std::vector<Page> snap;
        for (std::uint32_t p = 1; p <= 5; ++p) snap.push_back({p, make(p)});
        Header sh = ltxtest::make_header(page_size, 5, 1, 1);
        sh.node_id = 77;
        const std::uint64_t post = checksum_of(snap);
        const Bytes file = ltxtest::encode(sh, snap, c.options, post);

        MemorySource src(file);
        Decoder dec(src, "snap.ltx");
        REQUIRE(dec.header().flags == c.options.header_flags());
        Header expected_header = sh;
        expected_header.flags = c.options.header_flags();
        REQUIRE(dec.header() == expected_header);
        std::vector<Page> got;
        while (auto p = dec.next()) got.push_back({p->pgno, Bytes(p->data.begin(), p->data.end())});
        REQUIRE(dec.done());
        REQUIRE(got.size() == snap.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
          REQUIRE(got[i].pgno == snap[i].pgno);
          REQUIRE(got[i].data == snap[i].data);
        }
        REQUIRE(dec.trailer().post_apply_checksum == (c.options.checksums ? post : 0));
        REQUIRE(dec.index().entries.size() == 5);
        REQUIRE(dec.index().entries.front().offset == kHeaderSize);
        // The trailer's file checksum is the last 8 bytes.
        REQUIRE(ltxvfs::base::load_be64(file.data() + file.size() - 8) ==
                dec.trailer().file_checksum);

        // Incremental with sparse pages.
        std::vector<Page> inc = {{2, make(102)}, {7, make(107)}, {9, make(109)}};
        const Header ih = ltxtest::make_header(page_size, 9, 2, 4, post);
        const Bytes ifile = ltxtest::encode(ih, inc, c.options, kChecksumFlag | 12345);
        const auto decoded = ltxtest::decode_pages(ifile);
        REQUIRE(decoded.size() == inc.size());
        for (std::size_t i = 0; i < inc.size(); ++i) REQUIRE(decoded[i].data == inc[i].data);
        MemorySource isrc(ifile);
        const auto summary = verify_file(isrc);
        REQUIRE(summary.header.pre_apply_checksum == (c.options.checksums ? post : 0));
        REQUIRE(summary.header.commit == 9);
        REQUIRE(summary.header.max_txid == 4);
      }
    }
  }
}

TEST_CASE("encoder output is byte-identical to an independent writer of the spec", "[roundtrip]") {
  for (const auto& c : kCases) {
    INFO(c.name);
    std::vector<Page> pages = {{1, ltxtest::compressible_page(1024, 1)},
                               {2, ltxtest::random_page(1024, 2)},
                               {3, ltxtest::compressible_page(1024, 3)}};
    Header h = ltxtest::make_header(1024, 3, 1, 1);
    h.wal_offset = 32;
    h.wal_size = 3 * (24 + 1024);
    h.wal_salt1 = 0xdeadbeef;
    h.wal_salt2 = 0xcafef00d;
    const std::uint64_t post = checksum_of(pages);
    const Bytes encoded = ltxtest::encode(h, pages, c.options, post);

    ltxtest::RawFile raw;
    h.flags = c.options.header_flags();
    raw.header = h.encode();
    for (const auto& p : pages) raw.add(p.pgno, p.data, c.options.encoding);
    raw.post_apply = c.options.checksums ? post : 0;
    REQUIRE(encoded == raw.build());
  }
}

TEST_CASE("Litestream preset: flags exactly 0x2, zero pre/post-apply, page flags 0",
          "[roundtrip]") {
  const auto opts = EncodeOptions::litestream();
  REQUIRE(opts.header_flags() == 0x2);
  // Checksums passed in anyway are not written.
  const Bytes file =
      ltxtest::encode(ltxtest::make_header(4096, 3, 2, 2, kChecksumFlag | 5),
                      {{1, ltxtest::random_page(4096, 1)}, {3, ltxtest::random_page(4096, 3)}},
                      opts, kChecksumFlag | 6);
  REQUIRE(ltxvfs::base::load_be32(file.data() + 4) == 0x2);
  REQUIRE(ltxvfs::base::load_be64(file.data() + 40) == 0);  // pre-apply
  MemorySource src(file);
  const auto summary = verify_file(src);
  REQUIRE(summary.trailer.post_apply_checksum == 0);
  REQUIRE(ltxvfs::base::load_be64(file.data() + file.size() - 16) == 0);  // post-apply as stored
  for (const auto& e : summary.index.entries) {
    REQUIRE(ltxvfs::base::load_be16(file.data() + e.offset + 4) == 0x0000);
  }
}

TEST_CASE("native preset: zstd pages, checksums, the native-extensions header bit", "[roundtrip]") {
  const auto opts = EncodeOptions::native();
  REQUIRE(opts.header_flags() == kHeaderFlagNativeExtensions);
  REQUIRE((opts.header_flags() & ~kKnownHeaderFlags) == 0);
  // Litestream accepts only flags == 0x2; the native bit guarantees it refuses the file.
  REQUIRE(opts.header_flags() != 0x2);
  const Bytes page = ltxtest::random_page(4096, 1);
  const Bytes file = ltxtest::encode(ltxtest::make_header(4096, 1, 1, 1), {{1, page}}, opts,
                                     page_checksum(1, page));
  REQUIRE(ltxvfs::base::load_be32(file.data() + 4) == kHeaderFlagNativeExtensions);
  REQUIRE(ltxvfs::base::load_be16(file.data() + 100 + 4) == 0x0100);
}

TEST_CASE("fd sink and fd source round trip through a real file", "[roundtrip]") {
  char path[] = "/tmp/ltx_test_XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  const std::vector<Page> pages = {{1, ltxtest::random_page(4096, 1)},
                                   {2, ltxtest::compressible_page(4096, 2)}};
  {
    FdSink sink(fd, path);
    Encoder enc(sink, ltxtest::make_header(4096, 2, 1, 1), EncodeOptions::native(), path);
    for (const auto& p : pages) enc.add_page(p.pgno, p.data);
    enc.finish(checksum_of(pages));
    REQUIRE(enc.bytes_written() == static_cast<std::uint64_t>(::lseek(fd, 0, SEEK_CUR)));
  }
  FdSource src(fd, path);
  std::vector<Page> got;
  for_each_page(src, path, [&](std::uint32_t pgno, std::span<const std::uint8_t> data) {
    got.push_back({pgno, Bytes(data.begin(), data.end())});
  });
  REQUIRE(got.size() == 2);
  REQUIRE(got[1].data == pages[1].data);
  REQUIRE(read_file(path).size() == src.size());
  ::close(fd);
  ::unlink(path);
  REQUIRE_LTX_ERROR(read_file(path), LtxErrorKind::kIo);
}

TEST_CASE("empty files: a zero-page snapshot and an incremental without pages", "[roundtrip]") {
  // commit 0: an empty database, whose checksum is just bit 63.
  const Bytes empty = ltxtest::encode(ltxtest::make_header(4096, 0, 1, 1), {},
                                      EncodeOptions::native(), kChecksumFlag);
  MemorySource src(empty);
  REQUIRE(verify_file(src).index.entries.empty());
  const Bytes none = ltxtest::encode(ltxtest::make_header(4096, 10, 3, 3, kChecksumFlag | 1), {},
                                     EncodeOptions::native(), kChecksumFlag | 1);
  REQUIRE(ltxtest::decode_pages(none).empty());
}

TEST_CASE("pages on both sides of the lock page", "[roundtrip]") {
  for (std::uint32_t page_size : {512u, 4096u, 65536u}) {
    const std::uint32_t lock = lock_page(page_size);
    const std::vector<Page> pages = {{lock - 1, ltxtest::random_page(page_size, 1)},
                                     {lock + 1, ltxtest::random_page(page_size, 2)}};
    const Bytes file =
        ltxtest::encode(ltxtest::make_header(page_size, lock + 1, 9, 9, kChecksumFlag | 1), pages,
                        EncodeOptions::native(), kChecksumFlag | 2);
    const auto got = ltxtest::decode_pages(file);
    REQUIRE(got.size() == 2);
    REQUIRE(got[1].pgno == lock + 1);
  }
}

// The encoder writes the page index in 64 KiB blocks (never one reallocated vector): a snapshot
// whose index spans several blocks must decode to the same pages, with a verified index.
TEST_CASE("round trip: a snapshot whose page index spans several blocks", "[roundtrip]") {
  const std::uint32_t page_size = 512, commit = 30000;  // ~5-9 index bytes a page: > 3 blocks
  std::vector<Page> pages;
  for (std::uint32_t p = 1; p <= commit; ++p) {
    if (p == lock_page(page_size)) continue;
    pages.push_back({p, ltxtest::compressible_page(page_size, p)});
  }
  const Header h = ltxtest::make_header(page_size, commit, 1, 1);
  const Bytes file = ltxtest::encode(h, pages, EncodeOptions::native(), checksum_of(pages));
  MemorySource source(file);
  Decoder d(source, "big snapshot");
  std::size_t i = 0;
  while (auto page = d.next()) {
    REQUIRE(i < pages.size());
    REQUIRE(page->pgno == pages[i].pgno);
    REQUIRE(Bytes(page->data.begin(), page->data.end()) == pages[i].data);
    ++i;
  }
  CHECK(i == pages.size());
  CHECK(d.index().entries.size() == pages.size());
  CHECK(d.index().find(commit)->size > 0);
}
