// The ObjectStore contract (storage/object_store.h), one set of test bodies run against every
// backend: the directory store (FileStore), S3Store on moto and on s3rver (CTest fixtures "moto"
// and "s3rver"), and a FaultInjectingStore with no faults configured around a FileStore.
//
// Every case runs on every backend (LTXVFS_STORE_CONTRACT below lists them once; each backend x
// case is its own Catch2 test, so ctest reports each). Where a backend legitimately differs, the
// difference is a capability in its Backend description with the documented reason; a case or
// part of a case that a backend cannot run says so with a WARN, and a capability switched off
// without a reason fails the test.
//
// Backend-specific behaviour stays in the backend's own file: file_store_test.cpp (processes
// racing, partial readers, internal files, root directory errors), s3_moto_test.cpp (missing
// bucket, virtual-hosted addressing) and s3_s3rver_test.cpp (signature checks).
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "storage/fault_injecting_store.h"
#include "storage/file_store.h"
#include "storage/replica_layout.h"
#include "storage/store_factory.h"
#include "store_error_of.h"
#include "test_util.h"
#include "tests/harness/s3_test_server.h"

using namespace ltxvfs::storage;
using ltxvfs::testing::error_of;
using ltxvfs::testing::make_test_bucket;
using ltxvfs::testing::Server;
using ltxvfs::testing::span_of;
using ltxvfs::testing::TempDir;
using ltxvfs::testing::text;

