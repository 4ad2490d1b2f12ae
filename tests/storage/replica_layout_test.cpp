#include <catch2/catch.hpp>

#include "storage/object_store.h"
#include "storage/replica_layout.h"

using namespace ltxvfs::storage;

TEST_CASE("layout: S3 keys (Litestream v0.5)", "[layout]") {
  CHECK(ltx_key(LayoutStyle::kS3, 0, 7, 7) == "0000/0000000000000007-0000000000000007.ltx");
  CHECK(ltx_key(LayoutStyle::kS3, 9, 1, 0x3e8) == "0009/0000000000000001-00000000000003e8.ltx");
  CHECK(ltx_key(LayoutStyle::kS3, 0x1a, 0xabcdef, 0xffffffffffffffffULL) ==
        "001a/0000000000abcdef-ffffffffffffffff.ltx");
  CHECK(level_prefix(LayoutStyle::kS3, 3) == "0003/");
  CHECK(ltx_root_prefix(LayoutStyle::kS3).empty());
  CHECK(lock_key(LayoutStyle::kS3) == "lock.json");
}

TEST_CASE("layout: directory keys (Litestream v0.5)", "[layout]") {
  CHECK(ltx_key(LayoutStyle::kDirectory, 0, 7, 7) == "ltx/0/0000000000000007-0000000000000007.ltx");
  CHECK(ltx_key(LayoutStyle::kDirectory, 12, 1, 2) ==
        "ltx/12/0000000000000001-0000000000000002.ltx");
  CHECK(level_prefix(LayoutStyle::kDirectory, 9) == "ltx/9/");
  CHECK(ltx_root_prefix(LayoutStyle::kDirectory) == "ltx/");
  CHECK(lock_key(LayoutStyle::kDirectory) == "lock.json");
}

TEST_CASE("layout: keys parse back, in both styles", "[layout]") {
  for (auto style : {LayoutStyle::kS3, LayoutStyle::kDirectory}) {
    for (uint32_t level : {0u, 1u, 9u, 10u, 255u}) {
      const auto key = ltx_key(style, level, 5, 0x1234567890abcdefULL);
      auto parsed = parse_ltx_key(style, key);
      REQUIRE(parsed.has_value());
      CHECK(*parsed == LtxKey{level, 5, 0x1234567890abcdefULL});
    }
  }
}

TEST_CASE("layout: anything else is ignored when parsing", "[layout]") {
  const char* s3_junk[] = {
      "lock.json",
      "0000/",
      "0000/0000000000000007-0000000000000007.ltx.tmp",
      "0000/0000000000000007-0000000000000007",
      "000/0000000000000007-0000000000000007.ltx",
      "00000/0000000000000007-0000000000000007.ltx",
      "000g/0000000000000007-0000000000000007.ltx",
      "0000/000000000000000A-000000000000000A.ltx",  // upper-case hex
      "0000/0000000000000008-0000000000000007.ltx",  // min > max
      "0000/000000000000007-0000000000000007.ltx",
      "0000/0000000000000007_0000000000000007.ltx",
      "0000/sub/0000000000000007-0000000000000007.ltx",
      "ltx/0/0000000000000007-0000000000000007.ltx",
  };
  for (const char* key : s3_junk) {
    INFO(key);
    CHECK_FALSE(parse_ltx_key(LayoutStyle::kS3, key).has_value());
  }
  const char* dir_junk[] = {
      "lock.json",
      "0000/0000000000000007-0000000000000007.ltx",
      "ltx/00/0000000000000007-0000000000000007.ltx",  // leading zero
      "ltx/a/0000000000000007-0000000000000007.ltx",
      "ltx//0000000000000007-0000000000000007.ltx",
      "ltx/70000/0000000000000007-0000000000000007.ltx",  // beyond 0xffff
      "ltx/0/0000000000000007-0000000000000007.LTX",
  };
  for (const char* key : dir_junk) {
    INFO(key);
    CHECK_FALSE(parse_ltx_key(LayoutStyle::kDirectory, key).has_value());
  }
}

TEST_CASE("byte range: an object's tail is an explicit range when its size is known", "[layout]") {
  using ltxvfs::storage::ByteRange;
  const ByteRange t = ByteRange::tail(1000, 24);
  CHECK_FALSE(t.suffix);
  CHECK(t.offset == 976);
  CHECK(t.length == 24);
  const ByteRange whole = ByteRange::tail(10, 24);  // more than the object: all of it
  CHECK_FALSE(whole.suffix);
  CHECK(whole.offset == 0);
  CHECK(whole.length == 10);
  const ByteRange unknown = ByteRange::tail(0, 24);  // size unknown: a suffix range
  CHECK(unknown.suffix);
  CHECK(unknown.length == 24);
}
