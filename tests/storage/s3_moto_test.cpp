// S3Store against moto (CTest fixture "moto"): the object semantics the rest of the project relies
// on. moto does not check signatures; s3_s3rver_test.cpp covers those.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "storage/s3/s3_store.h"
#include "storage/store_factory.h"
#include "store_error_of.h"
#include "test_util.h"
#include "tests/harness/s3_test_server.h"

using namespace ltxvfs::storage;
using ltxvfs::testing::error_of;
using ltxvfs::testing::make_test_bucket;
using ltxvfs::testing::Server;
using ltxvfs::testing::span_of;
using ltxvfs::testing::text;

namespace {
std::vector<std::string> keys_of(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back(o.key);
  return out;
}
}  // namespace

TEST_CASE("moto: put, get, head, ranges", "[moto]") {
  auto server = make_test_bucket(Server::kMoto);
  auto opened = open_store(server.url("app"), server.settings);
  ObjectStore& store = *opened.store;

  auto put = store.put("0000/0000000000000001-0000000000000001.ltx", span_of("0123456789"));
  CHECK_FALSE(put.etag.empty());
  const std::string key = "0000/0000000000000001-0000000000000001.ltx";

  auto whole = store.get(key);
  CHECK(text(whole.body) == "0123456789");
  CHECK(whole.object_size == 10);
  CHECK(whole.etag == put.etag);
  CHECK(whole.last_modified_ms > 1'600'000'000'000);

  auto part = store.get(key, ByteRange::at(2, 3));
  CHECK(text(part.body) == "234");
  CHECK(part.object_size == 10);
  CHECK(text(store.get(key, ByteRange::at(7, 100)).body) == "789");
  auto tail = store.get(key, ByteRange::last(4));
  CHECK(text(tail.body) == "6789");
  CHECK(tail.object_size == 10);
  CHECK(store.get(key, ByteRange::at(3, 0)).body.empty());
  CHECK(error_of([&] { store.get(key, ByteRange::at(10, 5)); }).kind() ==
        StoreErrorKind::kInvalidRange);

  auto info = store.head(key);
  REQUIRE(info.has_value());
  CHECK(info->size == 10);
  CHECK(info->etag == put.etag);
  CHECK_FALSE(store.head("0000/missing.ltx").has_value());

  auto missing = error_of([&] { store.get("0000/missing.ltx"); });
  CHECK(missing.kind() == StoreErrorKind::kNotFound);
  CHECK_THAT(
      std::string(missing.what()),
      Catch::StartsWith("GET s3://" + server.bucket + "/app/0000/missing.ltx: 404 NoSuchKey"));

  auto stats = opened.stats->snapshot();
  CHECK(stats.puts == 1);
  CHECK(stats.bytes_sent == 10);
  CHECK(stats.bytes_received >= 10 + 3 + 3 + 4);
}

TEST_CASE("moto: metadata round trip and empty objects", "[moto]") {
  auto server = make_test_bucket(Server::kMoto);
  auto opened = open_store(server.url(), server.settings);
  PutOptions options;
  options.metadata = {{"litestream-timestamp", "2025-01-02T03:04:05Z"}, {"a", "b c"}};
  opened.store->put("k", span_of("v"), options);
  CHECK(opened.store->get("k").metadata == options.metadata);
  CHECK(opened.store->get("k", ByteRange::at(0, 1)).metadata == options.metadata);

  opened.store->put("empty", span_of(""));
  auto empty = opened.store->get("empty");
  CHECK(empty.body.empty());
  CHECK(empty.object_size == 0);
  CHECK(opened.store->head("empty")->size == 0);
}

