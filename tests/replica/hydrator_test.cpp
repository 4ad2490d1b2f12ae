// The hydrator without SQLite: a model primary's replica directory, snapshots built from its
// files, and the local file the hydrator writes compared with the database image page by page.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/posix_file.h"
#include "history/restore_plan.h"
#include "storage/fault_injecting_store.h"
#include "storage/file_store.h"
#include "tests/replica/engine_support.h"
#include "tests/replica/model_replica.h"
#include "tests/storage/forwarding_store.h"
#include "tests/support/fsync_log.h"
#include "vfs/replica/btree_page.h"
#include "vfs/replica/errors.h"
#include "vfs/replica/hydrator.h"
#include "vfs/replica/index_cache.h"
#include "vfs/replica/snapshot.h"

using namespace ltxvfs::replica;
using ltxvfs::storage::LayoutStyle;
using ltxvfs::testing::ModelPrimary;
namespace fs = std::filesystem;
using namespace replicatest;

namespace {

// The model's level-0 files up to `txid` (a snapshot file, then one per TXID).
std::vector<ltxvfs::history::RemoteFile> chain_to(ModelPrimary& m, uint64_t txid) {
  std::vector<ltxvfs::history::RemoteFile> chain;
  for (const auto& f : ltxvfs::history::list_ltx_files(m.store(), LayoutStyle::kDirectory)) {
    if (f.level == 0 && f.max_txid <= txid) chain.push_back(f);
  }
  return chain;
}

// The snapshot at `txid` from chain_to(m, txid).
std::shared_ptr<const Snapshot> snapshot_at(ModelPrimary& m, IndexCache& indexes, uint64_t txid) {
  auto idx = indexes.load(chain_to(m, txid));
  REQUIRE_FALSE(idx.empty());
  auto snap = build_snapshot(idx, indexes.header(*idx.back()), 0);
  REQUIRE(snap->txid() == txid);
  return snap;
}

// The database file as `snap` presents it: the model's pages, page 1's header in rollback mode
// with the snapshot's version.
std::vector<uint8_t> expected_image(const ModelPrimary& m, const Snapshot& snap) {
  std::vector<uint8_t> image;
  for (uint32_t p = 1; p <= snap.commit(); ++p) {
    auto page = m.page_at(snap.txid(), p);
    if (p == 1) present_header(page, 0, snap.change_counter(), snap.commit());
    image.insert(image.end(), page.begin(), page.end());
  }
  return image;
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  return ltxvfs::base::read_file(path);
}

// Waits (bounded) until `done` holds for the hydrator's stats; returns the last stats.
HydrationStats wait_for(const Hydrator& h, const std::function<bool(const HydrationStats&)>& done) {
  HydrationStats s = h.stats();
  for (int i = 0; i < 10000 && !done(s); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    s = h.stats();
  }
  return s;
}

// Collects what the hydrator logs.
struct Log {
  std::mutex mu;
  std::vector<std::pair<LogSeverity, std::string>> lines;
  ReplicaLog sink() {
    return [this](LogSeverity severity, const std::string& message) {
      std::lock_guard lock(mu);
      lines.emplace_back(severity, message);
    };
  }
  std::vector<std::pair<LogSeverity, std::string>> get() {
    std::lock_guard lock(mu);
    return lines;
  }
};

// The marker beside a hydrated file (<path>-ltx-hydrated).
std::string marker_text(const std::string& path) {
  const auto bytes = file_bytes(path + "-ltx-hydrated");
  return std::string(bytes.begin(), bytes.end());
}

// Counts ranged GETs.
class CountingStore final : public ltxvfs::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  ltxvfs::storage::GetResult get(const std::string& key,
                                 std::optional<ltxvfs::storage::ByteRange> range) override {
    ++gets;
    return ForwardingStore::get(key, range);
  }
  std::atomic<int> gets{0};
};

}  // namespace

