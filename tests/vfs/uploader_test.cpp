// The uploader on its own (no SQLite): a spool of durable records shipped to a directory store,
// with a fault-injecting store in front for failures, and objects placed in the store behind its
// back for the cases a crash or another writer leaves there.
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "base/posix_file.h"
#include "base/time_spec.h"
#include "history/head_keeper.h"
#include "history/head_record.h"
#include "history/restore_plan.h"
#include "ltx/header.h"
#include "ltx/page_index.h"
#include "storage/fault_injecting_store.h"
#include "storage/file_store.h"
#include "storage/replica_layout.h"
#include "tests/storage/forwarding_store.h"
#include "tests/storage/test_util.h"
#include "tests/vfs/writer_test_support.h"
#include "vfs/writer/spool.h"
#include "vfs/writer/uploader.h"

using namespace ltxvfs;
using namespace ltxvfs::writer;
using ltxvfs::base::kDefaultFileMode;
using ltxvfs::storage::LayoutStyle;
using ltxvfs::testing::Bytes;
using ltxvfs::testing::LtxHistory;
using ltxvfs::testing::mode_of;
using ltxvfs::testing::TempDir;
using Outcome = ltxvfs::writer::Uploader::Outcome;

namespace {

constexpr LayoutStyle kLayout = LayoutStyle::kDirectory;

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

Ranges ranges_of(const std::vector<SpoolEntry>& entries) {
  Ranges out;
  for (const auto& e : entries) out.emplace_back(e.min_txid, e.max_txid);
  return out;
}

std::string key(uint64_t min, uint64_t max, uint32_t level = 0) {
  return storage::ltx_key(kLayout, level, min, max);
}

// The LTX objects of the store as (level, min, max), in listing order (level, then min TXID).
using Objects = std::vector<std::tuple<uint32_t, uint64_t, uint64_t>>;
Objects objects(storage::ObjectStore& store) {
  Objects out;
  for (const auto& f : history::list_ltx_files(store, kLayout)) {
    out.emplace_back(f.level, f.min_txid, f.max_txid);
  }
  return out;
}

ltx::Header header_of(const Bytes& file) {
  REQUIRE(file.size() >= ltx::kHeaderSize);
  return ltx::Header::decode(std::span(file).first(ltx::kHeaderSize));
}

// The database the level-0 objects restore to: a snapshot, then contiguous files.
Bytes restore_level0(storage::ObjectStore& store, uint32_t page_size) {
  std::map<uint32_t, Bytes> pages;
  uint32_t commit = 0;
  uint64_t txid = 0;
  for (const auto& f : history::list_ltx_files(store, kLayout)) {
    if (f.level != 0) continue;
    INFO(f.key);
    REQUIRE(f.min_txid == (txid == 0 ? 1 : txid + 1));
    const Bytes body = store.get(f.key).body;
    const ltx::Header h = header_of(body);
    CHECK(h.min_txid == f.min_txid);
    CHECK(h.max_txid == f.max_txid);
    for (auto& p : ltxtest::decode_pages(body, f.key)) pages[p.pgno] = std::move(p.data);
    commit = h.commit;
    pages.erase(pages.upper_bound(commit), pages.end());
    txid = h.max_txid;
  }
  Bytes image(size_t{commit} * page_size, 0);
  for (const auto& [pgno, data] : pages) {
    std::copy(data.begin(), data.end(), image.begin() + std::ptrdiff_t{pgno - 1} * page_size);
  }
  return image;
}

// A database's replication state for one test: history, spool, store and uploader.
struct Rig {
  explicit Rig(UploadLimits upload_limits = {},
               ltx::OutputFormat output_format = ltx::OutputFormat::kNative)
      : history(output_format == ltx::OutputFormat::kNative ? ltx::EncodeOptions::native()
                                                            : ltx::EncodeOptions::litestream()),
        files(std::make_unique<storage::FileStore>(tmp.path() + "/replica")),
        store(*files),
        spool(std::make_unique<Spool>(tmp.path() + "/db-ltx/spool", kDefaultFileMode)),
        format(output_format),
        limits(upload_limits) {
    uploader = make_uploader(store);
  }

