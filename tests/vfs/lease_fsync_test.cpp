// The writer lease is written without fsyncs on a directory store (history/writer_lease.cpp): the
// head fences every upload and the history confirms the lease before each write and delete, so a
// lease write lost to a power failure costs liveness only. It made 4 of the fsyncs in the
// foreground of a new database's open (2 for the lease, 2 for the replica directory the lease
// created), and 2 of every renewal and close. The head and the LTX files stay durable.
#include <catch2/catch.hpp>
#include <string>

#include "history/head_keeper.h"
#include "history/writer_lease.h"
#include "storage/file_store.h"
#include "storage/replica_layout.h"
#include "tests/storage/test_util.h"
#include "tests/support/fsync_log.h"

using namespace ltxvfs;
using ltxvfs::testing::FsyncLog;
using ltxvfs::testing::TempDir;

TEST_CASE("lease on a file store: its writes sync nothing, and the head it guards still does",
          "[lease]") {
  TempDir tmp;
  const std::string root = tmp.path() + "/app.db-ltx/replica";
  constexpr auto kLayout = storage::LayoutStyle::kDirectory;
  FsyncLog log;
  storage::FileStore store(root);
  history::WriterLease lease(store, kLayout);
  REQUIRE(lease.try_acquire().acquired);
  lease.renew();
  CHECK(log.calls().empty());

  // The uploader's first step takes the head: a durable put, which syncs the replica directory
  // the store made without a sync.
  history::HeadKeeper head(store, kLayout, [] { return history::HeadIdentity{"w:1:1", 1}; });
  head.take([](const history::History&) { return uint64_t{0}; });
  CHECK(log.synced(root));
  CHECK(log.synced(tmp.path() + "/app.db-ltx"));
  CHECK(log.synced(tmp.path()));

  log.clear();
  lease.release();
  CHECK(log.calls().empty());
  CHECK_FALSE(lease.held());
}