TEST_CASE("hydrator: one GET per object even where newer frames left holes in it",
          "[replica][unit]") {
  // Issue 17: hydrate=1 fetched each run of adjacent frames alone, so every page a later file
  // replaced split a range (W5: 61 MB/s, 0.21x the raw download). Holes of up to 256 KiB are now
  // fetched with the frames around them (109 MB/s).
  const std::string dir = fresh_dir("hydrator-holes");
  ModelPrimary m(dir + "/replica", 1024);
  for (uint32_t p = 1; p <= 300; ++p) m.set(p, 1);
  m.commit();
  for (uint32_t p : {40u, 41u, 90u, 200u}) m.set(p, 2);
  m.commit();
  IndexCache indexes(m.store());
  auto s2 = snapshot_at(m, indexes, 2);
  CountingStore counting(m.store());
  const std::string path = dir + "/cache.db";
  Hydrator h(counting, path, "file://replica", nullptr);
  h.start(s2);
  REQUIRE(wait_for(h, [](const HydrationStats& s) { return s.state != "running"; }).state ==
          "done");
  CHECK(counting.gets == 2);  // was 5: file 1 in four pieces around pages 40-41, 90 and 200
  CHECK(file_bytes(path) == expected_image(m, *s2));
}

TEST_CASE("hydrator: the first pass restores the open's chain, begun before its snapshot exists",
          "[replica][unit]") {
  // Issue 17: hydrate=1 ran at 0.58-0.63 of the raw download, its pass starting only once the
  // open had read every index. The chain's download now starts as soon as it is planned, and is
  // the first pass when its database is the snapshot's: tied to it by the checksums, or by the
  // objects' etags for files without checksums (Litestream's format, which downloaded the chain
  // a second time page by page before).
  const bool native = GENERATE(true, false);
  const std::string dir = fresh_dir(std::string("hydrator-restore-first-") + (native ? "n" : "l"));
  ModelPrimary m(dir + "/replica", 1024, native);
  for (uint32_t p = 1; p <= 300; ++p) m.set(p, 1);
  m.commit();
  for (uint32_t p = 40; p <= 60; ++p) m.set(p, 2);
  m.commit();
  m.truncate(250);
  m.set(3, 3);
  m.commit();
  const auto chain = chain_to(m, 3);
  REQUIRE(chain.size() == 3);
  uint64_t chain_bytes = 0;
  for (const auto& f : chain) chain_bytes += f.size;

  CountingStore counting(m.store());
  const std::string path = dir + "/cache.db";
  Log log;
  Hydrator h(counting, path, "file://replica", log.sink());
  h.begin(chain);
  // The whole chain arrives before any snapshot is given: one GET per file.
  auto stats = wait_for(h, [&](const HydrationStats& s) { return s.bytes == chain_bytes; });
  REQUIRE(stats.bytes == chain_bytes);
  CHECK(stats.state == "running");
  CHECK(counting.gets == 3);
  IndexCache indexes(m.store());
  auto s3 = snapshot_at(m, indexes, 3);
  CHECK_FALSE(h.read(*s3, 1));  // nothing served before the snapshot is known to match
  h.start(s3);
  stats = wait_for(h, [](const HydrationStats& s) { return s.state != "running"; });
  REQUIRE(stats.state == "done");
  CHECK(stats.txid == 3);
  CHECK(stats.pages_total == 250);
  CHECK(stats.pages_done == 250);
  CHECK(counting.gets == 3);  // no page-by-page pass: the restore was the snapshot's database
  const auto image = file_bytes(path);
  CHECK(image == expected_image(m, *s3));  // page 1 presented for rollback mode at TXID 3
  CHECK(marker_text(path) == "file://replica\ndone 3\n");
  auto p45 = h.read(*s3, 45);
  REQUIRE(p45);
  CHECK(*p45 == m.page_at(3, 45));
  const auto lines = log.get();
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0].second, Catch::Contains("hydrated " + path));
}