namespace {

// What a backend can do, where it differs from the others. Defaults are the full contract.
struct Capabilities {
  // PutOptions::if_none_match and ::if_match are honoured.
  bool conditional_writes = true;
  // Racing conditional writers with small bodies: exactly one wins.
  bool atomic_conditional_writes = true;
  // ByteRange::last(n) (HTTP "bytes=-n").
  bool suffix_ranges = true;
  // ByteRange::at(0, 1) (HTTP "bytes=0-0") returns the first byte.
  bool first_byte_range = true;
  // PutOptions::metadata comes back from get().
  bool metadata = true;
  // get_streamed() hands a range over in pieces as they arrive (not at once, after get()).
  bool streams_reads = true;
  // Any key S3 accepts, including empty and "." path segments.
  bool any_s3_key = true;
  // Keys with '&' and '\'' come back from list() as written.
  bool lists_markup_keys_verbatim = true;
  // Objects per list request (StoreStats::lists counts requests); 0: one request per list().
  int list_page_size = 0;
  // Keys per delete request (StoreStats::deletes counts requests); 0: one request per remove().
  int delete_batch_size = 0;
  // How many keys the paged-listing case writes: more than one page where that is cheap.
  int paging_keys = 0;
  // Why each capability above that is off is off (keyed by the capability's name).
  std::map<std::string, std::string> why_not;
};

// One backend under test, ready for one case. Owns its store and whatever backs it.
struct Backend {
  std::string name;
  std::unique_ptr<TempDir> dir;                                // directory backends
  std::unique_ptr<ObjectStore> store;                          // the store under test
  std::shared_ptr<StoreStats> stats;                           // its request counters
  std::function<std::unique_ptr<ObjectStore>()> make_sibling;  // root = this root + "2"
  FaultInjectingStore* fault = nullptr;  // the fault-injecting backend's wrapper
  Capabilities caps;
};

// Every backend's root has characters that need encoding, so every case exercises them.
const std::string kRoot = "root dir+x=y";

Backend directory_backend() {
  Backend b;
  b.name = "directory";
  b.dir = std::make_unique<TempDir>();
  auto store = std::make_unique<FileStore>(b.dir->path() + "/" + kRoot);
  b.stats = store->stats();
  b.store = std::move(store);
  const std::string sibling = b.dir->path() + "/" + kRoot + "2";
  b.make_sibling = [sibling] { return std::make_unique<FileStore>(sibling); };
  b.caps.any_s3_key = false;
  b.caps.why_not["any_s3_key"] = "a file store key cannot have empty, '.' or '..' segments";
  b.caps.paging_keys = 1100;
  b.caps.streams_reads = false;
  b.caps.why_not["streams_reads"] = "a local file is read whole (ObjectStore's default)";
  return b;
}

Backend fault_injecting_backend() {
  Backend b = directory_backend();
  b.name = "fault-injecting (no faults) over directory";
  auto wrapper = std::make_unique<FaultInjectingStore>(std::move(b.store));
  b.fault = wrapper.get();
  b.store = std::move(wrapper);
  auto inner_sibling = b.make_sibling;
  b.make_sibling = [inner_sibling] {
    return std::make_unique<FaultInjectingStore>(inner_sibling());
  };
  return b;
}

Backend s3_backend(Server server) {
  Backend b;
  b.name = ltxvfs::testing::server_name(server);
  auto bucket = make_test_bucket(server);
  auto settings = bucket.settings;
  if (server == Server::kS3rver) {
    // A small page makes every s3rver listing paged (continuation tokens are signed too) while
    // writing only a few keys: s3rver is too slow for a thousand.
    settings.list_page_size = 7;
    b.caps.list_page_size = 7;
    b.caps.paging_keys = 30;
    b.caps.conditional_writes = false;
    b.caps.why_not["conditional_writes"] =
        "s3rver ignores If-None-Match and If-Match (/work/shared/testing.md)";
    b.caps.atomic_conditional_writes = false;
    b.caps.why_not["atomic_conditional_writes"] = b.caps.why_not["conditional_writes"];
    b.caps.suffix_ranges = false;
    b.caps.why_not["suffix_ranges"] =
        "s3rver mishandles suffix ranges (bytes=-N) (/work/shared/testing.md)";
    b.caps.first_byte_range = false;
    b.caps.why_not["first_byte_range"] =
        "s3rver reads bytes=0-0 as bytes=0- (its end 0 is falsy) and answers the whole object";
    b.caps.any_s3_key = false;
    b.caps.why_not["any_s3_key"] =
        "s3rver keeps objects as files: a key with an empty segment (\"a//b\") fails with 404";
    b.caps.lists_markup_keys_verbatim = false;
    b.caps.why_not["lists_markup_keys_verbatim"] =
        "s3rver escapes '&' and '\\'' twice in listings (\"&amp;amp;\")";
  } else {
    b.caps.list_page_size = 1000;
    b.caps.paging_keys = 1100;
  }
  b.caps.delete_batch_size = 1000;
  auto opened = open_store(bucket.url(kRoot), settings);
  b.stats = opened.stats;
  b.store = std::move(opened.store);
  b.make_sibling = [bucket, settings] {
    return open_store(bucket.url(kRoot + "2"), settings).store;
  };
  return b;
}

// True when the backend has the capability. When it does not, the skip is reported (WARN) and
// the reason must be documented in the backend's Capabilities.
bool has(const Backend& b, bool capability, const std::string& name) {
  if (capability) return true;
  const auto reason = b.caps.why_not.find(name);
  INFO(b.name << " lacks capability " << name);
  REQUIRE(reason != b.caps.why_not.end());  // an undocumented gap is a failure
  CHECK_FALSE(reason->second.empty());
  WARN(b.name << ": not checked (" << name << " off): " << reason->second);
  return false;
}

std::vector<std::string> keys_of(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back(o.key);
  return out;
}

StoreStatsSnapshot stats_of(const Backend& b) {
  return b.stats->snapshot();
}

// Requests a backend needs for `n` items in batches of `batch` (0: one request).
uint64_t requests_for(uint64_t n, int batch) {
  if (batch == 0) return 1;
  return (n + static_cast<uint64_t>(batch) - 1) / static_cast<uint64_t>(batch);
}

// ---------------------------------------------------------------------------------------------
// The cases.

void round_trip_and_overwrite(Backend& b) {
  ObjectStore& store = *b.store;
  const auto before = stats_of(b);
  const std::string key = "ltx/0/0000000000000001-0000000000000001.ltx";

  auto put = store.put(key, span_of("hello world"));
  CHECK_FALSE(put.etag.empty());

  auto got = store.get(key);
  CHECK(text(got.body) == "hello world");
  CHECK(got.object_size == 11);
  CHECK(got.etag == put.etag);
  CHECK(got.last_modified_ms > 1'600'000'000'000);  // milliseconds since the epoch, not seconds

  auto info = store.head(key);
  REQUIRE(info.has_value());
  CHECK(info->key == key);
  CHECK(info->size == 11);
  CHECK(info->etag == put.etag);
  CHECK(info->last_modified_ms == got.last_modified_ms);

  auto again = store.put(key, span_of("bye"));
  CHECK_FALSE(again.etag.empty());
  CHECK(again.etag != put.etag);
  auto replaced = store.get(key);
  CHECK(text(replaced.body) == "bye");
  CHECK(replaced.object_size == 3);
  CHECK(replaced.etag == again.etag);
  REQUIRE(store.head(key).has_value());
  CHECK(store.head(key)->size == 3);
  CHECK(store.head(key)->etag == again.etag);

  const auto after = stats_of(b);
  CHECK(after.puts - before.puts == 2);
  CHECK(after.bytes_sent - before.bytes_sent == 14);
  CHECK(after.failures - before.failures == 0);
  CHECK(after.bytes_received - before.bytes_received >= 11 + 3);
}

void empty_object(Backend& b) {
  ObjectStore& store = *b.store;
  auto put = store.put("empty", span_of(""));
  auto got = store.get("empty");
  CHECK(got.body.empty());
  CHECK(got.object_size == 0);
  CHECK(got.etag == put.etag);
  auto info = store.head("empty");
  REQUIRE(info.has_value());
  CHECK(info->size == 0);
  auto listed = store.list("empty");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].key == "empty");
  CHECK(listed[0].size == 0);
  CHECK(store.get("empty", ByteRange::at(0, 0)).body.empty());
  // An empty object can be replaced by a non-empty one and back.
  store.put("empty", span_of("x"));
  CHECK(store.head("empty")->size == 1);
  store.put("empty", span_of(""));
  CHECK(store.get("empty").body.empty());
}