  // A new writer incarnation: its own head keeper (history/head_keeper.h) on `s`.
  std::unique_ptr<Uploader> make_uploader(storage::ObjectStore& s) {
    heads.push_back(std::make_unique<history::HeadKeeper>(s, kLayout, [] {
      return history::HeadIdentity{"test-host:1:0", 1};
    }));
    return std::make_unique<Uploader>(*spool, s, kLayout, *heads.back(), format, work_path(), 0600,
                                      limits);
  }
  std::string work_path() const { return tmp.path() + "/db-ltx/upload.tmp"; }

  // Spools TXIDs min..max as one record.
  void add(uint64_t min, uint64_t max) {
    spool->append(history.state(max), min, history.range(min, max));
  }
  // A restart: the spool is read again from its logs, the uploader starts from scratch.
  void reopen() {
    uploader.reset();
    spool.reset();
    spool = std::make_unique<Spool>(tmp.path() + "/db-ltx/spool", kDefaultFileMode);
    uploader = make_uploader(store);
  }
  // Puts TXIDs min..max into the store directly (an earlier process, or another writer).
  void put_remote(uint64_t min, uint64_t max, uint32_t level = 0) {
    files->put(key(min, max, level), history.range(min, max));
  }
  uint64_t puts() const { return files->stats()->snapshot().puts; }

  TempDir tmp;
  LtxHistory history;
  std::unique_ptr<storage::FileStore> files;
  storage::ObjectStore& store;
  std::unique_ptr<Spool> spool;
  ltx::OutputFormat format;
  UploadLimits limits;
  std::vector<std::unique_ptr<history::HeadKeeper>> heads;
  std::unique_ptr<Uploader> uploader;
};

// A store whose GETs fail (as a GET does once the store's own retries are spent) while
// `fail_gets` is set; everything else goes to the directory store.
class FailingGets final : public ltxvfs::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  bool fail_gets = false;
  uint64_t failed = 0;

  storage::GetResult get(const std::string& key, std::optional<storage::ByteRange> range) override {
    if (fail_gets) {
      ++failed;
      throw storage::StoreError(storage::StoreErrorKind::kUnavailable,
                                "GET " + key + ": 503 SlowDown (test)");
    }
    return inner_.get(key, range);
  }
};

std::string conflict_of(Uploader& u) {
  try {
    u.step();
  } catch (const RemoteConflict& e) {
    return e.what();
  }
  FAIL("expected a RemoteConflict");
  return "";
}

}  // namespace

