// RemoteSource (bounded ranged reads) and RemoteCompactor's conditional PUT: an existing object
// with the same transactions is accepted, anything else stops the engine without overwriting.
#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <random>

#include "base/time_spec.h"
#include "history/history_engine.h"
#include "history/remote_source.h"
#include "history_support.h"
#include "ltx/error.h"
#include "ltx/page_index.h"
#include "storage/file_store.h"

using namespace historytest;
using namespace ltxvfs;

namespace {

// A store whose listings miss some keys, as a listing taken just before another process wrote
// them would.
class StaleListingStore final : public ObjectStore {
 public:
  StaleListingStore(ObjectStore& inner, std::function<bool(const std::string&)> hide)
      : inner_(inner), hide_(std::move(hide)) {}
  storage::PutResult put(const std::string& key, std::span<const uint8_t> body,
                         const storage::PutOptions& options = {}) override {
    return inner_.put(key, body, options);
  }
  storage::PutResult put_body(const std::string& key, const storage::BodySource& body,
                              const storage::PutOptions& options = {}) override {
    return inner_.put_body(key, body, options);
  }
  storage::GetResult get(const std::string& key,
                         std::optional<storage::ByteRange> range = std::nullopt) override {
    return inner_.get(key, range);
  }
  std::optional<storage::ObjectInfo> head(const std::string& key) override {
    return inner_.head(key);
  }
  std::vector<storage::ObjectInfo> list(const std::string& prefix,
                                        const std::string& start_after = "") override {
    auto all = inner_.list(prefix, start_after);
    std::erase_if(all, [&](const storage::ObjectInfo& o) { return hide_(o.key); });
    return all;
  }
  void remove(const std::vector<std::string>& keys) override { inner_.remove(keys); }
  std::string describe() const override { return inner_.describe(); }

 private:
  ObjectStore& inner_;
  std::function<bool(const std::string&)> hide_;
};

ltxvfs::history::HistoryPolicy one_level() {
  ltxvfs::history::HistoryPolicy p;
  p.level_intervals_ms = {1000};
  p.snapshot_interval_ms = 0;
  p.retention_ms = 0;
  return p;
}

}  // namespace