TEST_CASE("moto: conditional writes", "[moto]") {
  auto server = make_test_bucket(Server::kMoto);
  auto opened = open_store(server.url("db"), server.settings);
  ObjectStore& store = *opened.store;
  PutOptions create;
  create.if_none_match = true;
  auto first = store.put("lock.json", span_of("{\"generation\":1}"), create);
  auto exists = error_of([&] { store.put("lock.json", span_of("{}"), create); });
  CHECK(exists.kind() == StoreErrorKind::kPreconditionFailed);
  CHECK_THAT(std::string(exists.what()), Catch::Contains("412"));
  CHECK_THAT(std::string(exists.what()), Catch::Contains("already exists"));

  PutOptions replace;
  replace.if_match = first.etag;
  auto second = store.put("lock.json", span_of("{\"generation\":2}"), replace);
  CHECK(second.etag != first.etag);
  auto stale = error_of([&] { store.put("lock.json", span_of("{}"), replace); });
  CHECK(stale.kind() == StoreErrorKind::kPreconditionFailed);
  CHECK_THAT(std::string(stale.what()), Catch::Contains("If-Match"));
  auto absent = error_of([&] { store.put("nothing.json", span_of("{}"), replace); });
  CHECK(absent.kind() == StoreErrorKind::kNotFound);
  CHECK(text(store.get("lock.json").body) == "{\"generation\":2}");

  // Four racing creators, small bodies: exactly one wins.
  std::atomic<int> winners{0}, losers{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      try {
        store.put("race.json", span_of("x"), create);
        ++winners;
      } catch (const StoreError& e) {
        if (e.kind() == StoreErrorKind::kPreconditionFailed) ++losers;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(winners == 1);
  CHECK(losers == 3);
}

TEST_CASE("moto: listing pages past 1000 keys, honours prefix and start_after", "[moto]") {
  auto server = make_test_bucket(Server::kMoto);
  auto opened = open_store(server.url("app"), server.settings);
  ObjectStore& store = *opened.store;
  constexpr int kObjects = 1100;
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = w; i < kObjects; i += 4) {
        store.put(ltx_key(LayoutStyle::kS3, 0, static_cast<uint64_t>(i + 1),
                          static_cast<uint64_t>(i + 1)),
                  span_of("x"));
      }
    });
  }
  for (auto& w : writers) w.join();
  store.put("lock.json", span_of("{}"));
  // A sibling prefix must not leak into this store's listings.
  auto sibling = open_store(server.url("app2"), server.settings);
  sibling.store->put("0000/0000000000000001-0000000000000001.ltx", span_of("y"));

  const auto lists_before = opened.stats->snapshot().lists;
  auto all = store.list("0000/");
  CHECK(opened.stats->snapshot().lists - lists_before == 2);  // two pages
  REQUIRE(all.size() == kObjects);
  for (int i = 0; i < kObjects; ++i) {
    const auto parsed = parse_ltx_key(LayoutStyle::kS3, all[i].key);
    REQUIRE(parsed.has_value());
    CHECK(parsed->min_txid == static_cast<uint64_t>(i + 1));
  }
  CHECK(all[0].size == 1);
  CHECK_FALSE(all[0].etag.empty());

  const auto after = store.list("0000/", ltx_key(LayoutStyle::kS3, 0, 1050, 1050));
  REQUIRE(after.size() == 50);
  CHECK(after.front().key == ltx_key(LayoutStyle::kS3, 0, 1051, 1051));
  CHECK(keys_of(store.list("lock")) == std::vector<std::string>{"lock.json"});
  CHECK(store.list("0001/").empty());
  CHECK(store.list("").size() == kObjects + 1);

  // Deleting them all takes two DeleteObjects batches (at most 1000 keys each).
  const auto deletes_before = opened.stats->snapshot().deletes;
  std::vector<std::string> keys = keys_of(all);
  keys.push_back("0000/never-existed.ltx");
  store.remove(keys);
  CHECK(opened.stats->snapshot().deletes - deletes_before == 2);
  CHECK(keys_of(store.list("")) == std::vector<std::string>{"lock.json"});
  CHECK(sibling.store->list("").size() == 1);
}

TEST_CASE("moto: keys with special characters round-trip", "[moto]") {
  auto server = make_test_bucket(Server::kMoto);
  auto opened = open_store(server.url("pre fix+="), server.settings);
  ObjectStore& store = *opened.store;
  const std::vector<std::string> keys = {
      "a b",           "plus+sign",           "equals=sign",
      "amp&er?sand#",  "percent%2Fliteral",   "unicode/\xC3\xBC\xE2\x82\xAC",
      "quote\"'<xml>", "double//slash",       "dot/./segment",
      "tilde~star*",   "comma,semi;colon:at@"};
  for (const auto& key : keys) {
    INFO(key);
    store.put(key, span_of("body of " + key));
    CHECK(text(store.get(key).body) == "body of " + key);
    CHECK(store.head(key).has_value());
  }
  auto listed = keys_of(store.list(""));
  auto expected = keys;
  std::sort(expected.begin(), expected.end());
  CHECK(listed == expected);
  store.remove(keys);
  CHECK(store.list("").empty());
}

TEST_CASE("moto: a missing bucket is reported as such", "[moto]") {
  auto server = make_test_bucket(Server::kMoto);
  auto url = server.url();
  url.replace(url.find(server.bucket), server.bucket.size(), server.bucket + "-absent");
  auto opened = open_store(url, server.settings);
  auto e = error_of([&] { opened.store->get("k"); });
  CHECK(e.kind() == StoreErrorKind::kNoSuchBucket);
  CHECK_THAT(std::string(e.what()), Catch::Contains("404 NoSuchBucket"));
  CHECK_THAT(std::string(e.what()), Catch::Contains("create bucket " + server.bucket + "-absent"));
  CHECK(error_of([&] { opened.store->list(""); }).kind() == StoreErrorKind::kNoSuchBucket);
  CHECK(error_of([&] { opened.store->put("k", span_of("v")); }).kind() ==
        StoreErrorKind::kNoSuchBucket);
}

TEST_CASE("moto: one store, many threads", "[moto]") {
  auto server = make_test_bucket(Server::kMoto);
  auto opened = open_store(server.url("mt"), server.settings);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string key = "t" + std::to_string(t) + "/" + std::to_string(i);
        opened.store->put(key, span_of(key));
        if (text(opened.store->get(key).body) == key) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 40);
  CHECK(opened.store->list("").size() == 40);
  CHECK(opened.stats->snapshot().requests == 81);
}

TEST_CASE("moto: virtual-hosted addressing", "[moto]") {
  auto server = make_test_bucket(Server::kMoto);
  const std::string port = server.endpoint.substr(server.endpoint.rfind(':') + 1);
  auto settings = server.settings;
  // bucket.s3.amazonaws.com:<port> is dialled on 127.0.0.1: nothing leaves the machine.
  settings.http.connect_to = {"::127.0.0.1:" + port};
  auto opened =
      open_store("s3://" + server.bucket + "/vh?endpoint=http://s3.amazonaws.com:" + port +
                     "&path_style=false&region=us-east-1",
                 settings);
  auto* s3 = dynamic_cast<S3Store*>(opened.store.get());
  REQUIRE(s3 != nullptr);
  CHECK_FALSE(s3->path_style());
  opened.store->put("k", span_of("virtual"));
  CHECK(text(opened.store->get("k").body) == "virtual");
  // The object landed in the bucket, as path-style access sees it.
  auto path_style = open_store(server.url("vh"), server.settings);
  CHECK(text(path_style.store->get("k").body) == "virtual");
}
