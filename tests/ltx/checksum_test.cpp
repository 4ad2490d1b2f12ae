#include <catch2/catch.hpp>

#include "ltx/checksum.h"
#include "ltx/lock_page.h"
#include "test_support.h"

using namespace ltxvfs::ltx;
using ltxtest::Bytes;
using ltxtest::filled_page;

TEST_CASE("known answer: pages of 0x01, 0x02, 0x03 (512 B)", "[checksum]") {
  DatabaseChecksum c;
  c.toggle(1, filled_page(512, 0x01));
  c.toggle(2, filled_page(512, 0x02));
  c.toggle(3, filled_page(512, 0x03));
  REQUIRE(c.value() == 0xefffffffecd99000ULL);
}

TEST_CASE("known answer: page 1 of 512 x '1'", "[checksum]") {
  REQUIRE(page_checksum(1, filled_page(512, '1')) == 0xeb1a999231044dddULL);
  DatabaseChecksum c;
  c.toggle(1, filled_page(512, '1'));
  REQUIRE(c.value() == 0xeb1a999231044dddULL);
}

TEST_CASE("known answer: pages '2', '3' with 512- and 1024-byte pages", "[checksum]") {
  for (auto [size, expected] : {std::pair<std::uint32_t, std::uint64_t>{512, 0x8b87423eeeeeeeeeULL},
                                {1024, 0xe1899b6d587aaaaaULL}}) {
    DatabaseChecksum c;
    c.toggle(1, filled_page(size, '2'));
    c.toggle(2, filled_page(size, '3'));
    INFO("page size " << size);
    REQUIRE(c.value() == expected);
  }
}

TEST_CASE("known answer: the lock page is excluded (Go's WithLockPage fixture)", "[checksum]") {
  // 4 KiB pages of 'x', commit = lock page + 10, every page but the lock page: 1 GiB of CRC.
  const Bytes x = filled_page(4096, 'x');
  const std::uint32_t lock = lock_page(4096);
  DatabaseChecksum c;
  for (std::uint32_t pgno = 1; pgno <= lock + 10; ++pgno) {
    if (pgno != lock) c.toggle(pgno, x);
  }
  REQUIRE(c.value() == 0xc19b668c376662c7ULL);
}

TEST_CASE("lock page for every page size", "[checksum]") {
  REQUIRE(lock_page(512) == 2097153);
  REQUIRE(lock_page(1024) == 1048577);
  REQUIRE(lock_page(2048) == 524289);
  REQUIRE(lock_page(4096) == 262145);
  REQUIRE(lock_page(8192) == 131073);
  REQUIRE(lock_page(16384) == 65537);
  REQUIRE(lock_page(32768) == 32769);
  REQUIRE(lock_page(65536) == 16385);
  REQUIRE(stored_page_count(262144, 4096) == 262144);
  REQUIRE(stored_page_count(262145, 4096) == 262144);
  REQUIRE(stored_page_count(262146, 4096) == 262145);
  REQUIRE(next_stored_page(262144, 4096) == 262146);
  REQUIRE(next_stored_page(7, 4096) == 8);
}

TEST_CASE("database checksum updates incrementally", "[checksum]") {
  const Bytes a = ltxtest::random_page(512, 1);
  const Bytes b = ltxtest::random_page(512, 2);
  DatabaseChecksum c;
  REQUIRE(c.value() == kChecksumFlag);  // empty database
  c.toggle(1, a);
  c.toggle(2, a);
  const std::uint64_t before = c.value();
  // Replace page 2: XOR out the old version, XOR in the new one.
  c.toggle(2, a);
  c.toggle(2, b);
  DatabaseChecksum fresh;
  fresh.toggle(1, a);
  fresh.toggle(2, b);
  REQUIRE(c.value() == fresh.value());
  REQUIRE(c.value() != before);
  // Resume from a stored value.
  DatabaseChecksum resumed(before);
  resumed.toggle(2, a);
  resumed.toggle(2, b);
  REQUIRE(resumed.value() == fresh.value());
  // Page numbers matter: the same bytes at another page number checksum differently.
  REQUIRE(page_checksum(1, a) != page_checksum(2, a));
  REQUIRE((page_checksum(1, a) & kChecksumFlag) != 0);
}