TEST_CASE("hydrator: a first download that is not the snapshot's gives way to the usual pass",
          "[replica][unit]") {
  // Another chain (an older TXID), a download that failed, and files without checksums whose
  // newest object was rewritten between the download and the open's index reads (same bytes,
  // another etag: nothing ties the download to the indexes): each is hydrated page by page,
  // exactly.
  const std::string how = GENERATE("older chain", "failed download", "object rewritten");
  const std::string dir = fresh_dir("hydrator-restore-other-" + std::to_string(how.size()));
  ModelPrimary m(dir + "/replica", 1024, /*native=*/how != "object rewritten");
  for (uint32_t p = 1; p <= 200; ++p) m.set(p, 1);
  m.commit();
  for (uint32_t p = 40; p <= 60; ++p) m.set(p, 2);
  m.commit();
  auto chain = chain_to(m, 2);
  if (how == "older chain") chain.pop_back();
  if (how == "failed download") chain.back().key += ".gone";  // kNotFound
  CountingStore counting(m.store());
  const std::string path = dir + "/cache.db";
  Log log;
  Hydrator h(counting, path, "file://replica", log.sink());
  h.begin(chain);
  std::string downloaded_etag;
  if (how == "object rewritten") {
    downloaded_etag = m.store().head(chain.back().key)->etag;
    uint64_t chain_bytes = 0;
    for (const auto& f : chain) chain_bytes += f.size;
    REQUIRE(wait_for(h, [&](const HydrationStats& s) { return s.bytes == chain_bytes; }).bytes ==
            chain_bytes);
    const auto body = m.store().get(chain.back().key).body;
    m.store().put(chain.back().key, body);
  }
  IndexCache indexes(m.store());
  auto s2 = snapshot_at(m, indexes, 2);
  if (how == "object rewritten") {
    REQUIRE(s2->files().back()->etag != downloaded_etag);
  }
  h.start(s2);
  const auto stats = wait_for(h, [](const HydrationStats& s) { return s.state != "running"; });
  REQUIRE(stats.state == "done");
  CHECK(stats.txid == 2);
  CHECK(counting.gets > static_cast<int>(chain.size()));  // the page-by-page pass's GETs too
  CHECK(file_bytes(path) == expected_image(m, *s2));
  const auto lines = log.get();
  REQUIRE_FALSE(lines.empty());
  const char* why = how == "older chain"       ? "is not the snapshot opened"
                    : how == "failed download" ? "failed"
                                               : "another etag";
  CHECK_THAT(lines[0].second, Catch::Contains(why) && Catch::Contains("hydrating page by page"));
}

TEST_CASE("hydrator: downloads the whole database into the local file", "[replica][unit]") {
  const std::string dir = fresh_dir("hydrator-whole");
  ModelPrimary m(dir + "/replica", 1024);
  for (uint32_t p = 1; p <= 300; ++p) m.set(p, 1);
  m.commit();
  for (uint32_t p = 40; p <= 60; ++p) m.set(p, 2);
  m.commit();
  IndexCache indexes(m.store());
  auto s2 = snapshot_at(m, indexes, 2);

  const std::string path = dir + "/cache.db";
  Log log;
  Hydrator h(m.store(), path, "file://replica", log.sink());
  CHECK(h.stats().state == "off");
  CHECK(marker_text(path) == "file://replica\nhydrating\n");
  // Nothing is served before hydration is done.
  CHECK_FALSE(h.read(*s2, 1));
  h.start(s2);
  const auto stats = wait_for(h, [](const HydrationStats& s) { return s.state != "running"; });
  REQUIRE(stats.state == "done");
  CHECK(stats.error.empty());
  CHECK(stats.txid == 2);
  CHECK(stats.pages_total == 300);
  CHECK(stats.pages_done == 300);
  CHECK(stats.bytes > 0);
  CHECK(stats.local_reads == 0);

  // The file is the database at TXID 2, page 1 presented for rollback mode.
  const auto image = file_bytes(path);
  REQUIRE(image.size() == 300u * 1024);
  CHECK(image == expected_image(m, *s2));
  CHECK(image[18] == 1);
  CHECK(image[19] == 1);
  // The marker says whose file it is, and that it holds TXID 2 completely.
  CHECK(marker_text(path) == "file://replica\ndone 2\n");

  // Reads of that snapshot are local now, and exact.
  for (uint32_t p : {1u, 2u, 45u, 300u}) {
    auto page = h.read(*s2, p);
    REQUIRE(page);
    CHECK(*page == std::vector<uint8_t>(image.begin() + (p - 1) * 1024, image.begin() + p * 1024));
  }
  CHECK_FALSE(h.read(*s2, 301));  // past the end
  CHECK(h.stats().local_reads == 4);

  // An older snapshot takes the pages TXID 2 did not change from the same frames: those are
  // served; the changed ones are not.
  auto s1 = snapshot_at(m, indexes, 1);
  auto unchanged = h.read(*s1, 10);
  REQUIRE(unchanged);
  CHECK(*unchanged == m.page_at(1, 10));
  CHECK_FALSE(h.read(*s1, 45));

  const auto lines = log.get();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].first == LogSeverity::kInfo);
  CHECK_THAT(lines[0].second, Catch::Contains("hydrated " + path) && Catch::Contains("TXID 2"));
}