TEST_CASE("uploader: durable records go up in TXID order, one level-0 object per group",
          "[uploader][unit]") {
  const auto format = GENERATE(ltx::OutputFormat::kNative, ltx::OutputFormat::kLitestream);
  Rig rig({}, format);
  auto& history = rig.history;
  auto& store = rig.store;
  auto& spool = rig.spool;
  auto& uploader = rig.uploader;
  CHECK_FALSE(uploader->remote_txid());
  // An empty spool: nothing to do, but the store has been listed.
  CHECK(uploader->step() == Outcome::kIdle);
  CHECK(uploader->remote_txid() == 0u);

  rig.add(1, 1);
  rig.add(2, 3);
  rig.add(4, 4);
  CHECK(uploader->step() == Outcome::kIdle);  // spooled, not durable
  CHECK(objects(store).empty());
  spool->make_durable();
  rig.add(5, 5);  // not durable

  // Everything durable goes up together, compacted into one object.
  CHECK(uploader->step() == Outcome::kUploaded);
  CHECK(uploader->remote_txid() == 4u);
  CHECK(uploader->objects_uploaded() == 1);
  REQUIRE(objects(store) == Objects{{0, 1, 4}});
  const auto got = store.get(key(1, 4));
  const ltx::Header h = header_of(got.body);
  CHECK(h.is_snapshot());
  CHECK(h.has_checksums() == (format == ltx::OutputFormat::kNative));
  CHECK(h.commit == history.state(4).commit);
  CHECK(got.metadata.at("litestream-timestamp") ==
        base::format_rfc3339_ms(ltxvfs::testing::time_of(4)));
  CHECK(uploader->bytes_uploaded() == got.body.size());
  CHECK(restore_level0(store, history.page_size()) == history.image(4));
  // Uploaded records leave the spool; the one not durable stays.
  CHECK(ranges_of(spool->entries()) == Ranges{{5, 5}});
  // The group was compacted in the work file, created with the given mode.
  CHECK(mode_of(rig.work_path()) == 0600);

  CHECK(uploader->step() == Outcome::kIdle);
  spool->make_durable();
  // A single record goes up as it was spooled, byte for byte.
  CHECK(uploader->step() == Outcome::kUploaded);
  CHECK(store.get(key(5, 5)).body == history.file(5));
  CHECK(uploader->remote_txid() == 5u);
  CHECK(uploader->objects_uploaded() == 2);
  CHECK(uploader->bytes_uploaded() == got.body.size() + history.file(5).size());
  CHECK(spool->count() == 0);
  CHECK(uploader->step() == Outcome::kIdle);
  CHECK(restore_level0(store, history.page_size()) == history.image(5));

  // The head names how many bytes from each object's end hold its page index (a compacted group
  // and a record as spooled alike), so that a replica reads exactly those.
  const auto head = history::read_head(store, kLayout);
  REQUIRE(head);
  REQUIRE(head->record);
  for (const auto& [min, max] : Ranges{{1, 4}, {5, 5}}) {
    const auto body = store.get(key(min, max)).body;
    const auto parsed =
        ltx::parse_file_tail(std::span(body).last(ltx::kMinTailSize), body.size(), key(min, max));
    REQUIRE(std::holds_alternative<ltx::NeedTailBytes>(parsed));
    const history::RemoteFile listed{0, min, max, key(min, max), body.size(), 0};
    CHECK(head->record->tail_bytes(listed) == std::get<ltx::NeedTailBytes>(parsed).bytes);
  }
}

TEST_CASE("uploader: max_group_bytes splits a backlog into objects, in TXID order",
          "[uploader][unit]") {
  Rig rig({/*max_group_bytes=*/1});
  auto& history = rig.history;
  auto& store = rig.store;
  auto& spool = rig.spool;
  auto& uploader = rig.uploader;
  for (uint64_t t = 1; t <= 4; ++t) rig.add(t, t);
  spool->make_durable();
  for (uint64_t t = 1; t <= 4; ++t) {
    CHECK(uploader->step() == Outcome::kUploaded);
    CHECK(uploader->remote_txid() == t);
    CHECK(store.get(key(t, t)).body == history.file(t));
    CHECK(spool->count() == 4 - t);
  }
  CHECK(uploader->step() == Outcome::kIdle);
  CHECK(objects(store) == Objects{{0, 1, 1}, {0, 2, 2}, {0, 3, 3}, {0, 4, 4}});

  // A bound that fits two records: 5-6, then 7.
  Rig two({history.file(5).size() + history.file(6).size()});
  for (uint64_t t = 1; t <= 4; ++t) two.put_remote(t, t);
  for (uint64_t t = 5; t <= 7; ++t) two.add(t, t);
  two.spool->make_durable();
  CHECK(two.uploader->step() == Outcome::kUploaded);
  CHECK(two.uploader->remote_txid() == 6u);
  CHECK(two.uploader->step() == Outcome::kUploaded);
  CHECK(two.uploader->remote_txid() == 7u);
  CHECK(objects(two.store) ==
        Objects{{0, 1, 1}, {0, 2, 2}, {0, 3, 3}, {0, 4, 4}, {0, 5, 6}, {0, 7, 7}});
  CHECK(restore_level0(two.store, history.page_size()) == two.history.image(7));
}

