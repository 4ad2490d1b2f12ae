// Issue 16, item 7 (replica side): one bad object — junk under an LTX name, a truncated or
// corrupt LTX file — must not block a replica. It opens on the newest state a chain without the
// bad object proves, names the object in a warning, in ltx_stats() and in ltx_wait()'s error,
// stays at the last good TXID while the bad object is the only way on, and advances once the
// writer replaces it. Never wrong data. Each body runs over a directory and over moto (S3).
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "history/head_record.h"
#include "history/restore_plan.h"
#include "ltx/compactor.h"
#include "ltx/sink.h"
#include "ltx/source.h"
#include "storage/store_factory.h"
#include "tests/harness/s3_test_server.h"
#include "tests/replica/replica_support.h"

using namespace ltxvfs::testing;
using ltxvfs::storage::LayoutStyle;
using ltxvfs::storage::ObjectStore;

namespace {

// Where a test's primary writes and its replicas read: a directory, or a moto bucket.
struct Place {
  std::string dir;             // scratch: the primary's database, the replicas' names
  std::string url;             // the replica location, as a replica URI names it
  std::string primary_params;  // added to the primary's URI
  std::string replica_params;  // added to the replica's URI
  std::unique_ptr<ObjectStore> store;
  LayoutStyle layout = LayoutStyle::kDirectory;
  std::optional<TestBucket> bucket;