TEST_CASE("hydrator: the file goes to the disk as it is written, not all at the fsync",
          "[replica][unit]") {
  const std::string dir = fresh_dir("hydrator-writeback");
  ModelPrimary m(dir + "/replica", 1024);
  // 10 MB of pages: base::kWritebackEvery (4 MiB) twice over.
  for (uint32_t p = 1; p <= 10000; ++p) m.set(p, 1);
  m.commit();
  IndexCache indexes(m.store());
  auto s1 = snapshot_at(m, indexes, 1);
  const std::string path = dir + "/cache.db";
  Hydrator h(m.store(), path, "file://replica", nullptr);
  ltxvfs::testing::FsyncLog fsyncs;
  h.start(s1);
  const auto stats = wait_for(h, [](const HydrationStats& s) { return s.state != "running"; });
  REQUIRE(stats.state == "done");
  CHECK(file_bytes(path) == expected_image(m, *s1));
  const auto calls = fsyncs.calls();
  const std::string real = fs::canonical(path).string();
  const auto fsync_at = std::find(calls.begin(), calls.end(), "fsync " + real);
  REQUIRE(fsync_at != calls.end());
  CHECK(std::count(calls.begin(), fsync_at, "writeback " + real) >= 1);
}

TEST_CASE("hydrator: follows newer snapshots, rewriting only the pages that changed",
          "[replica][unit]") {
  const std::string dir = fresh_dir("hydrator-follow");
  ModelPrimary m(dir + "/replica", 512);
  for (uint32_t p = 1; p <= 200; ++p) m.set(p, 1);
  m.commit();
  IndexCache indexes(m.store());
  auto s1 = snapshot_at(m, indexes, 1);
  const std::string path = dir + "/cache.db";
  Hydrator h(m.store(), path, "file://replica", nullptr);
  h.start(s1);
  REQUIRE(wait_for(h, [](const HydrationStats& s) { return s.state != "running"; }).state ==
          "done");

  // TXID 2 changes two pages and grows the database by ten.
  m.set(5, 2);
  m.set(7, 2);
  for (uint32_t p = 201; p <= 210; ++p) m.set(p, 2);
  m.commit();
  auto s2 = snapshot_at(m, indexes, 2);
  h.offer(s2);
  auto stats = wait_for(h, [](const HydrationStats& s) { return s.txid == 2; });
  REQUIRE(stats.txid == 2);
  CHECK(stats.state == "done");
  CHECK(stats.pages_total == 1 + 2 + 10);  // page 1 (its header carries the TXID) and the changes
  CHECK(stats.pages_done == 13);
  CHECK(file_bytes(path) == expected_image(m, *s2));
  auto p5 = h.read(*s2, 5);
  REQUIRE(p5);
  CHECK(*p5 == m.page_at(2, 5));
  CHECK_FALSE(h.read(*s1, 5));  // the local page is TXID 2's now
  auto p6 = h.read(*s1, 6);     // unchanged: the same frame in both
  REQUIRE(p6);
  CHECK(*p6 == m.page_at(1, 6));

  // TXID 3 shrinks the database: the file is cut to the new size.
  m.truncate(150);
  m.set(3, 3);
  m.commit();
  auto s3 = snapshot_at(m, indexes, 3);
  h.offer(s3);
  stats = wait_for(h, [](const HydrationStats& s) { return s.txid == 3; });
  REQUIRE(stats.txid == 3);
  CHECK(stats.pages_total == 2);  // pages 1 and 3
  const auto image = file_bytes(path);
  CHECK(image.size() == 150u * 512);
  CHECK(image == expected_image(m, *s3));
  CHECK_FALSE(h.read(*s3, 151));
  CHECK(marker_text(path) == "file://replica\ndone 3\n");
}