TEST_CASE("uploader: records the store already holds are dropped without a PUT",
          "[uploader][unit]") {
  Rig rig;
  auto& store = rig.store;
  auto& spool = rig.spool;
  auto& uploader = rig.uploader;
  // A previous process uploaded 1-1 and a group 2-3, then crashed before its spool forgot them.
  rig.put_remote(1, 1);
  rig.put_remote(2, 3);
  const std::string etag = store.head(key(2, 3))->etag;
  for (uint64_t t = 1; t <= 4; ++t) rig.add(t, t);
  spool->make_durable();
  const uint64_t puts = rig.puts();
  CHECK(uploader->step() == Outcome::kUploaded);
  CHECK(uploader->remote_txid() == 4u);
  CHECK(rig.puts() == puts + 3);  // only 4-4, and head.json: taken, then advanced to 4
  CHECK(objects(store) == Objects{{0, 1, 1}, {0, 2, 3}, {0, 4, 4}});
  CHECK(store.head(key(2, 3))->etag == etag);  // untouched
  CHECK(spool->count() == 0);
  CHECK(uploader->objects_uploaded() == 1);

  // Covered by a compacted file of a higher level just as well.
  Rig compacted;
  compacted.put_remote(1, 3, 1);
  for (uint64_t t = 2; t <= 4; ++t) compacted.add(t, t);
  compacted.spool->make_durable();
  CHECK(compacted.uploader->step() == Outcome::kUploaded);
  CHECK(objects(compacted.store) == Objects{{0, 4, 4}, {1, 1, 3}});
  CHECK(compacted.spool->count() == 0);
}

TEST_CASE("uploader: an object already at the key with the same transactions counts as uploaded",
          "[uploader][unit]") {
  Rig rig({/*max_group_bytes=*/1});
  auto& history = rig.history;
  auto& store = rig.store;
  auto& spool = rig.spool;
  auto& uploader = rig.uploader;
  rig.add(1, 1);
  rig.add(2, 2);
  spool->make_durable();
  CHECK(uploader->step() == Outcome::kUploaded);  // lists, then uploads 1-1
  // An earlier attempt at 2-2 reached the store after the listing (its answer was lost): the
  // same transactions, built at another time.
  ltx::Header h = header_of(history.file(2));
  h.timestamp_ms += 12345;
  const Bytes theirs = ltxtest::encode(h, ltxtest::decode_pages(history.file(2)),
                                       ltx::EncodeOptions::native(), history.state(2).checksum);
  REQUIRE(theirs != history.file(2));
  rig.files->put(key(2, 2), theirs);

  CHECK(uploader->step() == Outcome::kUploaded);
  CHECK(uploader->remote_txid() == 2u);
  CHECK(spool->count() == 0);
  CHECK(store.get(key(2, 2)).body == theirs);  // never overwritten
  CHECK(uploader->step() == Outcome::kIdle);
}

// The object found at the key must be read to compare it. A store that fails that read has
// said nothing about the object: the failure must reach the caller as the store error it is
// (retried with backoff), never as a RemoteConflict, which stops replication for good.
TEST_CASE("uploader: a store failure while comparing an existing object is retried, not a conflict",
          "[uploader][unit]") {
  Rig rig({/*max_group_bytes=*/1});
  auto& history = rig.history;
  auto& spool = rig.spool;
  FailingGets flaky(rig.store);
  auto up = rig.make_uploader(flaky);
  rig.add(1, 1);
  rig.add(2, 2);
  spool->make_durable();
  CHECK(up->step() == Outcome::kUploaded);
  // Our earlier attempt at 2-2 is in the store (its answer was lost).
  ltx::Header h = header_of(history.file(2));
  h.timestamp_ms += 12345;
  rig.files->put(key(2, 2),
                 ltxtest::encode(h, ltxtest::decode_pages(history.file(2)),
                                 ltx::EncodeOptions::native(), history.state(2).checksum));
  flaky.fail_gets = true;
  try {
    up->step();
    FAIL("the failed GET must reach the caller");
  } catch (const RemoteConflict& e) {
    FAIL("a failed GET was reported as a conflict: " << e.what());
  } catch (const storage::StoreError& e) {
    CHECK(e.kind() == storage::StoreErrorKind::kUnavailable);
  }
  CHECK(flaky.failed > 0);
  CHECK(ranges_of(spool->entries()) == Ranges{{2, 2}});
  flaky.fail_gets = false;
  CHECK(up->step() == Outcome::kUploaded);
  CHECK(spool->count() == 0);
}

