#include <catch2/catch.hpp>

#include <variant>

#include "ltx/decoder.h"
#include "ltx/page_frame.h"
#include "ltx/page_index.h"
#include "ltx/source.h"
#include "ltx/varint.h"
#include "test_support.h"

using namespace ltxvfs::ltx;
using ltxtest::Bytes;

TEST_CASE("varints round-trip and reject malformed input", "[index]") {
  for (std::uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 300ULL, 16383ULL, 16384ULL, 1ULL << 32,
                          (1ULL << 63) - 1, 1ULL << 63, ~0ULL}) {
    Bytes b;
    append_uvarint(b, v);
    const auto r = read_uvarint(b);
    REQUIRE(r.status == VarintStatus::kOk);
    REQUIRE(r.value == v);
    REQUIRE(r.length == b.size());
    if (!b.empty())
      REQUIRE(read_uvarint(std::span(b).first(b.size() - 1)).status == VarintStatus::kTruncated);
  }
  Bytes b;
  append_uvarint(b, 300);
  REQUIRE(b == Bytes{0xac, 0x02});
  REQUIRE(read_uvarint(Bytes{0x80, 0x00}).status == VarintStatus::kNonCanonical);
  REQUIRE(read_uvarint(Bytes(10, 0xff)).status == VarintStatus::kOverflow);
  Bytes eleven(10, 0x80);
  eleven.push_back(0x01);
  REQUIRE(read_uvarint(eleven).status == VarintStatus::kOverflow);
  Bytes max_ok(9, 0xff);
  max_ok.push_back(0x01);
  REQUIRE(read_uvarint(max_ok).value == ~0ULL);
  Bytes too_big(9, 0xff);
  too_big.push_back(0x02);
  REQUIRE(read_uvarint(too_big).status == VarintStatus::kOverflow);
}

TEST_CASE("page index encoding", "[index]") {
  const std::vector<PageIndexEntry> entries = {{1, 100, 50}, {3, 150, 300}};
  Bytes b;
  for (const auto& e : entries) append_page_index_entry(b, e);
  finish_page_index(b, 0);
  // 1,100,50 | 3,150(0x96 0x01),300(0xac 0x02) | 0 | u64 length 9
  const Bytes expected = {1, 100, 50, 3, 0x96, 0x01, 0xac, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 9};
  REQUIRE(b == expected);
  // Split in blocks (as the encoder writes it): the length counts the blocks before the last.
  Bytes first, last;
  append_page_index_entry(first, entries[0]);
  append_page_index_entry(last, entries[1]);
  finish_page_index(last, first.size());
  first.insert(first.end(), last.begin(), last.end());
  REQUIRE(first == expected);
  PageIndex idx{entries};
  REQUIRE(idx.find(3)->offset == 150);
  REQUIRE(idx.find(2) == nullptr);
  REQUIRE(idx.find(4) == nullptr);
}

namespace {

// Simulates a remote reader: one suffix GET of `first_fetch` bytes, another if told to.
FileTail fetch_tail(const Bytes& file, std::size_t first_fetch, int& requests) {
  std::size_t n = std::min(first_fetch, file.size());
  requests = 0;
  for (;;) {
    ++requests;
    auto r = parse_file_tail(std::span(file).last(n), file.size(), "remote.ltx");
    if (auto* tail = std::get_if<FileTail>(&r)) return *tail;
    const auto need = std::get<NeedTailBytes>(r).bytes;
    REQUIRE(need > n);
    REQUIRE(need <= file.size());
    n = need;
  }
}

}  // namespace