TEST_CASE("remote source: bounded chunks, the right bytes, a replaced object refused", "[remote]") {
  const std::string dir = scratch_dir("remote-source");
  storage::FileStore store(dir);
  Bytes body(5'000'000);
  std::mt19937_64 rng(1);
  for (auto& b : body) b = static_cast<uint8_t>(rng());
  store.put("obj", body);

  ltxvfs::history::RemoteSource src(store, "obj", body.size(), 1 << 20);
  Bytes out(300'000);
  for (uint64_t offset : {0ull, 1'000'000ull, 1'048'000ull, 4'700'000ull}) {
    src.read_at(offset, out);
    REQUIRE(std::equal(out.begin(), out.end(), body.begin() + static_cast<std::ptrdiff_t>(offset)));
  }
  // A front-to-back read costs one GET per chunk and holds one chunk.
  ltxvfs::history::RemoteSource seq(store, "obj", body.size(), 1 << 20);
  for (uint64_t offset = 0; offset < body.size(); offset += 256 << 10) {
    Bytes part(std::min<uint64_t>(256 << 10, body.size() - offset));
    seq.read_at(offset, part);
    REQUIRE(
        std::equal(part.begin(), part.end(), body.begin() + static_cast<std::ptrdiff_t>(offset)));
  }
  CHECK(seq.stats().gets == 5);
  CHECK(seq.stats().bytes == body.size());
  // Past the end: refused.
  Bytes tail(10);
  REQUIRE_THROWS_AS(seq.read_at(body.size() - 5, tail), ltx::LtxError);
  // The object replaced while being read: refused rather than mixed.
  ltxvfs::history::RemoteSource changing(store, "obj", body.size(), 1 << 20);
  changing.read_at(0, out);
  store.put("obj", Bytes(body.size() + 1, 7));
  try {
    changing.read_at(3'000'000, out);
    FAIL("read a replaced object");
  } catch (const ltx::LtxError& e) {
    CHECK_THAT(e.what(), Catch::Contains("changed while it was being read"));
  }
}

TEST_CASE("remote compactor: an existing output with the same transactions is accepted",
          "[remote]") {
  for (auto format : {OutputFormat::kNative, OutputFormat::kLitestream}) {
    const std::string dir = scratch_dir("exists-same");
    storage::FileStore fs(dir);
    L0Writer writer(fs, LayoutStyle::kDirectory, L0Writer::Options{format, 512, 12, 40, true, 5});
    for (int i = 0; i < 10; ++i) writer.commit(1'000'000 + i);
    // The same compaction, done by an earlier run whose listing this one does not see.
    std::vector<ltxvfs::history::WrittenFile> told;
    ltxvfs::history::CompactionWork work;
    work.written = [&](const ltxvfs::history::WrittenFile& w) { told.push_back(w); };
    {
      ltxvfs::history::HistoryEngine earlier(fs, LayoutStyle::kDirectory, format, one_level(),
                                             work);
      REQUIRE(earlier.run_now(ltxvfs::base::now_ms(), {}).written.size() == 1);
    }
    const std::string key = storage::ltx_key(LayoutStyle::kDirectory, 1, 1, 10);
    const Bytes first = fs.get(key).body;
    // The writer is told each output it PUT, with where its page index starts and where page 1
    // (its first frame: the inputs start at TXID 1) ends, and page 1's schema read (these
    // synthetic pages name no roots): the head's hints.
    REQUIRE(told.size() == 1);
    CHECK(told[0].file.key == key);
    CHECK(told[0].hints.tail_bytes ==
          ltx::index_tail_bytes(std::span(first).last(ltx::kMinTailSize), first.size()));
    CHECK(told[0].hints.tail_bytes > ltx::kMinTailSize);
    const auto tail = std::get<ltx::FileTail>(ltx::parse_file_tail(first, first.size()));
    REQUIRE(tail.index.find(1) != nullptr);
    CHECK(told[0].hints.page1_end == ltx::kHeaderSize + tail.index.find(1)->size);
    CHECK(told[0].hints.schema_roots == std::vector<uint32_t>{});
    told.clear();
    StaleListingStore stale(fs, [](const std::string& k) { return k.rfind("ltx/1/", 0) == 0; });
    ltxvfs::history::HistoryEngine engine(stale, LayoutStyle::kDirectory, format, one_level(),
                                          work);
    const auto report = engine.run_now(ltxvfs::base::now_ms(), {});
    REQUIRE(report.written.size() == 1);
    CHECK(report.written[0].already_there);
    CHECK(told.empty());  // not its bytes: no hint
    CHECK(fs.get(key).body == first);
    CHECK_FALSE(engine.stopped());
  }
}

TEST_CASE("remote compactor: another writer's file stops the engine and is never overwritten",
          "[remote]") {
  const std::string dir = scratch_dir("exists-other");
  storage::FileStore fs(dir);
  L0Writer writer(fs, LayoutStyle::kDirectory,
                  L0Writer::Options{OutputFormat::kNative, 512, 12, 40, true, 5});
  for (int i = 0; i < 10; ++i) writer.commit(1'000'000 + i);
  // Another history's level-1 file under the same key.
  const std::string other_dir = scratch_dir("exists-other-history");
  storage::FileStore other(other_dir);
  L0Writer other_writer(other, LayoutStyle::kDirectory,
                        L0Writer::Options{OutputFormat::kNative, 512, 12, 40, true, 6});
  for (int i = 0; i < 10; ++i) other_writer.commit(1'000'000 + i);
  ltxvfs::history::HistoryEngine(other, LayoutStyle::kDirectory, OutputFormat::kNative, one_level())
      .run_now(ltxvfs::base::now_ms(), {});
  const std::string key = storage::ltx_key(LayoutStyle::kDirectory, 1, 1, 10);
  const Bytes theirs = other.get(key).body;
  fs.put(key, theirs);

  StaleListingStore stale(fs, [](const std::string& k) { return k.rfind("ltx/1/", 0) == 0; });
  ltxvfs::history::HistoryEngine engine(stale, LayoutStyle::kDirectory, OutputFormat::kNative,
                                        one_level());
  try {
    engine.run_now(ltxvfs::base::now_ms(), {});
    FAIL("compacted over another writer's file");
  } catch (const ltxvfs::history::HistoryConflict& e) {
    CHECK_THAT(e.what(), Catch::Contains(key) && Catch::Contains("another writer") &&
                             Catch::Contains("Nothing was overwritten"));
  }
  CHECK(fs.get(key).body == theirs);
  REQUIRE(engine.stopped());
  // Stopped for good: later runs say why without touching the store.
  REQUIRE_THROWS_AS(engine.run_due(ltxvfs::base::now_ms()), ltxvfs::history::HistoryConflict);
}

TEST_CASE("history engine: asked to stop, it stops at the next read and publishes nothing",
          "[remote]") {
  const std::string dir = scratch_dir("stop");
  storage::FileStore fs(dir);
  L0Writer writer(fs, LayoutStyle::kDirectory,
                  L0Writer::Options{OutputFormat::kNative, 512, 12, 40, true, 5});
  for (int i = 0; i < 40; ++i) writer.commit(1'000'000 + i);
  const auto before = ltxvfs::history::list_ltx_files(fs, LayoutStyle::kDirectory);
  std::atomic<int> polls{0};
  ltxvfs::history::CompactionWork work;
  work.prefetch_threads = 1;
  work.stop_requested = [&] { return ++polls > 20; };  // in the middle of reading the inputs
  ltxvfs::history::HistoryPolicy p = one_level();
  p.snapshot_interval_ms = 1000;
  ltxvfs::history::HistoryEngine engine(fs, LayoutStyle::kDirectory, OutputFormat::kNative, p,
                                        work);
  REQUIRE_THROWS_AS(
      engine.run_now(ltxvfs::base::now_ms(), ltxvfs::history::RunNowOptions{true, true, true}),
      ltxvfs::history::WorkStopped);
  CHECK(ltxvfs::history::list_ltx_files(fs, LayoutStyle::kDirectory).size() == before.size());
  CHECK_FALSE(engine.stopped());  // not a conflict: the next run carries on
  polls = -1'000'000;
  const auto report =
      engine.run_now(ltxvfs::base::now_ms(), ltxvfs::history::RunNowOptions{true, true, true});
  CHECK(report.written.size() == 2);  // level 1, then the snapshot
}
