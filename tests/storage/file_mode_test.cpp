// FileStore creates every file with exactly StoreSettings::file_mode and every directory with
// that mode plus execute where read is set, whatever the umask: a private (0600) database gets
// a private replica.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "base/posix_file.h"
#include "storage/file_store.h"
#include "storage/store_factory.h"
#include "test_util.h"

using namespace ltxvfs::storage;
using ltxvfs::testing::span_of;
using ltxvfs::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// Sets the process umask for the scope (tests in one process run one at a time).
class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t mask) : old_(::umask(mask)) {}
  ~UmaskGuard() { ::umask(old_); }

 private:
  mode_t old_;
};

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string octal(mode_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0%o", static_cast<unsigned>(mode));
  return buf;
}

// Every kind of file the store makes: objects by put and by If-None-Match (link), put_body,
// an overwrite with If-Match, metadata sidecars, the lock file, nested directories.
void exercise(ObjectStore& store) {
  PutOptions with_meta;
  with_meta.metadata["litestream-timestamp"] = "2026-12-01T10:00:00Z";
  auto a = store.put("ltx/0/0000000000000001-0000000000000001.ltx", span_of("one"), with_meta);
  PutOptions create;
  create.if_none_match = true;
  store.put("ltx/0/0000000000000002-0000000000000002.ltx", span_of("two"), create);
  const std::string body = "three";
  store.put_body("ltx/9/0000000000000001-0000000000000003.ltx", MemoryBody(span_of(body)), create);
  PutOptions replace = with_meta;
  replace.if_match = a.etag;
  store.put("ltx/0/0000000000000001-0000000000000001.ltx", span_of("uno"), replace);
  store.put("lock.json", span_of("{}"));
}

// Checks the mode of everything under `root` (the root too) and returns how many entries of
// each kind it saw.
std::pair<int, int> check_tree(const std::string& root, mode_t file_mode, mode_t dir_mode) {
  int files = 0, dirs = 1;
  CHECK(octal(mode_of(root)) == octal(dir_mode));
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string path = entry.path().string();
    INFO(path);
    if (entry.is_directory()) {
      CHECK(octal(mode_of(path)) == octal(dir_mode));
      ++dirs;
    } else {
      CHECK(octal(mode_of(path)) == octal(file_mode));
      ++files;
    }
  }
  return {files, dirs};
}

}  // namespace

TEST_CASE("file modes: directory mode adds execute where read is set", "[file][mode]") {
  CHECK(ltxvfs::base::directory_mode(0600) == 0700);
  CHECK(ltxvfs::base::directory_mode(0640) == 0750);
  CHECK(ltxvfs::base::directory_mode(0644) == 0755);
  CHECK(ltxvfs::base::directory_mode(0660) == 0770);
  CHECK(ltxvfs::base::directory_mode(0400) == 0500);
  CHECK(ltxvfs::base::directory_mode(0666) == 0777);
}

TEST_CASE("file modes: exactly as configured under umask 0 and 0022", "[file][mode]") {
  for (mode_t mask : {mode_t{0}, mode_t{022}}) {
    for (mode_t file_mode : {mode_t{0600}, mode_t{0640}, mode_t{0644}, mode_t{0666}}) {
      INFO("umask " << octal(mask) << ", file_mode " << octal(file_mode));
      TempDir dir;
      UmaskGuard umask(mask);
      // The root and its missing parent are created by the store: they get the mode too.
      const std::string root = dir.path() + "/app.db-ltx/replica";
      StoreSettings settings;
      settings.file_mode = file_mode;
      auto opened = open_store(root, settings);
      exercise(*opened.store);
      const mode_t dir_mode = ltxvfs::base::directory_mode(file_mode);
      CHECK(octal(mode_of(dir.path() + "/app.db-ltx")) == octal(dir_mode));
      const auto [files, dirs] = check_tree(root, file_mode, dir_mode);
      // 4 objects (3 LTX files, lock.json), the metadata sidecar of the one put with metadata
      // (the others have none), the store's lock file; root, ltx, ltx/0, ltx/9 and the sidecar
      // directories .ltxvfs-meta{,/ltx,/ltx/0}.
      CHECK(files == 6);
      CHECK(dirs == 7);
      CHECK(fs::exists(root + "/.ltxvfs-lock"));
    }
  }
}

TEST_CASE("file modes: existing directories and lock file keep their modes", "[file][mode]") {
  TempDir dir;
  UmaskGuard umask(022);
  const std::string root = dir.path() + "/replica";
  REQUIRE(::mkdir(root.c_str(), 0751) == 0);
  FileStoreOptions options;
  options.file_mode = 0600;
  FileStore store(root, options);
  store.put("ltx/0/a.ltx", span_of("a"));
  CHECK(octal(mode_of(root)) == "0751");  // the user's directory is theirs
  CHECK(octal(mode_of(root + "/ltx")) == "0700");
  CHECK(octal(mode_of(root + "/ltx/0/a.ltx")) == "0600");
}

TEST_CASE("file modes: only permission bits are accepted", "[file][mode]") {
  TempDir dir;
  for (mode_t bad : {mode_t{01644}, mode_t{04600}, mode_t{0100644}}) {
    FileStoreOptions options;
    options.file_mode = bad;
    try {
      FileStore store(dir.path(), options);
      FAIL("mode " << octal(bad) << " accepted");
    } catch (const StoreError& e) {
      CHECK(e.kind() == StoreErrorKind::kInvalidArgument);
      CHECK_THAT(std::string(e.what()), Catch::Contains("0000..0777"));
    }
  }
}
