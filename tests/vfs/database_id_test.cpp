// The database id a writer seals encrypted files for (vfs/writer/database_id.h): where it comes
// from at open, that it is recorded before anything is built, and that an open which cannot learn
// it from the store is refused rather than guessing one.
#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "base/posix_file.h"
#include "history/committed_history.h"
#include "ltx/checksum.h"
#include "ltx/encoder.h"
#include "ltx/encryption_key.h"
#include "storage/fault_injecting_store.h"
#include "storage/file_store.h"
#include "storage/replica_layout.h"
#include "tests/ltx/test_support.h"
#include "tests/storage/test_util.h"
#include "vfs/writer/database_id.h"

using namespace ltxvfs;
using ltxvfs::testing::TempDir;

namespace {

constexpr storage::LayoutStyle kLayout = storage::LayoutStyle::kDirectory;
constexpr uint64_t kStoredId = 0x1234567890abcdefULL;

// A replica holding one snapshot, TXID 1, encrypted for kStoredId when `key` is given.
void put_snapshot(storage::ObjectStore& store, const ltx::KeyPtr& key) {
  const auto page = ltxtest::compressible_page(4096, 7);
  ltx::DatabaseChecksum sum;
  sum.toggle(1, page);
  const auto options = key ? ltx::EncodeOptions::of(ltx::OutputFormat::kNative, key, kStoredId)
                           : ltx::EncodeOptions::native();
  const auto file =
      ltxtest::encode(ltxtest::make_header(4096, 1, 1, 1), {{1, page}}, options, sum.value());
  store.put(storage::ltx_key(kLayout, 0, 1, 1), file);
}

ltx::KeyPtr test_key() {
  ltx::KeyPtr k = ltx::parse_key(std::string(64, '7'));
  ltx::register_keys(ltx::KeyRing{{k}});
  return k;
}

}  // namespace

TEST_CASE("database id: recorded durably, read back, and a damaged record is refused",
          "[database-id]") {
  TempDir tmp;
  const std::string path = tmp.path() + "/database-id";
  CHECK(writer::read_database_id(path) == std::nullopt);
  writer::write_database_id(path, kStoredId, base::kDefaultFileMode);
  CHECK(writer::read_database_id(path) == kStoredId);
  std::ofstream(path) << "not an id\n";
  CHECK_THROWS_WITH(writer::read_database_id(path), Catch::Contains(path));
  std::ofstream(path) << "0000000000000000\n";  // 0 is no id
  CHECK_THROWS(writer::read_database_id(path));
}

TEST_CASE("database id: the record wins, then the adopted history, then the replica's newest file",
          "[database-id]") {
  TempDir tmp;
  const std::string path = tmp.path() + "/database-id";
  storage::FileStore store(tmp.path() + "/replica");
  put_snapshot(store, test_key());
  const auto remote = history::read_history(store, kLayout);
  REQUIRE(remote.files.size() == 1);

  SECTION("no record: the newest file's id, recorded") {
    CHECK(writer::settle_database_id(path, 0, remote, store, base::kDefaultFileMode) == kStoredId);
    CHECK(writer::read_database_id(path) == kStoredId);
  }
  SECTION("a record: its id, whatever the store says") {
    writer::write_database_id(path, 42, base::kDefaultFileMode);
    CHECK(writer::settle_database_id(path, 0, remote, store, base::kDefaultFileMode) == 42);
  }
  SECTION("an adopted history: its id, over the record, and recorded") {
    writer::write_database_id(path, 42, base::kDefaultFileMode);
    CHECK(writer::settle_database_id(path, 77, remote, store, base::kDefaultFileMode) == 77);
    CHECK(writer::read_database_id(path) == 77);
  }
}

TEST_CASE("database id: a new id when the store names none, kept at the next open",
          "[database-id]") {
  TempDir tmp;
  const std::string path = tmp.path() + "/database-id";
  storage::FileStore store(tmp.path() + "/replica");
  put_snapshot(store, nullptr);  // unencrypted: a key given for the first time
  const auto remote = history::read_history(store, kLayout);
  const uint64_t first = writer::settle_database_id(path, 0, remote, store, base::kDefaultFileMode);
  CHECK(first != 0);
  CHECK(first != kStoredId);
  CHECK(writer::settle_database_id(path, 0, std::nullopt, store, base::kDefaultFileMode) == first);
  // Another database draws another id.
  TempDir other;
  CHECK(writer::settle_database_id(other.path() + "/database-id", 0, std::nullopt, store,
                                   base::kDefaultFileMode) != first);
}

TEST_CASE("database id: a store that fails the header read refuses the open, records nothing",
          "[database-id]") {
  TempDir tmp;
  const std::string path = tmp.path() + "/database-id";
  storage::FaultInjectingStore store(std::make_unique<storage::FileStore>(tmp.path() + "/replica"));
  put_snapshot(store, test_key());
  const auto remote = history::read_history(store, kLayout);
  store.fail_next(1);
  CHECK_THROWS_WITH(
      writer::settle_database_id(path, 0, remote, store, base::kDefaultFileMode),
      Catch::Contains("cannot read the newest file") && Catch::Contains("open again"));
  CHECK(writer::read_database_id(path) == std::nullopt);
  CHECK(writer::settle_database_id(path, 0, remote, store, base::kDefaultFileMode) == kStoredId);
}
