#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "storage/file_store.h"
#include "test_util.h"

using namespace ltxvfs::storage;
using ltxvfs::testing::bytes;
using ltxvfs::testing::span_of;
using ltxvfs::testing::TempDir;
using ltxvfs::testing::text;

namespace {
StoreErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e.kind();
  }
  FAIL("no StoreError thrown");
  return StoreErrorKind::kProtocol;
}

std::vector<std::string> keys_of(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back(o.key);
  return out;
}
}  // namespace

TEST_CASE("file store: put, get, head, overwrite", "[file]") {
  TempDir dir;
  FileStore store(dir.path() + "/replica");
  CHECK(store.describe() == "file://" + dir.path() + "/replica");

  auto put = store.put("ltx/0/a.ltx", span_of("hello world"));
  CHECK_FALSE(put.etag.empty());
  CHECK(std::filesystem::exists(dir.path() + "/replica/ltx/0/a.ltx"));  // a plain file

  auto got = store.get("ltx/0/a.ltx");
  CHECK(text(got.body) == "hello world");
  CHECK(got.object_size == 11);
  CHECK(got.etag == put.etag);
  CHECK(got.last_modified_ms > 0);

  auto info = store.head("ltx/0/a.ltx");
  REQUIRE(info.has_value());
  CHECK(info->size == 11);
  CHECK(info->etag == put.etag);
  CHECK_FALSE(store.head("ltx/0/missing.ltx").has_value());
  CHECK_FALSE(store.head("ltx/0").has_value());  // a directory is not an object

  auto again = store.put("ltx/0/a.ltx", span_of("bye"));
  CHECK(again.etag != put.etag);
  CHECK(text(store.get("ltx/0/a.ltx").body) == "bye");
  CHECK(kind_of([&] { store.get("nope"); }) == StoreErrorKind::kNotFound);
  CHECK(kind_of([&] { store.get("ltx/0"); }) == StoreErrorKind::kNotFound);

  auto stats = store.stats()->snapshot();
  CHECK(stats.puts == 2);
  CHECK(stats.bytes_sent == 14);
  CHECK(stats.failures == 2);
}

TEST_CASE("file store: ranged gets", "[file]") {
  TempDir dir;
  FileStore store(dir.path());
  store.put("obj", span_of("0123456789"));
  CHECK(text(store.get("obj", ByteRange::at(2, 3)).body) == "234");
  CHECK(store.get("obj", ByteRange::at(2, 3)).object_size == 10);
  CHECK(text(store.get("obj", ByteRange::at(8, 100)).body) == "89");  // truncated to the object
  CHECK(text(store.get("obj", ByteRange::last(4)).body) == "6789");
  CHECK(text(store.get("obj", ByteRange::last(100)).body) == "0123456789");
  CHECK(store.get("obj", ByteRange::at(10, 0)).body.empty());
  CHECK(kind_of([&] { store.get("obj", ByteRange::at(10, 1)); }) == StoreErrorKind::kInvalidRange);
  CHECK(kind_of([&] { store.get("obj", ByteRange::at(11, 1)); }) == StoreErrorKind::kInvalidRange);
  CHECK(kind_of([&] { store.get("obj", ByteRange::last(0)); }) == StoreErrorKind::kInvalidRange);
}

TEST_CASE("file store: list is recursive, ordered, prefix- and start_after-filtered", "[file]") {
  TempDir dir;
  FileStore store(dir.path());
  for (const char* key : {"ltx/1/b", "ltx/0/b", "ltx/0/a", "ltx/10/a", "lock.json", "ltx0", "z"}) {
    store.put(key, span_of(key));
  }
  CHECK(keys_of(store.list("")) == std::vector<std::string>{"lock.json", "ltx/0/a", "ltx/0/b",
                                                            "ltx/1/b", "ltx/10/a", "ltx0", "z"});
  CHECK(keys_of(store.list("ltx/")) ==
        std::vector<std::string>{"ltx/0/a", "ltx/0/b", "ltx/1/b", "ltx/10/a"});
  CHECK(keys_of(store.list("ltx/1")) == std::vector<std::string>{"ltx/1/b", "ltx/10/a"});
  CHECK(keys_of(store.list("ltx/0/")) == std::vector<std::string>{"ltx/0/a", "ltx/0/b"});
  CHECK(keys_of(store.list("ltx/", "ltx/0/b")) == std::vector<std::string>{"ltx/1/b", "ltx/10/a"});
  CHECK(keys_of(store.list("", "ltx0")) == std::vector<std::string>{"z"});
  CHECK(store.list("nothing/here/").empty());
  auto listed = store.list("z");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].size == 1);
  CHECK(listed[0].etag == store.head("z")->etag);
}