TEST_CASE("hydrator: a failure is reported and nothing is served from the partial file",
          "[replica][unit]") {
  const bool mid_way = GENERATE(false, true);
  const std::string dir = fresh_dir(mid_way ? "hydrator-fail-mid-way" : "hydrator-fail-first");
  ModelPrimary m(dir + "/replica", 1024);
  for (uint32_t p = 1; p <= 100; ++p) m.set(p, 1);
  m.commit();
  for (uint32_t p = 50; p <= 60; ++p) m.set(p, 2);
  m.commit();
  IndexCache indexes(m.store());
  // Indexes loaded one file at a time: the snapshot file gets the lower serial, so its frames are
  // fetched (and written) first.
  snapshot_at(m, indexes, 1);
  auto s2 = snapshot_at(m, indexes, 2);
  const std::string broken = m.key(0, 2, 2);

  ltxvfs::storage::FaultInjectingStore faulty(
      std::make_unique<ltxvfs::storage::FileStore>(dir + "/replica"));
  if (mid_way) {
    // The snapshot file's pages come first and are written; then TXID 2's object is gone.
    faulty.vanish(broken);
  } else {
    faulty.fail_next(1);
  }
  const std::string path = dir + "/cache.db";
  Log log;
  {
    Hydrator h(faulty, path, "file://replica", log.sink());
    h.start(s2);
    const auto stats = wait_for(h, [](const HydrationStats& s) { return s.state != "running"; });
    REQUIRE(stats.state == "failed");
    CHECK(stats.txid == 0);
    if (mid_way) {
      CHECK_THAT(stats.error, Catch::Contains(broken));
      CHECK(stats.pages_done > 0);  // some pages were written before the failure
      CHECK(stats.pages_done < stats.pages_total);
    } else {
      CHECK_THAT(stats.error, Catch::Contains("injected fault"));
      // The ranges are fetched in parallel: the one that did not meet the fault may be written.
      CHECK(stats.pages_done < stats.pages_total);
    }
    // The partial file is never read from: every page comes from the store.
    for (uint32_t p : {1u, 2u, 55u, 100u}) CHECK_FALSE(h.read(*s2, p));
    CHECK(h.stats().local_reads == 0);
    CHECK(marker_text(path) == "file://replica\nhydrating\n");  // not a usable database
    // Newer snapshots are not taken up again.
    m.set(3, 3);
    m.commit();
    h.offer(snapshot_at(m, indexes, 3));
    CHECK(h.stats().state == "failed");
    CHECK(h.stats().txid == 0);
    const auto lines = log.get();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].first == LogSeverity::kWarn);
    CHECK_THAT(lines[0].second, Catch::Contains("hydration of " + path + " stopped") &&
                                    Catch::Contains("reads continue from the store"));
  }

  // The file is recognisably ours: the next open downloads it again, completely.
  faulty.restore(broken);
  Hydrator again(faulty, path, "file://replica", nullptr);
  again.start(s2);
  REQUIRE(wait_for(again, [](const HydrationStats& s) { return s.state != "running"; }).state ==
          "done");
  CHECK(file_bytes(path) == expected_image(m, *s2));
}

