// Where the wal-index keeps each frame's page number (wal_index_pages.h): against synthetic
// regions, and against the -shm file of a real SQLite database whose WAL spans three regions.
#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "base/byte_order.h"
#include "base/posix_file.h"
#include "tests/vfs/sqlite_support.h"
#include "vfs/writer/wal_format.h"
#include "vfs/writer/wal_index_pages.h"

using namespace ltxvfs::writer;

namespace {

// Regions as SQLite lays them out: frame f's page number at the slot wal.c's walHashGet gives.
struct FakeRegions {
  std::vector<std::vector<uint32_t>> words;
  std::vector<const void*> bases;

  explicit FakeRegions(size_t n) : words(n, std::vector<uint32_t>(kWalIndexRegionBytes / 4, 0)) {
    for (auto& w : words) bases.push_back(w.data());
  }
  void set(uint32_t frame, uint32_t pgno) {
    if (frame <= kWalIndexRegion0Frames) {
      words[0][kWalIndexHeaderWords + frame - 1] = pgno;
    } else {
      const uint32_t k = frame - kWalIndexRegion0Frames - 1;
      words[1 + k / kWalIndexFramesPerRegion][k % kWalIndexFramesPerRegion] = pgno;
    }
  }
};

}  // namespace

TEST_CASE("wal-index pages: frames across region boundaries, unmapped regions, holes",
          "[builder]") {
  FakeRegions r(3);
  const uint32_t last = kWalIndexRegion0Frames + kWalIndexFramesPerRegion + 10;  // in region 2
  for (uint32_t f = 1; f <= last; ++f) r.set(f, f * 7 + 1);
  std::vector<uint32_t> out(last - 4000 + 1);
  REQUIRE(read_frame_pages(r.bases, 4000, out));
  for (uint32_t f = 4000; f <= last; ++f) CHECK(out[f - 4000] == f * 7 + 1);
  // Nothing to read.
  CHECK(read_frame_pages(r.bases, 5, std::span<uint32_t>()));

  // A region this connection never mapped: unknown.
  std::vector<const void*> missing = r.bases;
  missing[1] = nullptr;
  CHECK_FALSE(read_frame_pages(missing, 4000, out));
  std::vector<uint32_t> all(last);
  CHECK_FALSE(read_frame_pages(std::span(r.bases).first(2), 1, all));
  REQUIRE(read_frame_pages(r.bases, 1, all));
  // A frame the wal-index does not hold (page 0) is not a page number.
  r.set(kWalIndexRegion0Frames + 1, 0);
  CHECK_FALSE(read_frame_pages(r.bases, 1, all));
  CHECK(read_frame_pages(r.bases, 1, std::span(all).first(kWalIndexRegion0Frames)));
  CHECK_FALSE(read_frame_pages(r.bases, 0, std::span(all).first(3)));  // frames count from 1
}

TEST_CASE("wal-index pages: the -shm file of a real SQLite WAL names every frame's page",
          "[builder]") {
  using ltxvfs::testing::Db;
  const std::string dir = ltxvfs::testing::scratch_dir("wal-index-pages");
  const std::string path = dir + "/plain.db";
  Db db("file:" + path + "?vfs=unix");
  // 1 KiB pages and no checkpoint: about 12,000 frames, so the WAL spans regions 0, 1 and 2.
  db.exec("PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0");
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");
  for (int i = 0; i < 60; ++i) {
    db.exec(
        "INSERT INTO t(v) SELECT randomblob(300) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION "
        "ALL SELECT i + 1 FROM n WHERE i < 300) SELECT i FROM n)");
    db.exec("UPDATE t SET v = randomblob(290) WHERE k % 50 = " + std::to_string(i));
  }
  // The unix VFS maps the -shm file itself, so the file holds what SQLite's readers use.
  const auto shm = ltxvfs::base::read_file(path + "-shm");
  const auto wal = ltxvfs::base::read_file(path + "-wal");
  REQUIRE(wal.size() > kWalHeaderSize);
  const uint32_t page_size = ltxvfs::base::load_be32(&wal[8]);
  REQUIRE(page_size == 1024);
  const auto frames =
      static_cast<uint32_t>((wal.size() - kWalHeaderSize) / (kWalFrameHeaderSize + page_size));
  REQUIRE(frames > kWalIndexRegion0Frames + kWalIndexFramesPerRegion);
  std::vector<const void*> regions;
  for (size_t at = 0; at + kWalIndexRegionBytes <= shm.size(); at += kWalIndexRegionBytes) {
    regions.push_back(shm.data() + at);
  }
  REQUIRE(regions.size() >= 3);
  std::vector<uint32_t> pages(frames);
  REQUIRE(read_frame_pages(regions, 1, pages));
  size_t differing = 0;
  for (uint32_t f = 1; f <= frames; ++f) {
    differing += pages[f - 1] != ltxvfs::base::load_be32(&wal[wal_frame_offset(f, page_size)]);
  }
  CHECK(differing == 0);
}