TEST_CASE("file store: metadata round trip, replaced with the object", "[file]") {
  TempDir dir;
  FileStore store(dir.path());
  PutOptions options;
  options.metadata = {{"litestream-timestamp", "2025-01-01T00:00:00Z"}, {"x", "1"}};
  store.put("k", span_of("v1"), options);
  auto got = store.get("k");
  CHECK(got.metadata == options.metadata);
  CHECK(store.get("k", ByteRange::at(0, 1)).metadata == options.metadata);

  store.put("k", span_of("v2"));  // no metadata now
  CHECK(store.get("k").metadata.empty());

  // A sidecar that belongs to another version of the object (as a crash between the two renames
  // would leave) is ignored rather than attached to the wrong content.
  store.put("k", span_of("v3"), options);
  std::filesystem::copy_file(dir.path() + "/.ltxvfs-meta/k", dir.path() + "/saved");
  store.put("k", span_of("v4"));
  std::filesystem::rename(dir.path() + "/saved", dir.path() + "/.ltxvfs-meta/k");
  CHECK(store.get("k").metadata.empty());

  options.metadata = {{"Bad Name", "x"}};
  CHECK(kind_of([&] { store.put("k", span_of("v"), options); }) ==
        StoreErrorKind::kInvalidArgument);
}

TEST_CASE("file store: conditional puts", "[file]") {
  TempDir dir;
  FileStore store(dir.path());
  PutOptions create;
  create.if_none_match = true;
  auto first = store.put("lock.json", span_of("a"), create);
  CHECK(kind_of([&] { store.put("lock.json", span_of("b"), create); }) ==
        StoreErrorKind::kPreconditionFailed);
  CHECK(text(store.get("lock.json").body) == "a");

  PutOptions replace;
  replace.if_match = first.etag;
  auto second = store.put("lock.json", span_of("c"), replace);
  CHECK(text(store.get("lock.json").body) == "c");
  CHECK(kind_of([&] { store.put("lock.json", span_of("d"), replace); }) ==
        StoreErrorKind::kPreconditionFailed);  // stale etag
  replace.if_match = second.etag;
  CHECK(kind_of([&] { store.put("absent.json", span_of("d"), replace); }) ==
        StoreErrorKind::kNotFound);
  CHECK(text(store.get("lock.json").body) == "c");
}

TEST_CASE("file store: racing If-None-Match writers, threads: exactly one wins", "[file]") {
  TempDir dir;
  FileStore store(dir.path());
  for (int round = 0; round < 20; ++round) {
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
}

TEST_CASE("file store: racing If-Match writers, threads: exactly one wins", "[file]") {
  TempDir dir;
  FileStore store(dir.path());
  for (int round = 0; round < 20; ++round) {
    const auto etag = store.put("lease", span_of("gen " + std::to_string(round))).etag;
    std::atomic<int> winners{0}, losers{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        PutOptions replace;
        replace.if_match = etag;
        try {
          store.put("lease", span_of("next"), replace);
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

TEST_CASE("file store: racing If-None-Match writers, processes: exactly one wins", "[file]") {
  TempDir dir;
  { FileStore create_root(dir.path()); }
  for (int round = 0; round < 5; ++round) {
    const std::string key = "proc-race/" + std::to_string(round);
    std::vector<pid_t> children;
    for (int p = 0; p < 4; ++p) {
      pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        // Child: no Catch2 here, just an exit status. 0 = won, 1 = lost, 2 = other error.
        int status = 2;
        try {
          FileStore store(dir.path());
          PutOptions create;
          create.if_none_match = true;
          store.put(key, span_of(std::string(4096, static_cast<char>('a' + p))), create);
          status = 0;
        } catch (const StoreError& e) {
          status = e.kind() == StoreErrorKind::kPreconditionFailed ? 1 : 2;
        } catch (...) {
        }
        ::_exit(status);
      }
      children.push_back(pid);
    }
    int winners = 0, losers = 0;
    for (pid_t pid : children) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      REQUIRE(WIFEXITED(status));
      if (WEXITSTATUS(status) == 0) ++winners;
      if (WEXITSTATUS(status) == 1) ++losers;
    }
    CHECK(winners == 1);
    CHECK(losers == 3);
    FileStore store(dir.path());
    const auto body = store.get(key).body;
    CHECK(body.size() == 4096);
    CHECK(std::all_of(body.begin(), body.end(), [&](uint8_t c) { return c == body[0]; }));
  }
}

TEST_CASE("file store: readers never see a partial object during overwrites", "[file]") {
  TempDir dir;
  FileStore store(dir.path());
  const std::string a(256 * 1024, 'a'), b(256 * 1024, 'b');
  store.put("big", span_of(a));
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; i < 30; ++i) store.put("big", span_of(i % 2 ? a : b));
    stop = true;
  });
  int reads = 0;
  while (!stop) {
    auto body = store.get("big").body;
    REQUIRE(body.size() == a.size());
    REQUIRE(std::all_of(body.begin(), body.end(), [&](uint8_t c) { return c == body[0]; }));
    ++reads;
  }
  writer.join();
  CHECK(reads > 0);
}