void metadata_round_trip(Backend& b) {
  ObjectStore& store = *b.store;
  PutOptions options;
  options.metadata = {{"litestream-timestamp", "2025-01-02T03:04:05Z"}, {"a", "b c"}, {"x", "1"}};
  // Malformed metadata is refused before anything is sent, whatever the backend.
  PutOptions bad;
  bad.metadata = {{"Bad Name", "x"}};
  CHECK(error_of([&] { store.put("k", span_of("v"), bad); }).kind() ==
        StoreErrorKind::kInvalidArgument);
  CHECK_FALSE(store.head("k").has_value());

  if (!has(b, b.caps.metadata, "metadata")) return;
  store.put("k", span_of("v1"), options);
  CHECK(store.get("k").metadata == options.metadata);
  CHECK(store.get("k", ByteRange::at(0, 1)).metadata == options.metadata);
  // Metadata belongs to the object: a put without any replaces it with none.
  store.put("k", span_of("v2"));
  CHECK(store.get("k").metadata.empty());
  options.metadata = {{"generation", "3"}};
  store.put("k", span_of("v3"), options);
  CHECK(store.get("k").metadata == options.metadata);
}

void ranged_get(Backend& b) {
  ObjectStore& store = *b.store;
  const auto put = store.put("obj", span_of("0123456789"));

  auto part = store.get("obj", ByteRange::at(2, 3));
  CHECK(text(part.body) == "234");
  CHECK(part.object_size == 10);  // the whole object's size
  CHECK(part.etag == put.etag);
  CHECK(text(store.get("obj", ByteRange::at(1, 1)).body) == "1");
  CHECK(text(store.get("obj", ByteRange::at(9, 1)).body) == "9");
  CHECK(text(store.get("obj", ByteRange::at(0, 10)).body) == "0123456789");
  // A range that runs past the end is truncated to the object.
  auto to_eof = store.get("obj", ByteRange::at(7, 100));
  CHECK(text(to_eof.body) == "789");
  CHECK(to_eof.object_size == 10);
  // Empty ranges: at the end is empty, past the end is an error, as is an empty suffix.
  CHECK(store.get("obj", ByteRange::at(3, 0)).body.empty());
  CHECK(store.get("obj", ByteRange::at(10, 0)).body.empty());
  CHECK(error_of([&] { store.get("obj", ByteRange::at(11, 0)); }).kind() ==
        StoreErrorKind::kInvalidRange);
  CHECK(error_of([&] { store.get("obj", ByteRange::last(0)); }).kind() ==
        StoreErrorKind::kInvalidRange);
  // A range that starts past the end is an error.
  CHECK(error_of([&] { store.get("obj", ByteRange::at(10, 1)); }).kind() ==
        StoreErrorKind::kInvalidRange);
  CHECK(error_of([&] { store.get("obj", ByteRange::at(10, 5)); }).kind() ==
        StoreErrorKind::kInvalidRange);
  CHECK(error_of([&] { store.get("obj", ByteRange::at(11, 1)); }).kind() ==
        StoreErrorKind::kInvalidRange);
  CHECK(error_of([&] { store.get("missing", ByteRange::at(0, 1)); }).kind() ==
        StoreErrorKind::kNotFound);

  if (has(b, b.caps.first_byte_range, "first_byte_range")) {
    CHECK(text(store.get("obj", ByteRange::at(0, 1)).body) == "0");
  }
  if (!has(b, b.caps.suffix_ranges, "suffix_ranges")) return;
  auto tail = store.get("obj", ByteRange::last(4));
  CHECK(text(tail.body) == "6789");
  CHECK(tail.object_size == 10);
  CHECK(text(store.get("obj", ByteRange::last(10)).body) == "0123456789");
  CHECK(text(store.get("obj", ByteRange::last(100)).body) == "0123456789");  // truncated
}

