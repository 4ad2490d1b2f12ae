// DatabaseImage: the LTX database checksum kept by XOR as pages change, against the checksum
// computed from scratch (ltx::DatabaseChecksum over every page).
#include <catch2/catch.hpp>
#include <map>
#include <vector>

#include "ltx/checksum.h"
#include "vfs/writer/database_image.h"

using namespace ltxvfs;

namespace {

uint64_t from_scratch(uint32_t page_size, const std::map<uint32_t, std::vector<uint8_t>>& pages) {
  ltx::DatabaseChecksum sum;
  for (const auto& [pgno, data] : pages) {
    if (pgno != ltx::lock_page(page_size)) sum.toggle(pgno, data);
  }
  return sum.value();
}

}  // namespace

TEST_CASE("database image: growth, rewrites and shrinks keep the checksum exact", "[builder]") {
  const uint32_t ps = 512;
  ltxvfs::writer::DatabaseImage image(ps);
  std::map<uint32_t, std::vector<uint8_t>> pages;
  auto set = [&](uint32_t pgno, uint8_t fill) {
    pages[pgno] = std::vector<uint8_t>(ps, fill);
    image.set_page(pgno, pages[pgno]);
  };
  image.resize(4);
  for (uint32_t p = 1; p <= 4; ++p) set(p, static_cast<uint8_t>(p));
  CHECK(image.checksum() == from_scratch(ps, pages));
  set(2, 0x22);  // a rewrite replaces the old content's contribution
  CHECK(image.checksum() == from_scratch(ps, pages));
  image.resize(2);  // a shrink drops pages 3 and 4
  pages.erase(3);
  pages.erase(4);
  CHECK(image.commit() == 2);
  CHECK(image.checksum() == from_scratch(ps, pages));

  // Pages added and not yet given content: no checksum until they have it.
  image.resize(6);
  CHECK_THROWS_WITH(image.checksum(), Catch::Contains("4 added pages"));
  set(3, 3);
  set(4, 4);
  set(5, 5);
  CHECK_THROWS(image.checksum());
  image.resize(5);  // the unset page 6 goes away
  CHECK(image.checksum() == from_scratch(ps, pages));
}

TEST_CASE("database image: the lock page is never counted, set or awaited", "[builder]") {
  const uint32_t ps = 65536;
  const uint32_t lock = ltx::lock_page(ps);  // 16385: the page holding the 1 GiB offset
  ltxvfs::writer::DatabaseImage image(ps);
  std::map<uint32_t, std::vector<uint8_t>> pages;
  image.resize(lock + 1);
  const std::vector<uint8_t> zero(ps, 0);
  for (uint32_t p = 1; p <= lock + 1; ++p) {
    image.set_page(p, zero);  // the lock page is ignored
    if (p != lock) pages[p] = zero;
  }
  CHECK(image.checksum() == from_scratch(ps, pages));
  image.resize(lock - 1);  // shrinking past it
  pages.erase(lock + 1);
  pages.erase(lock);
  CHECK(image.checksum() == from_scratch(ps, pages));
  image.resize(lock);  // growing to it: nothing to set
  CHECK(image.checksum() == from_scratch(ps, pages));
}