TEST_CASE("file store: temporary and internal files are never listed", "[file]") {
  TempDir dir;
  FileStore store(dir.path());
  store.put("ltx/0/a.ltx", span_of("x"), PutOptions{false, std::nullopt, {{"m", "1"}}});
  // What a crashed writer leaves behind.
  std::ofstream(dir.path() + "/ltx/0/.ltxvfs-tmp-123-abc") << "partial";
  std::ofstream(dir.path() + "/.ltxvfs-tmp-999") << "partial";
  CHECK(keys_of(store.list("")) == std::vector<std::string>{"ltx/0/a.ltx"});
  CHECK(keys_of(store.list("ltx/0/")) == std::vector<std::string>{"ltx/0/a.ltx"});
  CHECK(kind_of([&] { store.put("ltx/.ltxvfs-meta/x", span_of("x")); }) ==
        StoreErrorKind::kInvalidArgument);
  CHECK(kind_of([&] { store.put("a//b", span_of("x")); }) == StoreErrorKind::kInvalidArgument);
  CHECK(kind_of([&] { store.put("a/../b", span_of("x")); }) == StoreErrorKind::kInvalidArgument);
  CHECK(kind_of([&] { store.put("/abs", span_of("x")); }) == StoreErrorKind::kInvalidArgument);
  CHECK(kind_of([&] { store.put("dir/", span_of("x")); }) == StoreErrorKind::kInvalidArgument);
  CHECK(kind_of([&] { store.put("", span_of("x")); }) == StoreErrorKind::kInvalidArgument);
  // A successful put leaves no temporary file behind.
  int temps = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (e.path().filename().string().rfind(".ltxvfs-tmp-", 0) == 0) ++temps;
  }
  CHECK(temps == 2);  // just the two planted above
}

TEST_CASE("file store: remove", "[file]") {
  TempDir dir;
  FileStore store(dir.path());
  store.put("a/1", span_of("x"), PutOptions{false, std::nullopt, {{"m", "1"}}});
  store.put("a/2", span_of("x"));
  store.put("b", span_of("x"));
  store.remove({"a/1", "b", "never-existed"});
  CHECK(keys_of(store.list("")) == std::vector<std::string>{"a/2"});
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/.ltxvfs-meta/a/1"));
  store.remove({});
  // A re-created object does not inherit the removed one's metadata.
  store.put("a/1", span_of("y"));
  CHECK(store.get("a/1").metadata.empty());
}

TEST_CASE("file store: missing or unusable root directories", "[file]") {
  TempDir dir;
  FileStoreOptions no_create;
  no_create.create_if_missing = false;
  CHECK(kind_of([&] { FileStore(dir.path() + "/absent", no_create); }) ==
        StoreErrorKind::kNoSuchBucket);
  std::ofstream(dir.path() + "/plain-file") << "x";
  CHECK(kind_of([&] { FileStore store(dir.path() + "/plain-file"); }) ==
        StoreErrorKind::kInvalidArgument);

  FileStore store(dir.path() + "/r");
  std::filesystem::remove_all(dir.path() + "/r");
  CHECK(kind_of([&] { store.list(""); }) == StoreErrorKind::kNoSuchBucket);
  CHECK(kind_of([&] { store.get("x"); }) == StoreErrorKind::kNoSuchBucket);

  if (::geteuid() != 0) {  // root ignores permissions
    FileStore ro(dir.path() + "/ro");
    std::filesystem::permissions(dir.path() + "/ro", std::filesystem::perms::owner_read |
                                                         std::filesystem::perms::owner_exec);
    CHECK(kind_of([&] { ro.put("x", span_of("x")); }) == StoreErrorKind::kAccessDenied);
  }
}
