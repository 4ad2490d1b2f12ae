// The replica engine around bad objects (issue 16, item 7), over a model primary's directory:
// junk under a level-0 name with higher-level files past it, and a damaged page that no other
// chain can serve. The SQLite-level cases are in bad_object_test.cpp.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>

#include "tests/replica/engine_support.h"
#include "tests/replica/model_replica.h"
#include "vfs/replica/btree_page.h"
#include "vfs/replica/errors.h"
#include "vfs/replica/replica.h"

using namespace ltxvfs::replica;
using ltxvfs::testing::ModelPrimary;
namespace fs = std::filesystem;
using namespace replicatest;

namespace {

Replica open_replica(const std::string& dir) {
  ReplicaOptions o;
  o.url = dir;
  o.poll_ms = 20;
  o.prefetch_pages = 0;
  return Replica(o, ltxvfs::storage::open_store(o.store_url(), replica_store_settings()), nullptr);
}

std::vector<uint8_t> bytes_of(const std::string& text) {
  return {text.begin(), text.end()};
}

}  // namespace

TEST_CASE("replica engine: junk at the next TXID holds the replica until other files pass it",
          "[replica][unit]") {
  const std::string dir = fresh_dir("engine-bad-junk-level0");
  ModelPrimary m(dir, 512);
  for (uint32_t p = 1; p <= 10; ++p) m.set(p, 1);
  m.commit();
  m.set(2, 2);
  m.commit();
  Replica r = open_replica(dir);
  REQUIRE(r.current()->txid() == 2);
  // Junk where TXID 3 would go at level 0: the replica waits at 2 and says why.
  const std::string junk = m.key(0, 3, 3);
  m.store().put(junk, bytes_of("<Error><Code>SlowDown</Code></Error>"));
  CHECK_THAT(error_of([&] { r.wait_for(3, std::chrono::milliseconds(300)); }),
             Catch::Contains(junk));
  auto held = r.stats();
  CHECK(held.waiting_after == 2);
  CHECK_THAT(held.waiting_reason, Catch::Contains(junk) && Catch::Contains("not an LTX file"));
  // TXIDs 3 and 4 arrive at level 1: the replica goes on through them.
  m.set(3, 3);
  m.commit(1);
  m.set(4, 4);
  m.commit(1);
  CHECK(r.wait_for(4, std::chrono::milliseconds(10000)) == 4);
  auto s = r.pin();
  for (uint32_t p = 1; p <= 10; ++p) CHECK(read_page(r, *s, p) == expected_page(m, *s, p));
  const auto stats = r.stats();
  REQUIRE(stats.bad_objects.size() == 1);
  CHECK(stats.bad_objects[0].file.key == junk);
  CHECK(stats.bad_objects[0].junk);
  CHECK(stats.waiting_after == 0);
  CHECK(stats.poll_errors == 0);
  // A new replica opens through them too.
  Replica fresh = open_replica(dir);
  CHECK(fresh.current()->txid() == 4);
}

TEST_CASE("replica engine: a damaged page no other chain holds fails its reads, never wrong data",
          "[replica][unit]") {
  const std::string dir = fresh_dir("engine-bad-damaged-page");
  ModelPrimary m(dir, 512);
  for (uint32_t p = 1; p <= 20; ++p) m.set(p, 1);
  m.commit();
  m.set(3, 2);
  m.commit();
  // The last byte of page 5's frame in the snapshot (its zstd content checksum).
  const std::string key = m.key(0, 1, 1);
  {
    Replica locate = open_replica(dir);
    const auto frame = locate.current()->locate(5);
    REQUIRE(frame);
    REQUIRE(frame->file->file.key == key);
    auto body = m.store().get(key).body;
    body[frame->offset + frame->size - 1] ^= 0x10;
    m.store().put(key, body);
  }
  Replica r = open_replica(dir);
  auto s = r.pin();
  REQUIRE(s->txid() == 2);
  try {
    read_page(r, *s, 5);
    FAIL("a damaged page must not be served");
  } catch (const ReplicaError& e) {
    CHECK(e.kind() == ReplicaErrorKind::kCorrupt);
    CHECK_THAT(e.what(), Catch::Contains(key));
    CHECK_THAT(e.what(), Catch::Contains("never with wrong data"));
  }
  // The other pages of that object are served, and the replica stays where it was.
  CHECK(read_page(r, *s, 6) == expected_page(m, *s, 6));
  CHECK(read_page(r, *s, 3) == expected_page(m, *s, 3));
  CHECK(r.current()->txid() == 2);
  auto stats = r.stats();
  REQUIRE(stats.bad_objects.size() == 1);
  CHECK(stats.bad_objects[0].unavoidable);
  CHECK_FALSE(stats.bad_objects[0].junk);
  // It keeps following: the object stays in its plans.
  m.set(4, 3);
  m.commit();
  CHECK(r.wait_for(3, std::chrono::milliseconds(5000)) == 3);
  auto s3 = r.pin();
  CHECK(read_page(r, *s3, 4) == expected_page(m, *s3, 4));
  CHECK_THROWS_AS(read_page(r, *s3, 5), ReplicaError);
}