TEST_CASE("uploader: a conflicting remote history stops uploading", "[uploader][unit]") {
  SECTION("the store is ahead of the spool at the first listing") {
    Rig rig;
    auto& store = rig.store;
    auto& spool = rig.spool;
    auto& uploader = rig.uploader;
    rig.put_remote(1, 5);
    for (uint64_t t = 1; t <= 3; ++t) rig.add(t, t);
    spool->make_durable();
    const auto message = conflict_of(*uploader);
    CHECK_THAT(message, Catch::Contains("holds TXID 5") &&
                            Catch::Contains("ahead of this database (TXID 3)") &&
                            Catch::Contains("nothing was uploaded"));
    CHECK_FALSE(uploader->remote_txid());  // listed again next time
    CHECK(spool->count() == 3);
    CHECK(objects(store) == Objects{{0, 1, 5}});
    // Someone points the replica elsewhere (here: empties it); the next step lists again.
    store.remove({key(1, 5)});
    CHECK(uploader->step() == Outcome::kUploaded);
    CHECK(objects(store) == Objects{{0, 1, 3}});
  }
  SECTION("the store holds the spooled TXIDs in other files") {
    Rig rig;
    auto& store = rig.store;
    auto& spool = rig.spool;
    auto& uploader = rig.uploader;
    rig.put_remote(1, 2);
    rig.put_remote(3, 3);
    rig.add(1, 1);
    rig.add(2, 3);
    rig.add(4, 4);
    spool->make_durable();
    const uint64_t puts = rig.puts();
    const auto message = conflict_of(*uploader);
    CHECK_THAT(message, Catch::Contains("not as the spooled TXIDs 2-3") &&
                            Catch::Contains("another writer"));
    CHECK(rig.puts() == puts + 1);  // no LTX file: only the head's takeover (TXID unchanged)
    CHECK(ranges_of(spool->entries()) == Ranges{{2, 3}, {4, 4}});
    CHECK_THROWS_AS(uploader->step(), RemoteConflict);  // stays stopped
    CHECK(objects(store) == Objects{{0, 1, 2}, {0, 3, 3}});
  }
  SECTION("another object at the key, past the head: part of no history, so ours replaces it") {
    // Before head.json this was a conflict that stopped replication for good; now an object past
    // the head is something no reader counts (a fenced-out writer's late PUT, or junk), and the
    // head's advance commits ours.
    Rig rig({/*max_group_bytes=*/1});
    auto& history = rig.history;
    auto& store = rig.store;
    auto& spool = rig.spool;
    auto& uploader = rig.uploader;
    rig.add(1, 1);
    rig.add(2, 2);
    spool->make_durable();
    CHECK(uploader->step() == Outcome::kUploaded);
    LtxHistory other(ltx::EncodeOptions::native(), history.page_size(), /*seed=*/3);
    rig.files->put(key(2, 2), other.file(2));
    CHECK(history::RestoreGraph(history::list_ltx_files(store, kLayout)).newest() == 1);
    CHECK(uploader->step() == Outcome::kUploaded);
    CHECK(store.get(key(2, 2)).body == history.file(2));
    CHECK(history::RestoreGraph(history::list_ltx_files(store, kLayout)).newest() == 2);
    CHECK(spool->count() == 0);
  }
  SECTION("another writer took the head: nothing more is committed, replication stops") {
    Rig rig({/*max_group_bytes=*/1});
    auto& store = rig.store;
    rig.add(1, 1);
    rig.add(2, 2);
    rig.spool->make_durable();
    CHECK(rig.uploader->step() == Outcome::kUploaded);
    history::HeadKeeper other(store, kLayout, [] { return history::HeadIdentity{"b:2:2", 2}; });
    CHECK(other.take([](const history::History& h) { return h.head->txid; }) == 1);
    const auto message = conflict_of(*rig.uploader);
    CHECK_THAT(message, Catch::Contains("head.json") && Catch::Contains("b:2:2"));
    // 2-2 was PUT, but the head was not advanced: no reader counts it.
    CHECK(history::RestoreGraph(history::list_ltx_files(store, kLayout)).newest() == 1);
    CHECK_THROWS_AS(rig.uploader->step(), RemoteConflict);  // stays stopped
  }
}