TEST_CASE("random access: tail + one frame range equals the decoded page", "[index]") {
  for (auto opts : {EncodeOptions::native(), EncodeOptions::litestream(),
                    EncodeOptions{PageEncoding::kLz4Block, true, 3, nullptr}}) {
    // 14000 small pages give an index longer than the default 64 KiB tail fetch.
    std::vector<ltxtest::Page> pages;
    for (std::uint32_t pgno = 2; pgno <= 28000; pgno += 2) {
      pages.push_back({pgno, ltxtest::compressible_page(512, pgno)});
    }
    const Bytes file = ltxtest::encode(ltxtest::make_header(512, 28000, 5, 5, kChecksumFlag | 1),
                                       pages, opts, kChecksumFlag | 2);
    int requests = 0;
    const FileTail tail = fetch_tail(file, kDefaultTailFetch, requests);
    INFO(to_string(opts.encoding));
    REQUIRE(requests == 2);  // the index did not fit in the first fetch
    REQUIRE(tail.index.entries.size() == pages.size());
    REQUIRE(tail.trailer.post_apply_checksum == (opts.checksums ? kChecksumFlag | 2 : 0));

    // The tail parse agrees with the full decoder.
    MemorySource src(file);
    const FileSummary summary = verify_file(src);
    REQUIRE(summary.index.entries == tail.index.entries);
    REQUIRE(summary.trailer == tail.trailer);

    PageDecompressor d;
    Bytes page(512);
    for (std::size_t i = 0; i < pages.size(); i += 97) {
      const PageIndexEntry* e = tail.index.find(pages[i].pgno);
      REQUIRE(e != nullptr);
      decode_frame(std::span(file).subspan(e->offset, e->size), pages[i].pgno, page, d,
                   "remote.ltx");
      REQUIRE(page == pages[i].data);
    }
    REQUIRE(tail.index.find(3) == nullptr);
  }
}

TEST_CASE("a small file's tail fits the first fetch", "[index]") {
  const Bytes file =
      ltxtest::encode(ltxtest::make_header(4096, 1, 1, 1), {{1, ltxtest::random_page(4096, 1)}},
                      EncodeOptions::litestream());
  int requests = 0;
  const FileTail tail = fetch_tail(file, kDefaultTailFetch, requests);
  REQUIRE(requests == 1);
  REQUIRE(tail.index.entries.size() == 1);
  REQUIRE(tail.index.entries[0].offset == 100);
  // Even a 24-byte first fetch converges in one more request.
  fetch_tail(file, kMinTailSize, requests);
  REQUIRE(requests == 2);
  // Too short to hold the index length at all.
  auto r = parse_file_tail(std::span(file).last(10), file.size());
  REQUIRE(std::get<NeedTailBytes>(r).bytes == kMinTailSize);
}

TEST_CASE("tail parsing rejects inconsistent indexes", "[index]") {
  const Bytes page = ltxtest::random_page(512, 1);
  auto build = [&](auto mutate) {
    ltxtest::RawFile raw;
    raw.header = ltxtest::make_header(512, 4, 2, 2).encode();
    raw.header[7] = 2;  // NoChecksum
    raw.add(1, page, PageEncoding::kLz4Block);
    raw.add(3, page, PageEncoding::kLz4Block);
    std::vector<PageIndexEntry> idx = {
        {1, 100, raw.frames[0].payload.size() + 6},
        {3, 100 + raw.frames[0].payload.size() + 6, raw.frames[1].payload.size() + 6}};
    mutate(idx);
    raw.index = idx;
    return raw.build();
  };
  auto tail_error = [](const Bytes& file) { return parse_file_tail(file, file.size()); };

  REQUIRE_NOTHROW(tail_error(build([](auto&) {})));
  REQUIRE_LTX_ERROR(tail_error(build([](auto& i) { i[0].offset = 101; })), LtxErrorKind::kBadIndex);
  REQUIRE_LTX_ERROR(tail_error(build([](auto& i) { i[1].size += 1; })), LtxErrorKind::kBadIndex);
  REQUIRE_LTX_ERROR(tail_error(build([](auto& i) { i[1].pgno = 1; })), LtxErrorKind::kBadIndex);
  REQUIRE_LTX_ERROR(tail_error(build([](auto& i) { i.pop_back(); })), LtxErrorKind::kBadIndex);

  Bytes file = build([](auto&) {});
  Bytes bad_length = file;
  bad_length[bad_length.size() - 17] += 1;  // low byte of the u64 index length
  REQUIRE_LTX_ERROR(tail_error(bad_length), LtxErrorKind::kBadIndex);
  Bytes zero_length = file;
  for (std::size_t i = 24; i > 16; --i) zero_length[zero_length.size() - i] = 0;
  REQUIRE_LTX_ERROR(tail_error(zero_length), LtxErrorKind::kBadIndex);
  REQUIRE_LTX_ERROR(parse_file_tail(std::span(file).first(50), 50), LtxErrorKind::kTruncated);
}
