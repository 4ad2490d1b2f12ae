// FileStore's own behaviour: plain files, sidecars, processes sharing a directory, internal
// files, root directory errors. What every store shares is in store_contract_test.cpp, which runs
// the same cases on a FileStore (and on S3 and the fault-injecting store).
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

TEST_CASE("file store: objects are plain files under the root, which describe() names", "[file]") {
  TempDir dir;
  FileStore store(dir.path() + "/replica");
  CHECK(store.describe() == "file://" + dir.path() + "/replica");
  store.put("ltx/0/a.ltx", span_of("hello world"));
  CHECK(std::filesystem::is_regular_file(dir.path() + "/replica/ltx/0/a.ltx"));
  CHECK(std::filesystem::file_size(dir.path() + "/replica/ltx/0/a.ltx") == 11);
}

TEST_CASE("file store: a metadata sidecar of another version of the object is ignored", "[file]") {
  TempDir dir;
  FileStore store(dir.path());
  PutOptions options;
  options.metadata = {{"litestream-timestamp", "2025-01-01T00:00:00Z"}, {"x", "1"}};
  // A sidecar that belongs to another version of the object (as a crash between the two renames
  // would leave) is ignored rather than attached to the wrong content.
  store.put("k", span_of("v3"), options);
  CHECK(store.get("k").metadata == options.metadata);
  std::filesystem::copy_file(dir.path() + "/.ltxvfs-meta/k", dir.path() + "/saved");
  store.put("k", span_of("v4"));
  std::filesystem::rename(dir.path() + "/saved", dir.path() + "/.ltxvfs-meta/k");
  CHECK(store.get("k").metadata.empty());
  // No sidecar is fsynced (metadata is advisory here): after a crash of the machine it may be
  // that stale one (above), missing, empty or cut short. Each reads as no metadata, and the
  // object is whole.
  store.put("k", span_of("v5"), options);
  const std::string sidecar = dir.path() + "/.ltxvfs-meta/k";
  std::string text;
  std::getline(std::ifstream(sidecar), text);
  REQUIRE(text.size() > 20);
  std::ofstream(sidecar, std::ios::trunc) << text.substr(0, text.size() / 2);
  CHECK(store.get("k").metadata.empty());
  std::ofstream(sidecar, std::ios::trunc).close();
  CHECK(store.get("k").metadata.empty());
  std::filesystem::remove(sidecar);
  CHECK(store.get("k").metadata.empty());
  CHECK(store.get("k").body == std::vector<uint8_t>{'v', '5'});
}

// head.json and lock.json carry no metadata and are rewritten at every upload and lease
// renewal: no sidecar is written for them (one file and one rename fewer a put, issue 18), and
// a version with metadata replaced by one without reads as having none.
TEST_CASE("file store: an object without metadata has no sidecar, and reads as having none",
          "[file]") {
  TempDir dir;
  FileStore store(dir.path());
  const std::string sidecar = dir.path() + "/.ltxvfs-meta/k";
  store.put("k", span_of("v1"));
  CHECK_FALSE(std::filesystem::exists(sidecar));
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/.ltxvfs-meta"));
  CHECK(store.get("k").metadata.empty());
  PutOptions with;
  with.metadata = {{"x", "1"}};
  store.put("k", span_of("v2"), with);
  CHECK(std::filesystem::exists(sidecar));
  CHECK(store.get("k").metadata == with.metadata);
  PutOptions if_match;
  if_match.if_match = store.head("k")->etag;
  store.put("k", span_of("v3"), if_match);
  CHECK_FALSE(std::filesystem::exists(sidecar));
  CHECK(store.get("k").metadata.empty());
  CHECK(store.get("k").body == std::vector<uint8_t>{'v', '3'});
  // A refused conditional put leaves the object's sidecar as it was.
  store.put("j", span_of("j1"), with);
  PutOptions absent = with;
  absent.if_none_match = true;
  absent.metadata = {{"x", "2"}};
  CHECK_THROWS_AS(store.put("j", span_of("j2"), absent), StoreError);
  CHECK(store.get("j").metadata == with.metadata);
  PutOptions stale = with;
  stale.if_match = "\"not-the-etag\"";
  CHECK_THROWS_AS(store.put("j", span_of("j3"), stale), StoreError);
  CHECK(store.get("j").metadata == with.metadata);
}

// Readers beside a writer that alternates puts with and without metadata: each get returns the
// metadata of the version it read, never another's and never none for one that has some.
TEST_CASE("file store: gets beside puts with and without metadata see each version's own",
          "[file]") {
  TempDir dir;
  FileStore store(dir.path());
  store.put("k", span_of("none"));
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!done) {
      const GetResult r = store.get("k");
      const std::string body(r.body.begin(), r.body.end());
      const bool ok = body == "none" ? r.metadata.empty()
                                     : r.metadata.size() == 1 && r.metadata.at("v") == body;
      if (!ok) ++wrong;
      ++reads;
    }
  });
  for (int i = 0; i < 400; ++i) {
    if (i % 2 == 0) {
      PutOptions with;
      with.metadata = {{"v", "m" + std::to_string(i)}};
      store.put("k", span_of("m" + std::to_string(i)), with);
    } else {
      store.put("k", span_of("none"));
    }
  }
  done = true;
  reader.join();
  CHECK(reads > 0);
  CHECK(wrong == 0);
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

// Issue 16, item 10: a writer's open lists thousands of level-0 files, and stat'ed each one.
TEST_CASE("file store: list_keys names what list names, without a stat call per file", "[file]") {
  TempDir dir;
  FileStore store(dir.path());
  for (const char* key : {"ltx/0/a.ltx", "ltx/0/b.ltx", "ltx/1/c.ltx", "ltx-other", "top"}) {
    store.put(key, span_of("x"));
  }
  std::filesystem::create_directories(dir.path() + "/ltx/2");  // an empty level
  std::filesystem::create_symlink(dir.path() + "/top", dir.path() + "/ltx/0/link.ltx");
  for (const auto& [prefix, after] : std::vector<std::pair<std::string, std::string>>{
           {"", ""}, {"ltx/", ""}, {"ltx/0/", ""}, {"ltx/", "ltx/0/a.ltx"}, {"lt", "ltx/1/"}}) {
    INFO("prefix '" << prefix << "' after '" << after << "'");
    const auto listed = store.list(prefix, after);
    const auto keys = store.list_keys(prefix, after);
    CHECK(keys_of(keys) == keys_of(listed));  // a symbolic link is no object in either
    for (const auto& o : listed) CHECK_FALSE(o.etag.empty());
    // ext4, tmpfs, xfs and btrfs give an entry's type: nothing else is known without a stat.
    for (const auto& o : keys) {
      INFO(o.key);
      CHECK((o.etag.empty() && o.size == 0 && o.last_modified_ms == 0));
    }
  }
}

TEST_CASE("file store: remove deletes the metadata sidecar too", "[file]") {
  TempDir dir;
  FileStore store(dir.path());
  store.put("a/1", span_of("x"), PutOptions{false, std::nullopt, {{"m", "1"}}});
  REQUIRE(std::filesystem::exists(dir.path() + "/.ltxvfs-meta/a/1"));
  store.remove({"a/1", "never-existed"});
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/a/1"));
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/.ltxvfs-meta/a/1"));
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