TEST_CASE("uploader: a spool that does not continue the store needs a snapshot",
          "[uploader][unit]") {
  Rig rig;
  auto& history = rig.history;
  auto& store = rig.store;
  auto& spool = rig.spool;
  auto& uploader = rig.uploader;
  rig.put_remote(1, 3);
  rig.add(6, 6);  // 4-5 are in neither place (a spool that was lost, say)
  spool->make_durable();
  const uint64_t puts = rig.puts();
  CHECK(uploader->step() == Outcome::kNeedsSnapshot);
  CHECK(uploader->remote_txid() == 3u);
  CHECK(rig.puts() == puts + 1);  // the head's takeover alone
  CHECK(ranges_of(spool->entries()) == Ranges{{6, 6}});
  CHECK(uploader->step() == Outcome::kNeedsSnapshot);  // until one is spooled
  // The builder writes a snapshot at TXID 6: it replaces 6-6 and goes up.
  rig.add(1, 6);
  spool->make_durable();
  CHECK(uploader->step() == Outcome::kUploaded);
  CHECK(objects(store) == Objects{{0, 1, 3}, {0, 1, 6}});
  CHECK(store.get(key(1, 6)).body == history.range(1, 6));
  CHECK(spool->count() == 0);
  CHECK(uploader->step() == Outcome::kIdle);

  // A snapshot over TXIDs the store already has in other files goes up too (a new chain).
  Rig again;
  for (uint64_t t = 1; t <= 3; ++t) again.put_remote(t, t);
  again.add(1, 3);
  again.spool->make_durable();
  CHECK(again.uploader->step() == Outcome::kUploaded);
  CHECK(again.store.get(key(1, 3)).body == again.history.range(1, 3));
  CHECK(again.spool->count() == 0);
}

TEST_CASE("uploader: store failures are thrown to the caller, who retries", "[uploader][unit]") {
  Rig rig({/*max_group_bytes=*/1});
  auto& history = rig.history;
  auto& store = rig.store;
  auto& spool = rig.spool;
  storage::FaultInjectingStore faulty(std::make_unique<storage::FileStore>(rig.files->root()));
  auto up = rig.make_uploader(faulty);
  for (uint64_t t = 1; t <= 2; ++t) rig.add(t, t);
  spool->make_durable();

  // The listing fails: nothing known, nothing uploaded.
  faulty.fail_next(1);
  try {
    up->step();
    FAIL("the injected failure must reach the caller");
  } catch (const storage::StoreError& e) {
    CHECK(e.kind() == storage::StoreErrorKind::kUnavailable);
    CHECK(e.retriable());
  }
  CHECK_FALSE(up->remote_txid());
  CHECK(spool->count() == 2);

  // The PUT fails: the record stays spooled; the retry uploads it.
  CHECK(up->step() == Outcome::kUploaded);  // lists, uploads 1-1
  faulty.fail_next(1);
  CHECK_THROWS_AS(up->step(), storage::StoreError);
  CHECK(up->remote_txid() == 1u);
  CHECK(ranges_of(spool->entries()) == Ranges{{2, 2}});
  CHECK_FALSE(store.head(key(2, 2)));
  CHECK(up->step() == Outcome::kUploaded);
  CHECK(store.get(key(2, 2)).body == history.file(2));
  CHECK(spool->count() == 0);
  CHECK(faulty.injected_failures() == 2);
}

