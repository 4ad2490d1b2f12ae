#include <catch2/catch.hpp>
#include <chrono>

#include "storage/fault_injecting_store.h"
#include "storage/file_store.h"
#include "test_util.h"

using namespace ltxvfs::storage;
using ltxvfs::testing::span_of;
using ltxvfs::testing::TempDir;
using ltxvfs::testing::text;

namespace {
std::unique_ptr<FaultInjectingStore> make(const TempDir& dir, uint64_t seed = 1) {
  return std::make_unique<FaultInjectingStore>(std::make_unique<FileStore>(dir.path()), seed);
}

bool get_fails(ObjectStore& store, const std::string& key, StoreErrorKind kind) {
  try {
    store.get(key);
    return false;
  } catch (const StoreError& e) {
    return e.kind() == kind;
  }
}
}  // namespace

TEST_CASE("fault injection: fail the next N requests", "[fault]") {
  TempDir dir;
  auto store = make(dir);
  store->put("k", span_of("v"));
  store->fail_next(2);
  CHECK(get_fails(*store, "k", StoreErrorKind::kUnavailable));
  try {
    store->put("k", span_of("other"));
    FAIL("put was not failed");
  } catch (const StoreError& e) {
    CHECK(e.retriable());
    CHECK_THAT(std::string(e.what()), Catch::Contains("injected"));
  }
  CHECK(text(store->get("k").body) == "v");  // the failed put never reached the inner store
  CHECK(store->injected_failures() == 2);
}

TEST_CASE("fault injection: seeded failure probability is reproducible", "[fault]") {
  TempDir dir;
  auto pattern = [&](uint64_t seed) {
    auto store = make(dir, seed);
    store->put("k", span_of("v"));
    store->set_failure_probability(0.3);
    std::string out;
    for (int i = 0; i < 200; ++i)
      out += get_fails(*store, "k", StoreErrorKind::kUnavailable) ? 'x' : '.';
    return out;
  };
  const auto a = pattern(42), b = pattern(42), c = pattern(43);
  CHECK(a == b);
  CHECK(a != c);
  const auto failures = std::count(a.begin(), a.end(), 'x');
  CHECK(failures > 30);  // about 60 expected
  CHECK(failures < 100);
}

TEST_CASE("fault injection: latency is added to every request", "[fault]") {
  TempDir dir;
  auto store = make(dir);
  store->put("k", span_of("v"));
  store->set_latency(std::chrono::milliseconds(20));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) store->get("k");
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(100));
}

TEST_CASE("fault injection: vanished objects look deleted until restored", "[fault]") {
  TempDir dir;
  auto store = make(dir);
  store->put("a", span_of("1"));
  store->put("b", span_of("2"));
  store->vanish("a");
  CHECK(get_fails(*store, "a", StoreErrorKind::kNotFound));
  CHECK_FALSE(store->head("a").has_value());
  auto listed = store->list("");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].key == "b");
  CHECK(store->inner().head("a").has_value());  // still there underneath
  store->restore("a");
  CHECK(text(store->get("a").body) == "1");
  store->vanish("b");
  store->put("b", span_of("3"));  // a new object replaces the vanished one
  CHECK(text(store->get("b").body) == "3");
}
