// The directory of a page index (ltx/index_directory.h): its parts parse to exactly the index,
// and a directory that does not fit the file is refused by a part's checks, never read as a page
// the file does not hold.
#include <catch2/catch.hpp>
#include <variant>

#include "ltx/index_directory.h"
#include "ltx/page_frame.h"
#include "test_support.h"

using namespace ltxvfs::ltx;
using Bytes = std::vector<std::uint8_t>;

namespace {

struct Indexed {
  Bytes file;
  FileTail tail;
  IndexArea area;
};

// A native file of every other page 2..28000: an index of ~100 KiB.
Indexed indexed_file() {
  std::vector<ltxtest::Page> pages;
  for (std::uint32_t pgno = 2; pgno <= 28000; pgno += 2) {
    pages.push_back({pgno, ltxtest::compressible_page(512, pgno)});
  }
  Indexed out;
  out.file = ltxtest::encode(ltxtest::make_header(512, 28000, 5, 5, kChecksumFlag | 1), pages,
                             EncodeOptions::native(), kChecksumFlag | 2);
  out.tail = std::get<FileTail>(parse_file_tail(out.file, out.file.size()));
  const std::uint64_t tail_bytes =
      index_tail_bytes(std::span(out.file).last(kMinTailSize), out.file.size());
  out.area = index_area(out.file.size(), tail_bytes);
  return out;
}

std::vector<PageIndexEntry> part_of(const Indexed& f, const std::vector<IndexMark>& marks,
                                    std::size_t part) {
  const IndexPartRange r = index_part_range(marks, f.area, part);
  return parse_index_part(std::span(f.file).subspan(r.start, r.read_end - r.start), marks, f.area,
                          part, "x.ltx");
}

}  // namespace

TEST_CASE("index directory: its parts parse to exactly the file's index", "[index]") {
  const Indexed f = indexed_file();
  REQUIRE(f.area.length > 64 * 1024);
  for (std::uint64_t every : {1024u, 8192u, 64u * 1024u, 1u << 30}) {
    INFO("a mark every " << every << " bytes");
    const std::vector<IndexMark> marks = index_directory(f.tail.index, every);
    REQUIRE(directory_fits(marks, f.area));
    CHECK(marks.size() <= f.area.length / every + 1);
    CHECK(marks.size() >= f.area.length / (every + 30));  // an entry is 30 bytes at most
    std::vector<PageIndexEntry> all;
    for (std::size_t i = 0; i < marks.size(); ++i) {
      const auto part = part_of(f, marks, i);
      all.insert(all.end(), part.begin(), part.end());
    }
    CHECK(all == f.tail.index.entries);
    // Every page finds the part that holds it; a page below the first mark, the first part.
    CHECK(index_part_of(marks, 1) == 0);
    for (const auto& e : f.tail.index.entries) {
      const std::size_t at = index_part_of(marks, e.pgno);
      REQUIRE(at < marks.size());
      REQUIRE(marks[at].pgno <= e.pgno);
      if (at + 1 < marks.size()) REQUIRE(e.pgno < marks[at + 1].pgno);
    }
  }
}

TEST_CASE("index directory: marks that do not fit the file are refused", "[index]") {
  const Indexed f = indexed_file();
  const std::vector<IndexMark> good = index_directory(f.tail.index, 8192);
  REQUIRE(good.size() > 4);
  const std::size_t k = 2;  // a mark in the middle
  SECTION("a mark between two entries' bytes") {
    auto bad = good;
    bad[k].index_offset += 1;
    REQUIRE(directory_fits(bad, f.area));
    REQUIRE_LTX_ERROR(part_of(f, bad, k), LtxErrorKind::kBadIndex);
    REQUIRE_LTX_ERROR(part_of(f, bad, k - 1), LtxErrorKind::kBadIndex);
  }
  SECTION("a mark naming another page at the right bytes") {
    auto bad = good;
    bad[k].pgno -= 1;
    REQUIRE_LTX_ERROR(part_of(f, bad, k), LtxErrorKind::kBadIndex);
    REQUIRE_LTX_ERROR(part_of(f, bad, k - 1), LtxErrorKind::kBadIndex);
  }
  SECTION("a mark whose page is too high: the part before it fails, not a page gone missing") {
    // Pages from the true mark's up to the false one would map to part k - 1, which does not
    // hold them; only the entry after that part shows the mark is wrong.
    auto bad = good;
    bad[k].pgno += 2;
    REQUIRE(bad[k].pgno < bad[k + 1].pgno);
    REQUIRE(directory_fits(bad, f.area));
    REQUIRE_LTX_ERROR(part_of(f, bad, k - 1), LtxErrorKind::kBadIndex);
  }
  SECTION("a mark's frame offset that the frames before it do not reach") {
    auto bad = good;
    bad[k].frame_offset += 7;
    REQUIRE_LTX_ERROR(part_of(f, bad, k), LtxErrorKind::kBadIndex);
    REQUIRE_LTX_ERROR(part_of(f, bad, k - 1), LtxErrorKind::kBadIndex);
  }
  SECTION("a directory missing a mark reads a longer part, still exactly") {
    auto fewer = good;
    fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(k));
    const auto part = part_of(f, fewer, k - 1);
    CHECK(part.size() == part_of(f, good, k - 1).size() + part_of(f, good, k).size());
  }
  SECTION("a mark naming a page the file does not hold") {
    const std::vector<IndexMark> shifted = {
        {2, 0, kHeaderSize}, {good[1].pgno + 2, good[1].index_offset, good[1].frame_offset}};
    REQUIRE_LTX_ERROR(part_of(f, shifted, 1), LtxErrorKind::kBadIndex);
  }
  SECTION("shapes no index has") {
    CHECK_FALSE(directory_fits({}, f.area));
    auto unordered = good;
    std::swap(unordered[1], unordered[2]);
    CHECK_FALSE(directory_fits(unordered, f.area));
    auto late_start = good;
    late_start[0].frame_offset += 1;
    CHECK_FALSE(directory_fits(late_start, f.area));
    auto past_end = good;
    past_end.back().index_offset = f.area.length;
    CHECK_FALSE(directory_fits(past_end, f.area));
  }
}