TEST_CASE("hydrator: a failure while following stops local reads of every snapshot",
          "[replica][unit]") {
  const std::string dir = fresh_dir("hydrator-fail-follow");
  ModelPrimary m(dir + "/replica", 512);
  for (uint32_t p = 1; p <= 50; ++p) m.set(p, 1);
  m.commit();
  IndexCache indexes(m.store());
  auto s1 = snapshot_at(m, indexes, 1);
  ltxvfs::storage::FaultInjectingStore faulty(
      std::make_unique<ltxvfs::storage::FileStore>(dir + "/replica"));
  const std::string path = dir + "/cache.db";
  Log log;
  Hydrator h(faulty, path, "file://replica", log.sink());
  h.start(s1);
  REQUIRE(wait_for(h, [](const HydrationStats& s) { return s.state != "running"; }).state ==
          "done");
  REQUIRE(h.read(*s1, 30));

  m.set(10, 2);
  m.commit();
  auto s2 = snapshot_at(m, indexes, 2);
  faulty.vanish(m.key(0, 2, 2));
  h.offer(s2);
  const auto stats = wait_for(h, [](const HydrationStats& s) { return s.state != "done"; });
  REQUIRE(stats.state == "failed");
  CHECK_THAT(stats.error, Catch::Contains(m.key(0, 2, 2)));
  // The file may be half-rewritten: not even pages no pass touched are served any more.
  CHECK_FALSE(h.read(*s1, 30));
  CHECK_FALSE(h.read(*s2, 30));
  CHECK_FALSE(h.read(*s1, 1));
  // Done at TXID 1 before; the pass towards 2 said so before it wrote a page.
  CHECK(marker_text(path) == "file://replica\nhydrating\n");
  const auto lines = log.get();
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].first == LogSeverity::kWarn);
}

TEST_CASE("hydrator: never overwrites a file it did not write", "[replica][unit]") {
  const std::string dir = fresh_dir("hydrator-foreign");
  ModelPrimary m(dir + "/replica", 512);
  for (uint32_t p = 1; p <= 4; ++p) m.set(p, 1);
  m.commit();
  const std::string path = dir + "/app.db";
  {
    std::ofstream out(path, std::ios::binary);
    out << "precious data";
  }
  try {
    Hydrator h(m.store(), path, "file://replica", nullptr);
    FAIL("a file without the marker must be refused");
  } catch (const ReplicaError& e) {
    CHECK(e.kind() == ReplicaErrorKind::kInvalidArgument);
    CHECK_THAT(e.what(), Catch::Contains("would overwrite " + path));
  }
  const auto kept = file_bytes(path);
  CHECK(std::string(kept.begin(), kept.end()) == "precious data");
  CHECK_FALSE(fs::exists(path + "-ltx-hydrated"));

  // A file hydration wrote before (its marker beside it) is taken over and rewritten.
  {
    std::ofstream marker(path + "-ltx-hydrated", std::ios::binary);
    marker << "file://replica";
  }
  IndexCache indexes(m.store());
  auto s1 = snapshot_at(m, indexes, 1);
  Hydrator h(m.store(), path, "file://replica", nullptr);
  h.start(s1);
  REQUIRE(wait_for(h, [](const HydrationStats& s) { return s.state != "running"; }).state ==
          "done");
  CHECK(file_bytes(path) == expected_image(m, *s1));
}

TEST_CASE("hydrator: destroyed while it runs, it stops, and the next open starts over",
          "[replica][unit]") {
  const std::string dir = fresh_dir("hydrator-stop");
  ModelPrimary m(dir + "/replica", 512);
  for (uint32_t p = 1; p <= 2000; ++p) m.set(p, 1);
  m.commit();
  IndexCache indexes(m.store());
  auto s1 = snapshot_at(m, indexes, 1);
  const std::string path = dir + "/cache.db";
  {
    Hydrator h(m.store(), path, "file://replica", nullptr);
    h.start(s1);
  }  // joins its thread
  CHECK(fs::exists(path + "-ltx-hydrated"));
  // A later open starts over and completes.
  Hydrator h(m.store(), path, "file://replica", nullptr);
  h.start(s1);
  REQUIRE(wait_for(h, [](const HydrationStats& s) { return s.state != "running"; }).state ==
          "done");
  CHECK(file_bytes(path) == expected_image(m, *s1));
}
