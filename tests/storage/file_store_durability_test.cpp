// What a directory store fsyncs (storage/file_store.h, "Durability"): a durable put syncs its
// file and directory and every directory that gained an entry without a sync before it (the root
// the constructor made, the directories a put that need not be durable made); a put with
// PutOptions::durable false syncs nothing. Seen through the test binary's own fsync()
// (tests/support/fsync_log.h): a power cut is the only other way.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "storage/file_store.h"
#include "tests/storage/test_util.h"
#include "tests/support/fsync_log.h"

using namespace ltxvfs;
using ltxvfs::testing::bytes;
using ltxvfs::testing::FsyncLog;
using ltxvfs::testing::TempDir;
using ltxvfs::testing::text;

TEST_CASE("file store: a put that need not be durable syncs nothing, the next durable one the rest",
          "[file]") {
  TempDir tmp;
  const std::string base = std::filesystem::canonical(tmp.path()).string();
  const std::string root = base + "/a/b/replica";
  FsyncLog log;
  storage::FileStore store(root);  // makes a, a/b and a/b/replica
  CHECK(log.calls().empty());
  storage::PutOptions lease;
  lease.durable = false;
  lease.if_none_match = true;
  store.put("lock.json", bytes("held"), lease);
  store.put("x/y/lock.json", bytes("held"), lease);  // makes x and x/y
  INFO(log.calls().size() << " calls, the first " << (log.calls().empty() ? "" : log.calls()[0]));
  CHECK(log.calls().empty());
  CHECK(text(store.get("lock.json").body) == "held");

  store.put("ltx/0/one.ltx", bytes("one"));
  // Its own directory, and the ones it made (ltx, ltx/0: their parents gained an entry)...
  CHECK(log.synced(root + "/ltx/0"));
  CHECK(log.synced(root + "/ltx"));
  CHECK(log.synced(root));
  // ... and every directory that gained one without a sync before it.
  for (const std::string& dir : {base, base + "/a", base + "/a/b", root + "/x"}) {
    INFO(dir);
    CHECK(log.synced(dir));
  }
  // Once: the next durable put syncs its file and its directory alone.
  log.clear();
  store.put("ltx/0/two.ltx", bytes("two"));
  CHECK(log.calls().size() == 2);
  CHECK(log.synced(root + "/ltx/0"));
  CHECK_FALSE(log.synced(base + "/a"));
  CHECK(text(store.get("ltx/0/two.ltx").body) == "two");
}