  // Every commit its own uploaded object; no compaction, snapshots or retention underneath.
  std::unique_ptr<Db> open_primary() const {
    return std::make_unique<Db>(
        "file:" + dir +
        "/app.db?vfs=ltx&durability=remote&upload_interval_ms=0&levels=off&snapshot_interval=off&"
        "retention=off" +
        primary_params);
  }
  std::unique_ptr<Db> open_replica(const std::string& name, const std::string& extra = "") const {
    return std::make_unique<Db>(replica_uri(dir, url, replica_params + extra, name),
                                SQLITE_OPEN_READONLY);
  }
  std::string key(uint32_t level, uint64_t min, uint64_t max) const {
    return ltxvfs::storage::ltx_key(layout, level, min, max);
  }
  void put(const std::string& key, const std::vector<uint8_t>& bytes) const {
    store->put(key, std::span(bytes.data(), bytes.size()));
  }
  std::vector<uint8_t> get(const std::string& key) const { return store->get(key).body; }
  // Rewrites head.json as if its owner had committed up to `txid` (a committed file that rotted
  // in the store afterwards). A writer still running takes this for another writer's head.
  void commit_in_head(uint64_t txid) const {
    const std::string key = ltxvfs::storage::head_key(layout);
    const auto body = get(key);
    auto head = ltxvfs::history::HeadRecord::from_json(
        std::string_view(reinterpret_cast<const char*>(body.data()), body.size()));
    REQUIRE(head);
    head->txid = txid;
    const std::string text = head->to_json();
    store->put(key, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
};

Place directory_place(const std::string& name) {
  Place p;
  p.dir = scratch_dir(name);
  p.url = p.dir + "/app.db-ltx/replica";
  p.layout = LayoutStyle::kDirectory;
  return p;
}

Place moto_place(const std::string& name) {
  Place p;
  p.dir = scratch_dir(name);
  p.bucket = make_test_bucket(Server::kMoto);
  p.url = "s3://" + p.bucket->bucket + "/app";
  p.primary_params = "&replica=" + p.url + "&endpoint=" + p.bucket->endpoint;
  p.replica_params = "&endpoint=" + p.bucket->endpoint;
  auto opened = ltxvfs::storage::open_store(p.bucket->url("app"), p.bucket->settings);
  p.store = std::move(opened.store);
  p.layout = opened.layout;
  return p;
}

// The primary's replica opened as a store, for the directory case (after the primary made it).
void open_directory_store(Place& p) {
  if (!p.store) {
    auto opened = ltxvfs::storage::open_store(p.url);
    p.store = std::move(opened.store);
    p.layout = opened.layout;
  }
}

std::vector<uint8_t> random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

constexpr const char* kQuery = "SELECT k, v FROM t ORDER BY k";

// A primary with a table and `rows` commits after it; returns its TXID.
int64_t fill(Db& primary, int rows) {
  primary.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)");
  for (int i = 0; i < rows; ++i) {
    primary.exec("INSERT INTO t(v) VALUES ('row " + std::to_string(i) +
                 "' || hex(randomblob(40)))");
  }
  return wait_uploaded(primary);
}

bool names_bad_object(const nlohmann::json& stats, const std::string& key) {
  for (const auto& b : stats["bad_objects"]) {
    if (b["key"] == key) return true;
  }
  return false;
}

// Polls `db`'s ltx_stats() until `pred` holds (up to 10 s); returns the last stats.
template <typename Pred>
nlohmann::json stats_when(Db& db, Pred pred) {
  nlohmann::json stats;
  for (int i = 0; i < 500; ++i) {
    stats = replica_stats(db);
    if (pred(stats)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return stats;
}

// (a) A garbage object at the next TXID: the replica opens at the last good TXID, reads its
// state, and, when the head commits that TXID (the file rotted in the store), says what holds it
// back. Past the head it is no history at all (head_record.h): ignored, nothing holds the replica.
void junk_at_next_txid(Place& p, bool truncated_ltx) {
  auto primary = p.open_primary();
  const int64_t good = fill(*primary, 3);
  const std::string expected = dump(*primary, kQuery);
  open_directory_store(p);
  const std::string bad_key = p.key(0, good + 1, good + 1);
  if (truncated_ltx) {
    // A real LTX file of the next transaction, cut short (an interrupted copy).
    primary->exec("INSERT INTO t(v) VALUES ('lost')");
    REQUIRE(wait_uploaded(*primary) == good + 1);
    auto body = p.get(bad_key);
    body.resize(body.size() / 2);
    p.put(bad_key, body);
  } else {
    p.put(bad_key, random_bytes(100, 7));
    {
      auto uncommitted = p.open_replica("uncommitted.db", "&poll_ms=50");
      CHECK(dump(*uncommitted, kQuery) == expected);
      const auto stats = replica_stats(*uncommitted);
      INFO(stats.dump());
      CHECK(stats["bad_objects"].empty());
      CHECK(stats["waiting_after_txid"].get<int64_t>() == 0);
    }
    primary.reset();  // it would take the forged head for another writer's
    p.commit_in_head(good + 1);
  }
  auto r = p.open_replica("cache.db", "&poll_ms=50");  // refused before
  CHECK(dump(*r, kQuery) == expected);
  CHECK(r->query_int("PRAGMA ltx_txid") == good);
  const auto stats = replica_stats(*r);
  INFO(stats.dump());
  CHECK(names_bad_object(stats, bad_key));
  CHECK(stats["waiting_after_txid"].get<int64_t>() == good);
  CHECK_THAT(stats["waiting_reason"].get<std::string>(), Catch::Contains(bad_key));
  const std::string error = r->try_exec("SELECT ltx_wait(" + std::to_string(good + 1) + ", 200)");
  CHECK_THAT(error, Catch::Contains(bad_key));
  CHECK_THAT(error, Catch::Contains("TXID " + std::to_string(good)));
}

// Every level-0 file so far compacted into one level-9 snapshot; the level-0 chain stays.
std::string snapshot_of_everything(Place& p, uint64_t txid) {
  const auto files = ltxvfs::history::list_ltx_files(*p.store, p.layout);
  std::vector<std::vector<uint8_t>> bodies;
  for (const auto& f : files) bodies.push_back(p.get(f.key));
  std::vector<ltxvfs::ltx::MemorySource> sources;
  for (const auto& b : bodies) sources.emplace_back(b);
  std::vector<ltxvfs::ltx::NamedSource> inputs;
  for (size_t i = 0; i < files.size(); ++i) inputs.push_back({&sources[i], files[i].key});
  ltxvfs::ltx::VectorSink sink;
  ltxvfs::ltx::compact(inputs, sink, ltxvfs::ltx::EncodeOptions::native());
  const std::string key = p.key(9, 1, txid);
  p.put(key, sink.bytes());
  return key;
}

enum class Damage { kGarbageTail, kTruncated, kPagePayload };

// (b) A corrupt snapshot over an intact level-0 chain: the replica reads the level-0 chain.
void corrupt_snapshot(Place& p, Damage damage) {
  auto primary = p.open_primary();
  const int64_t txid = fill(*primary, 4);
  const std::string expected = dump(*primary, kQuery);
  open_directory_store(p);
  const std::string snap_key = snapshot_of_everything(p, static_cast<uint64_t>(txid));
  auto body = p.get(snap_key);
  switch (damage) {
    case Damage::kGarbageTail:  // the page index and trailer
      for (size_t i = body.size() - 40; i < body.size(); ++i) body[i] ^= 0x5a;
      break;
    case Damage::kTruncated:
      body.resize(body.size() * 2 / 3);
      break;
    case Damage::kPagePayload:  // inside page 1's zstd frame: every first read meets it
      body[100 + 6 + 4 + 24] ^= 0x01;
      break;
  }
  p.put(snap_key, body);
  {
    // Without the damage the replica would read the snapshot: one object.
    // A damaged page leaves the index intact: only the read finds it (SQLite reads page 1 as it
    // opens), and gets the page from the level-0 chain, which also becomes the current one.
    auto r = p.open_replica("cache.db", "&prefetch=0");
    CHECK(dump(*r, kQuery) == expected);
    CHECK(r->query_int("PRAGMA ltx_txid") == txid);
    CHECK(r->query_text("PRAGMA integrity_check") == "ok");
    const auto stats = replica_stats(*r);
    INFO(stats.dump());
    CHECK(names_bad_object(stats, snap_key));
    CHECK(stats["objects"].get<int64_t>() > 1);  // the level-0 chain
    CHECK(stats["waiting_after_txid"].get<int64_t>() == 0);
  }
  // A replica opened in the past reads around it too.
  auto old = p.open_replica("old.db", "&txid=" + std::to_string(txid - 1));
  CHECK(old->query_int("SELECT count(*) FROM t") == 3);
}

// (c) Following: a garbage object appears at the next TXID after open. Past the head it is no
// history: the replica keeps following and the writer's upload replaces it. Once committed and
// rotten, the replica keeps serving the last good state and says why.
void junk_while_following(Place& p) {
  auto primary = p.open_primary();
  const int64_t good = fill(*primary, 2);
  const std::string expected = dump(*primary, kQuery);
  open_directory_store(p);
  auto r = p.open_replica("cache.db", "&poll_ms=20");
  REQUIRE(r->query_int("PRAGMA ltx_txid") == good);
  const std::string bad_key = p.key(0, good + 1, good + 1);
  p.put(bad_key, random_bytes(100, 11));
  // Past the head it is no history: the replica does not even list (the head did not change).
  const uint64_t polls = replica_stats(*r)["polls"].get<uint64_t>();
  auto stats = stats_when(*r, [&](const auto& s) { return s["polls"] >= polls + 5; });
  INFO(stats.dump());
  CHECK(stats["bad_objects"].empty());
  CHECK(stats["waiting_after_txid"].get<int64_t>() == 0);
  CHECK(dump(*r, kQuery) == expected);

  // The writer's next upload goes to that name, replaces the junk and commits it.
  primary->exec("INSERT INTO t(v) VALUES ('after the junk')");
  const int64_t next = wait_uploaded(*primary);
  REQUIRE(next == good + 1);
  CHECK(p.get(bad_key).size() != 100);
  CHECK(r->query_int("SELECT ltx_wait(" + std::to_string(next) + ", 10000)") == next);
  CHECK(dump(*r, kQuery) == dump(*primary, kQuery));
  const std::string now_expected = dump(*primary, kQuery);

  // A committed file that rotted: the poller meets it, keeps the last good state, says why.
  primary.reset();
  const std::string rotten = p.key(0, next + 1, next + 1);
  p.put(rotten, random_bytes(100, 12));
  p.commit_in_head(next + 1);
  stats = stats_when(*r, [&](const auto& s) {
    return names_bad_object(s, rotten) && s["waiting_after_txid"].template get<int64_t>() != 0;
  });
  INFO(stats.dump());
  CHECK(names_bad_object(stats, rotten));
  CHECK(stats["bad_objects"][0]["junk"] == true);
  CHECK(stats["waiting_after_txid"].get<int64_t>() == next);
  CHECK_THAT(stats["waiting_reason"].get<std::string>(), Catch::Contains(rotten));
  CHECK(dump(*r, kQuery) == now_expected);
  const std::string error = r->try_exec("SELECT ltx_wait(" + std::to_string(next + 1) + ", 300)");
  CHECK_THAT(error, Catch::Contains(rotten));
  CHECK(dump(*r, kQuery) == now_expected);
}

}  // namespace

TEST_CASE("a replica opens past a garbage object at the next TXID", "[replica]") {
  SECTION("100 random bytes") {
    auto p = directory_place("bad-next-junk");
    junk_at_next_txid(p, false);
  }
  SECTION("a truncated LTX file") {
    auto p = directory_place("bad-next-truncated");
    junk_at_next_txid(p, true);
  }
}

TEST_CASE("a replica reads the level-0 chain under a corrupt snapshot", "[replica]") {
  SECTION("page index and trailer overwritten") {
    auto p = directory_place("bad-snapshot-tail");
    corrupt_snapshot(p, Damage::kGarbageTail);
  }
  SECTION("truncated") {
    auto p = directory_place("bad-snapshot-truncated");
    corrupt_snapshot(p, Damage::kTruncated);
  }
  SECTION("a damaged page") {
    auto p = directory_place("bad-snapshot-page");
    corrupt_snapshot(p, Damage::kPagePayload);
  }
}

TEST_CASE("a following replica waits at a garbage object and advances once it is replaced",
          "[replica]") {
  auto p = directory_place("bad-follow");
  junk_while_following(p);
}

TEST_CASE("bad objects on S3: open past one, read around a corrupt snapshot, follow", "[moto]") {
  SECTION("garbage at the next TXID") {
    auto p = moto_place("bad-s3-next");
    junk_at_next_txid(p, false);
  }
  SECTION("a corrupt snapshot") {
    auto p = moto_place("bad-s3-snapshot");
    corrupt_snapshot(p, Damage::kTruncated);
  }
  SECTION("following") {
    auto p = moto_place("bad-s3-follow");
    junk_while_following(p);
  }
}