TEST_CASE("uploader: an object that exists for the PUT but not for the HEAD is retried",
          "[uploader][unit]") {
  Rig rig({/*max_group_bytes=*/1});
  auto& history = rig.history;
  auto& spool = rig.spool;
  storage::FaultInjectingStore faulty(std::make_unique<storage::FileStore>(rig.files->root()));
  auto up = rig.make_uploader(faulty);
  rig.add(1, 1);
  rig.add(2, 2);
  spool->make_durable();
  CHECK(up->step() == Outcome::kUploaded);
  // Our earlier attempt at 2-2 is there, but deleted again as far as HEAD can tell.
  rig.files->put(key(2, 2), history.file(2));
  faulty.vanish(key(2, 2));
  try {
    up->step();
    FAIL("a 412 without an object to compare must reach the caller");
  } catch (const storage::StoreError& e) {
    CHECK(e.kind() == storage::StoreErrorKind::kPreconditionFailed);
  }
  CHECK(ranges_of(spool->entries()) == Ranges{{2, 2}});
  faulty.restore(key(2, 2));
  CHECK(up->step() == Outcome::kUploaded);
  CHECK(spool->count() == 0);
}

TEST_CASE("uploader: retried through random failures, the store ends up complete and in order",
          "[uploader][unit]") {
  Rig rig({/*max_group_bytes=*/2000});
  auto& history = rig.history;
  auto& store = rig.store;
  auto& spool = rig.spool;
  storage::FaultInjectingStore faulty(std::make_unique<storage::FileStore>(rig.files->root()),
                                      /*seed=*/42);
  faulty.set_failure_probability(0.4);
  auto up = rig.make_uploader(faulty);
  rig.add(1, 3);
  for (uint64_t t = 4; t <= 20; ++t) rig.add(t, t);
  spool->make_durable();
  int failures = 0;
  for (int attempt = 0; attempt < 500 && spool->count() > 0; ++attempt) {
    try {
      const Outcome o = up->step();
      REQUIRE(o != Outcome::kNeedsSnapshot);
    } catch (const storage::StoreError& e) {
      REQUIRE(e.retriable());
      ++failures;
    }
  }
  CHECK(spool->count() == 0);
  CHECK(failures > 0);
  CHECK(up->remote_txid() == 20u);
  CHECK(restore_level0(store, history.page_size()) == history.image(20));
}

TEST_CASE("uploader: after a restart, uploaded records are recognised and the rest goes up",
          "[uploader][unit]") {
  Rig rig({/*max_group_bytes=*/1});
  auto& history = rig.history;
  auto& store = rig.store;
  auto& spool = rig.spool;
  auto& uploader = rig.uploader;
  for (uint64_t t = 1; t <= 4; ++t) rig.add(t, t);
  spool->make_durable();
  CHECK(uploader->step() == Outcome::kUploaded);
  CHECK(uploader->step() == Outcome::kUploaded);
  rig.reopen();  // 1-1 and 2-2 are still in the log: live again
  CHECK(ranges_of(rig.spool->entries()) == Ranges{{1, 1}, {2, 2}, {3, 3}, {4, 4}});
  const uint64_t puts = rig.puts();
  CHECK(rig.uploader->step() == Outcome::kUploaded);
  CHECK(rig.uploader->remote_txid() == 3u);
  CHECK(rig.puts() == puts + 3);  // 3-3, and the new incarnation's head: taken, advanced
  CHECK(rig.uploader->step() == Outcome::kUploaded);
  CHECK(rig.uploader->step() == Outcome::kIdle);
  CHECK(restore_level0(store, history.page_size()) == history.image(4));
}
