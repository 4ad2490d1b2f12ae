// What the replica engine's tests (engine_test, fetcher_test, bad_object_engine_test,
// hydrator_test) share: a fresh scratch directory, a replica's options and a location over it,
// reading a page as SQLite would, the page a model primary says it holds, and the message of an
// exception.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include "storage/store_factory.h"
#include "tests/replica/model_replica.h"
#include "vfs/replica/btree_page.h"
#include "vfs/replica/location.h"
#include "vfs/replica/replica.h"
#include "vfs/replica/snapshot.h"

namespace replicatest {

// <scratch>/<name>-<pid>, empty. The pid: ctest runs each test case as its own process, several
// at once, and test cases that share a fixture (frame_stream_test's OneRange) ask for the same
// name: one wiped the other's store mid-test, whose replica then lacked the pages it asked for
// (CI's sanitizer stage: UBSan on the FrameRef an empty std::optional gave).
inline std::string fresh_dir(const std::string& name) {
  // Built as a path, not by string concatenation, which GCC 12's -Warray-bounds flags falsely
  // once this function is inlined into a large test file.
  const std::string dir = (std::filesystem::path(LTXVFS_REPLICA_SCRATCH_DIR) /
                           (name + "-" + std::to_string(::getpid())))
                              .string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A replica of the directory `dir`, polled every 20 ms.
inline ltxvfs::replica::ReplicaOptions options_for(const std::string& dir) {
  ltxvfs::replica::ReplicaOptions o;
  o.url = dir;
  o.poll_ms = 20;
  return o;
}

// A location replicas can share, its store opened as a replica's own.
inline std::shared_ptr<ltxvfs::replica::Location> location_for(
    const ltxvfs::replica::ReplicaOptions& options) {
  return std::make_shared<ltxvfs::replica::Location>(
      ltxvfs::storage::open_store(options.store_url(), ltxvfs::replica::replica_store_settings()),
      options.cache_bytes);
}

inline std::vector<uint8_t> read_page(ltxvfs::replica::Replica& r,
                                      const ltxvfs::replica::Snapshot& s, uint32_t pgno) {
  std::vector<uint8_t> out(s.page_size());
  r.read(s, uint64_t{pgno - 1} * s.page_size(), out, nullptr);
  return out;
}

// The model's page, with page 1's header presented as the replica presents it.
inline std::vector<uint8_t> expected_page(const ltxvfs::testing::ModelPrimary& m,
                                          const ltxvfs::replica::Snapshot& s, uint32_t pgno) {
  auto p = m.page_at(s.txid(), pgno);
  if (pgno == 1) ltxvfs::replica::present_header(p, 0, s.change_counter(), s.commit());
  return p;
}

// The message `f` throws, "" when it does not.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace replicatest