void streamed_ranged_get(Backend& b) {
  ObjectStore& store = *b.store;
  std::vector<uint8_t> object(300'000);
  for (size_t i = 0; i < object.size(); ++i) object[i] = static_cast<uint8_t>(i * 7 + i / 251);
  const auto put = store.put("big", object);
  // The pieces, in order, make the range; the result is get()'s without the body.
  const auto streamed = [&](const ByteRange& range) {
    std::vector<uint8_t> got;
    int pieces = 0;
    const auto result = store.get_streamed(
        "big", range, [&](const std::string& etag, uint64_t at, std::span<const uint8_t> bytes) {
          CHECK(etag == put.etag);
          if (at < got.size()) got.resize(at);  // a retried request starts over
          CHECK(at == got.size());
          got.insert(got.end(), bytes.begin(), bytes.end());
          ++pieces;
        });
    CHECK(result.body.empty());
    CHECK(result.etag == put.etag);
    CHECK(result.object_size == object.size());
    return std::make_pair(got, pieces);
  };
  const auto [middle, pieces] = streamed(ByteRange::at(1'000, 200'000));
  CHECK(middle == std::vector<uint8_t>(object.begin() + 1'000, object.begin() + 201'000));
  if (has(b, b.caps.streams_reads, "streams_reads")) CHECK(pieces > 1);
  // A range that runs past the end is truncated to the object; the errors are get()'s.
  CHECK(streamed(ByteRange::at(299'990, 100)).first ==
        std::vector<uint8_t>(object.end() - 10, object.end()));
  const auto nothing = [](const std::string&, uint64_t, std::span<const uint8_t>) {};
  CHECK(error_of([&] { store.get_streamed("big", ByteRange::at(300'000, 1), nothing); }).kind() ==
        StoreErrorKind::kInvalidRange);
  CHECK(error_of([&] { store.get_streamed("missing", ByteRange::at(0, 1), nothing); }).kind() ==
        StoreErrorKind::kNotFound);
}

void missing_keys(Backend& b) {
  ObjectStore& store = *b.store;
  store.put("dir/a", span_of("x"));
  const auto before = stats_of(b);

  auto missing = error_of([&] { store.get("dir/missing.ltx"); });
  CHECK(missing.kind() == StoreErrorKind::kNotFound);
  CHECK_FALSE(missing.retriable());
  // Errors name the operation, the object and what the store answered.
  CHECK_THAT(std::string(missing.what()),
             Catch::StartsWith("GET " + store.describe() + "/dir/missing.ltx: 404 NoSuchKey"));
  CHECK_FALSE(store.head("dir/missing.ltx").has_value());
  // A prefix of existing keys is not an object.
  CHECK_FALSE(store.head("dir").has_value());
  CHECK(error_of([&] { store.get("dir"); }).kind() == StoreErrorKind::kNotFound);

  const auto after = stats_of(b);
  // An absent key is an answer, not a failure (StoreError::counts_as_failure), for get and head
  // alike: a healthy writer's counter stays 0.
  CHECK(after.failures - before.failures == 0);
  CHECK(after.gets - before.gets == 2);
  CHECK(text(store.get("dir/a").body) == "x");  // the store still works
}

void list_prefix_order_start_after(Backend& b) {
  ObjectStore& store = *b.store;
  for (const char* key : {"ltx/1/b", "ltx/0/b", "ltx/0/a", "ltx/0/B", "ltx/10/a", "lock.json",
                          "ltx0", "z", "\xC3\xBC"}) {
    store.put(key, span_of(key));
  }
  // Byte-wise key order (S3's): upper case before lower case, UTF-8 after ASCII.
  CHECK(keys_of(store.list("")) == std::vector<std::string>{"lock.json", "ltx/0/B", "ltx/0/a",
                                                            "ltx/0/b", "ltx/1/b", "ltx/10/a",
                                                            "ltx0", "z", "\xC3\xBC"});
  CHECK(keys_of(store.list("ltx/")) ==
        std::vector<std::string>{"ltx/0/B", "ltx/0/a", "ltx/0/b", "ltx/1/b", "ltx/10/a"});
  // A prefix is a string prefix, not a directory.
  CHECK(keys_of(store.list("ltx/1")) == std::vector<std::string>{"ltx/1/b", "ltx/10/a"});
  CHECK(keys_of(store.list("ltx/0/")) == std::vector<std::string>{"ltx/0/B", "ltx/0/a", "ltx/0/b"});
  CHECK(keys_of(store.list("ltx")) ==
        std::vector<std::string>{"ltx/0/B", "ltx/0/a", "ltx/0/b", "ltx/1/b", "ltx/10/a", "ltx0"});
  // start_after is exclusive, need not be a key, and combines with the prefix.
  CHECK(keys_of(store.list("ltx/", "ltx/0/b")) == std::vector<std::string>{"ltx/1/b", "ltx/10/a"});
  CHECK(keys_of(store.list("ltx/", "ltx/0/c")) == std::vector<std::string>{"ltx/1/b", "ltx/10/a"});
  CHECK(keys_of(store.list("", "ltx0")) == std::vector<std::string>{"z", "\xC3\xBC"});
  CHECK(keys_of(store.list("ltx/", "ltx/10/a")).empty());
  CHECK(store.list("nothing/here/").empty());

  // What list() reports matches head().
  auto listed = store.list("z");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].key == "z");
  CHECK(listed[0].size == 1);
  const auto info = store.head("z");
  REQUIRE(info.has_value());
  CHECK(listed[0].etag == info->etag);
  CHECK(listed[0].last_modified_ms > 1'600'000'000'000);

  // A store whose root is a string extension of this one's ("<root>2") is a different store.
  auto sibling = b.make_sibling();
  sibling->put("ltx/0/sibling", span_of("y"));
  sibling->put("lock.json", span_of("sibling"));
  CHECK(keys_of(store.list("ltx/0/")) == std::vector<std::string>{"ltx/0/B", "ltx/0/a", "ltx/0/b"});
  CHECK(text(store.get("lock.json").body) == "lock.json");
  CHECK(keys_of(sibling->list("")) == std::vector<std::string>{"lock.json", "ltx/0/sibling"});
  store.remove({"lock.json"});
  CHECK(text(sibling->get("lock.json").body) == "sibling");
}

void list_many_pages(Backend& b) {
  ObjectStore& store = *b.store;
  const int n = b.caps.paging_keys;
  INFO(b.name << ": " << n << " keys, " << b.caps.list_page_size << " per list request");
  REQUIRE(n > 2);
  if (b.caps.list_page_size > 0) {
    REQUIRE(n > b.caps.list_page_size);       // more than one page
    REQUIRE(n % b.caps.list_page_size != 0);  // and a partial last page
  }
  auto key = [](int i) {
    return ltx_key(LayoutStyle::kS3, 0, static_cast<uint64_t>(i + 1), static_cast<uint64_t>(i + 1));
  };
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = w; i < n; i += 4) store.put(key(i), span_of("x"));
    });
  }
  for (auto& w : writers) w.join();
  store.put("lock.json", span_of("{}"));

  const auto lists_before = stats_of(b).lists;
  auto all = store.list("0000/");
  CHECK(stats_of(b).lists - lists_before == requests_for(n, b.caps.list_page_size));
  REQUIRE(all.size() == static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto parsed = parse_ltx_key(LayoutStyle::kS3, all[i].key);
    REQUIRE(parsed.has_value());
    CHECK(parsed->min_txid == static_cast<uint64_t>(i + 1));
  }
  CHECK(all[0].size == 1);
  CHECK_FALSE(all[0].etag.empty());

  const int tail = std::min(50, n / 3);
  const auto after = store.list("0000/", key(n - tail - 1));
  REQUIRE(after.size() == static_cast<size_t>(tail));
  CHECK(after.front().key == key(n - tail));
  CHECK(after.back().key == key(n - 1));
  CHECK(keys_of(store.list("lock")) == std::vector<std::string>{"lock.json"});
  CHECK(store.list("0001/").empty());
  CHECK(store.list("").size() == static_cast<size_t>(n) + 1);

  const auto deletes_before = stats_of(b).deletes;
  std::vector<std::string> keys = keys_of(all);
  keys.push_back("0000/never-existed.ltx");
  store.remove(keys);
  CHECK(stats_of(b).deletes - deletes_before ==
        requests_for(keys.size(), b.caps.delete_batch_size));
  CHECK(keys_of(store.list("")) == std::vector<std::string>{"lock.json"});
}

void remove_keys(Backend& b) {
  ObjectStore& store = *b.store;
  PutOptions with_metadata;
  if (b.caps.metadata) with_metadata.metadata = {{"m", "1"}};
  store.put("a/1", span_of("x"), with_metadata);
  store.put("a/2", span_of("x"));
  store.put("b", span_of("x"));
  // Keys that do not exist are not an error.
  store.remove({"a/1", "b", "never-existed", "a/never/existed"});
  CHECK(keys_of(store.list("")) == std::vector<std::string>{"a/2"});
  CHECK_FALSE(store.head("a/1").has_value());
  CHECK(error_of([&] { store.get("a/1"); }).kind() == StoreErrorKind::kNotFound);
  CHECK(error_of([&] { store.get("b"); }).kind() == StoreErrorKind::kNotFound);
  store.remove({});
  store.remove({"never-existed"});
  store.remove({"a/1"});  // twice
  CHECK(keys_of(store.list("")) == std::vector<std::string>{"a/2"});
  // A re-created object is new: it does not inherit the removed one's content or metadata.
  store.put("a/1", span_of("y"));
  auto got = store.get("a/1");
  CHECK(text(got.body) == "y");
  CHECK(got.metadata.empty());
  store.remove({"a/1", "a/2"});
  CHECK(store.list("").empty());
}

void conditional_if_none_match(Backend& b) {
  if (!has(b, b.caps.conditional_writes, "conditional_writes")) return;
  ObjectStore& store = *b.store;
  PutOptions create;
  create.if_none_match = true;
  auto first = store.put("lock.json", span_of("{\"generation\":1}"), create);
  CHECK_FALSE(first.etag.empty());
  auto exists = error_of([&] { store.put("lock.json", span_of("{}"), create); });
  CHECK(exists.kind() == StoreErrorKind::kPreconditionFailed);
  CHECK_FALSE(exists.retriable());
  CHECK_THAT(std::string(exists.what()), Catch::Contains("412"));
  CHECK_THAT(std::string(exists.what()), Catch::Contains("already exists"));
  auto got = store.get("lock.json");
  CHECK(text(got.body) == "{\"generation\":1}");
  CHECK(got.etag == first.etag);
  // Once removed, the key can be created again.
  store.remove({"lock.json"});
  store.put("lock.json", span_of("{\"generation\":2}"), create);
  CHECK(text(store.get("lock.json").body) == "{\"generation\":2}");
}

void conditional_if_match(Backend& b) {
  if (!has(b, b.caps.conditional_writes, "conditional_writes")) return;
  ObjectStore& store = *b.store;
  auto first = store.put("lock.json", span_of("{\"generation\":1}"));

  PutOptions replace;
  replace.if_match = first.etag;
  auto second = store.put("lock.json", span_of("{\"generation\":2}"), replace);
  CHECK(second.etag != first.etag);
  CHECK(text(store.get("lock.json").body) == "{\"generation\":2}");

  auto stale = error_of([&] { store.put("lock.json", span_of("{}"), replace); });
  CHECK(stale.kind() == StoreErrorKind::kPreconditionFailed);
  CHECK_THAT(std::string(stale.what()), Catch::Contains("If-Match"));
  CHECK(text(store.get("lock.json").body) == "{\"generation\":2}");

  // If-Match on a key that does not exist: kNotFound.
  replace.if_match = second.etag;
  CHECK(error_of([&] { store.put("absent.json", span_of("{}"), replace); }).kind() ==
        StoreErrorKind::kNotFound);
  CHECK_FALSE(store.head("absent.json").has_value());

  // The etags head() and list() report are the ones If-Match takes.
  const auto info = store.head("lock.json");
  REQUIRE(info.has_value());
  replace.if_match = info->etag;
  auto third = store.put("lock.json", span_of("{\"generation\":3}"), replace);
  const auto listed = store.list("lock.json");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].etag == third.etag);
  replace.if_match = listed[0].etag;
  store.put("lock.json", span_of("{\"generation\":4}"), replace);
  CHECK(text(store.get("lock.json").body) == "{\"generation\":4}");
}

// A replica polls head.json this way (vfs/replica/head_watch.h): nothing while the etag is the
// one it has, the whole object once it changed.
void get_if_changed(Backend& b) {
  ObjectStore& store = *b.store;
  const auto first = store.put("head.json", span_of("{\"txid\":1}"));
  const auto whole = store.get_if_changed("head.json", "");
  REQUIRE(whole.has_value());
  CHECK(text(whole->body) == "{\"txid\":1}");
  CHECK(whole->etag == first.etag);
  CHECK_FALSE(store.get_if_changed("head.json", first.etag).has_value());
  const auto second = store.put("head.json", span_of("{\"txid\":2}"));
  const auto changed = store.get_if_changed("head.json", first.etag);
  REQUIRE(changed.has_value());
  CHECK(text(changed->body) == "{\"txid\":2}");
  CHECK(changed->etag == second.etag);
  CHECK_FALSE(store.get_if_changed("head.json", second.etag).has_value());
  CHECK(error_of([&] { store.get_if_changed("absent.json", first.etag); }).kind() ==
        StoreErrorKind::kNotFound);
}

void racing_conditional_writers(Backend& b) {
  if (!has(b, b.caps.atomic_conditional_writes, "atomic_conditional_writes")) return;
  ObjectStore& store = *b.store;
  // Small bodies: moto's conditional write is not atomic for large ones.
  for (int round = 0; round < 20; ++round) {
    INFO("round " << round);
    const std::string key = "race/" + std::to_string(round);
    std::atomic<int> winners{0}, losers{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        PutOptions create;
        create.if_none_match = true;
        try {
          store.put(key, span_of("writer " + std::to_string(t)), create);
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
  for (int round = 0; round < 20; ++round) {
    INFO("round " << round);
    const auto etag = store.put("lease", span_of("gen " + std::to_string(round))).etag;
    std::atomic<int> winners{0}, losers{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        PutOptions replace;
        replace.if_match = etag;
        try {
          store.put("lease", span_of("next " + std::to_string(round) + "/" + std::to_string(t)),
                    replace);
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
}

void special_character_keys(Backend& b) {
  ObjectStore& store = *b.store;
  std::vector<std::string> keys = {
      "0000/0000000000000001-0000000000000001.ltx",
      "a b",
      "with  two spaces",
      "plus+sign",
      "equals=sign",
      "amp&er?sand#",
      "percent%2Fliteral",
      "unicode/\xC3\xBC\xE2\x82\xAC",
      "emoji \xF0\x9F\x98\x80",
      "quote\"'<xml>",
      "tilde~star*",
      "comma,semi;colon:at@",
      "mixed/a b+c=d&e$f@g,h;i:j!k'l(m)n*o~p",
  };
  if (has(b, b.caps.any_s3_key, "any_s3_key")) {
    keys.insert(keys.end(), {"double//slash", "dot/./segment", "trailing/"});
  }
  for (const auto& key : keys) {
    INFO(key);
    store.put(key, span_of("data:" + key));
    CHECK(text(store.get(key).body) == "data:" + key);
    CHECK(text(store.get(key, ByteRange::at(0, 5)).body) == "data:");
    auto info = store.head(key);
    REQUIRE(info.has_value());
    CHECK(info->size == 5 + key.size());
  }
  auto expected = keys;
  std::sort(expected.begin(), expected.end());
  const auto listed = keys_of(store.list(""));
  if (has(b, b.caps.lists_markup_keys_verbatim, "lists_markup_keys_verbatim")) {
    CHECK(listed == expected);
  } else {
    REQUIRE(listed.size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      if (expected[i].find_first_of("&'") == std::string::npos) CHECK(listed[i] == expected[i]);
    }
  }
  CHECK(keys_of(store.list("mixed/")).size() == 1);
  CHECK(keys_of(store.list("unicode/")) ==
        std::vector<std::string>{"unicode/\xC3\xBC\xE2\x82\xAC"});
  // start_after with special characters.
  const auto after_plus = store.list("", "plus+sign");
  const auto expected_after = static_cast<size_t>(
      expected.end() - std::upper_bound(expected.begin(), expected.end(), "plus+sign"));
  CHECK(after_plus.size() == expected_after);
  CHECK(keys_of(store.list("a ")) == std::vector<std::string>{"a b"});
  CHECK(keys_of(store.list("plus+")) == std::vector<std::string>{"plus+sign"});

  store.remove(keys);
  CHECK(store.list("").empty());
}

void concurrent_threads(Backend& b) {
  ObjectStore& store = *b.store;
  const auto before = stats_of(b);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string key = "t" + std::to_string(t) + "/" + std::to_string(i);
        store.put(key, span_of(key));
        if (text(store.get(key).body) == key) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 40);
  CHECK(store.list("").size() == 40);
  const auto after = stats_of(b);
  // 40 puts, 40 gets and the listing: nothing retried, nothing lost.
  CHECK(after.requests - before.requests == 80 + requests_for(40, b.caps.list_page_size));
  CHECK(after.failures - before.failures == 0);
}

// Runs one case on a fresh backend; the fault-injecting store must not have injected anything.
void run(Backend b, void (*contract_case)(Backend&)) {
  INFO("backend: " << b.name << " (" << b.store->describe() << ")");
  contract_case(b);
  if (b.fault != nullptr) CHECK(b.fault->injected_failures() == 0);
}

}  // namespace

// Every case of the contract, once: X(title, function).
#define LTXVFS_STORE_CONTRACT(X)                                                          \
  X("put, get and head round trip, overwrite", round_trip_and_overwrite)                  \
  X("empty object", empty_object)                                                         \
  X("metadata round trip", metadata_round_trip)                                           \
  X("ranged get", ranged_get)                                                             \
  X("streamed ranged get", streamed_ranged_get)                                           \
  X("missing keys are kNotFound", missing_keys)                                           \
  X("list with prefix, order, start_after, sibling roots", list_prefix_order_start_after) \
  X("list of more than one page", list_many_pages)                                        \
  X("remove, missing keys are no error", remove_keys)                                     \
  X("If-None-Match", conditional_if_none_match)                                           \
  X("If-Match", conditional_if_match)                                                     \
  X("get_if_changed: nothing while the etag holds", get_if_changed)                       \
  X("racing conditional writers, exactly one wins", racing_conditional_writers)           \
  X("keys with special characters round trip", special_character_keys)                    \
  X("one store, many threads", concurrent_threads)

#define LTXVFS_DIRECTORY_CASE(title, fn)                               \
  TEST_CASE("store contract, directory: " title, "[contract][file]") { \
    run(directory_backend(), fn);                                      \
  }
#define LTXVFS_FAULT_CASE(title, fn)                                                      \
  TEST_CASE("store contract, fault-injecting (no faults): " title, "[contract][fault]") { \
    run(fault_injecting_backend(), fn);                                                   \
  }
#define LTXVFS_MOTO_CASE(title, fn)                               \
  TEST_CASE("store contract, moto: " title, "[contract][moto]") { \
    run(s3_backend(Server::kMoto), fn);                           \
  }
#define LTXVFS_S3RVER_CASE(title, fn)                                 \
  TEST_CASE("store contract, s3rver: " title, "[contract][s3rver]") { \
    run(s3_backend(Server::kS3rver), fn);                             \
  }

LTXVFS_STORE_CONTRACT(LTXVFS_DIRECTORY_CASE)
LTXVFS_STORE_CONTRACT(LTXVFS_FAULT_CASE)
LTXVFS_STORE_CONTRACT(LTXVFS_MOTO_CASE)
LTXVFS_STORE_CONTRACT(LTXVFS_S3RVER_CASE)
