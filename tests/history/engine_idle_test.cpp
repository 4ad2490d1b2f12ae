// The history engine of an idle writer (issue 18): when the caller says nothing was uploaded since
// the engine's own last listing, a run with nothing due sends no request, and a run that has work
// reads the store and does exactly what an engine reading at every run does.
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "history/history_engine.h"
#include "history/restore_plan.h"
#include "history_support.h"
#include "storage/file_store.h"
#include "tests/storage/forwarding_store.h"

using namespace historytest;
using namespace ltxvfs;
using ltxvfs::history::HistoryEngine;
using ltxvfs::history::HistoryPolicy;
using ltxvfs::history::HistoryRunReport;

namespace {

constexpr int64_t kStart = 1'800'000'000'000;  // a multiple of every interval used here
constexpr auto kLayout = LayoutStyle::kDirectory;

// Counts every request, whatever its kind.
class CountingStore final : public ltxvfs::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::atomic<uint64_t> requests{0};

  storage::PutResult put(const std::string& key, std::span<const uint8_t> body,
                         const storage::PutOptions& options) override {
    ++requests;
    return inner_.put(key, body, options);
  }
  storage::PutResult put_body(const std::string& key, const storage::BodySource& body,
                              const storage::PutOptions& options) override {
    ++requests;
    return inner_.put_body(key, body, options);
  }
  storage::GetResult get(const std::string& key, std::optional<storage::ByteRange> range) override {
    ++requests;
    return inner_.get(key, range);
  }
  std::optional<storage::ObjectInfo> head(const std::string& key) override {
    ++requests;
    return inner_.head(key);
  }
  std::vector<storage::ObjectInfo> list(const std::string& prefix,
                                        const std::string& start_after) override {
    ++requests;
    return inner_.list(prefix, start_after);
  }
  std::vector<storage::ObjectInfo> list_keys(const std::string& prefix,
                                             const std::string& start_after) override {
    ++requests;
    return inner_.list_keys(prefix, start_after);
  }
  void remove(const std::vector<std::string>& keys) override {
    ++requests;
    inner_.remove(keys);
  }
};

HistoryPolicy idle_policy() {
  HistoryPolicy p;
  p.level_intervals_ms = {30'000, 300'000};
  p.snapshot_interval_ms = 3'600'000;
  p.retention_ms = 2 * 3'600'000;
  p.retention_grace_ms = 300'000;
  return p;
}

history::CompactionWork work() {
  history::CompactionWork w;
  w.temp_dir = scratch_dir("tmp-" + std::to_string(::getpid()));
  return w;
}

std::set<std::string> keys_of(ObjectStore& store) {
  std::set<std::string> keys;
  for (const auto& f : history::list_ltx_files(store, kLayout)) keys.insert(f.key);
  return keys;
}

std::vector<std::string> keys_of(const HistoryRunReport& r) {
  std::vector<std::string> keys;
  for (const auto& w : r.written) keys.push_back(w.file.key);
  for (const auto& d : r.deleted) keys.push_back("-" + d.file.key);
  return keys;
}

// One writer's replica: a directory, the simulated clock's store over it, and an engine.
struct Replica {
  storage::FileStore files;
  SimTimeStore timed;
  CountingStore counted;
  L0Writer writer;
  HistoryEngine engine;

  Replica(const std::string& dir, const std::atomic<int64_t>& now)
      : files(dir),
        timed(files, now),
        counted(timed),
        writer(timed, kLayout, L0Writer::Options{}),
        engine(counted, kLayout, OutputFormat::kNative, idle_policy(), work()) {}
};

}  // namespace

// Two replicas of the same commits: `idle`'s engine is told the count of uploads, `busy`'s reads
// the store at every run, as before. Both wake every 10 s for 3 simulated hours after the last
// commit (1,080 wake-ups, what the writer's history thread does at most), and must do the same
// thing at every wake-up; `idle`'s runs with nothing due must send no request at all.
TEST_CASE("engine: an idle writer's runs with nothing due send no request", "[engine][idle]") {
  std::atomic<int64_t> now{kStart};
  Replica idle(scratch_dir("idle-told"), now);
  Replica busy(scratch_dir("idle-reads"), now);
  uint64_t uploads = 0;
  for (int i = 0; i < 20; ++i) {
    idle.writer.commit(now);
    busy.writer.commit(now);
    ++uploads;
    now += 1000;
  }
  size_t wakeups = 0, reading = 0, reading_for_nothing = 0, steps = 0;
  const auto wake = [&] {
    ++wakeups;
    const uint64_t before = idle.counted.requests;
    const HistoryRunReport a = idle.engine.run_due(now, std::nullopt, uploads);
    const HistoryRunReport b = busy.engine.run_due(now);
    INFO("at +" << (now - kStart) / 1000 << " s");
    REQUIRE(keys_of(a) == keys_of(b));
    REQUIRE(a.next_due_ms == b.next_due_ms);
    REQUIRE(a.waiting == b.waiting);
    if (!a.read_store) {
      REQUIRE(idle.counted.requests == before);
      return;
    }
    ++reading;
    steps += a.written.size() + a.deleted.size();
    if (a.written.empty() && a.deleted.empty()) ++reading_for_nothing;
  };
  const int64_t idle_until = now + 3 * 3'600'000;
  for (; now < idle_until; now += 10'000) wake();
  INFO(wakeups << " wake-ups, " << reading << " read the store (" << reading_for_nothing
               << " of them for nothing), " << steps << " files written or deleted");
  CHECK(wakeups == 1080);
  // Work while idle: level 1 and 2 once, snapshots, deletions after the grace period and as the
  // window moves on; a run that has some reads the store first.
  CHECK(steps >= 6);
  // Reading for nothing: the first run (the engine has no listing of its own yet), the hourly
  // re-reading (kTrustedListingMs), and the snapshot's hourly look for something newer.
  CHECK(reading_for_nothing <= 8);
  CHECK(reading <= 24);  // out of 1,080; every run read before
  CHECK(keys_of(idle.timed) == keys_of(busy.timed));

  // An upload: the next run reads the store, whatever is due.
  idle.writer.commit(now);
  busy.writer.commit(now);
  ++uploads;
  now += 10'000;
  const uint64_t before = idle.counted.requests;
  const HistoryRunReport after = idle.engine.run_due(now, std::nullopt, uploads);
  CHECK(after.read_store);
  CHECK(idle.counted.requests > before);
  // Without the count (nullopt), every run reads, as before.
  CHECK(idle.engine.run_due(now + 1000).read_store);
  CHECK(idle.engine.run_due(now + 2000).read_store);
}

// A listing handed over by the caller (the open's) is never decided from: it may be older than
// the count. The engine's own listings are, with what it wrote since.
TEST_CASE("engine: a listing the caller handed over is not trusted for later runs",
          "[engine][idle]") {
  std::atomic<int64_t> now{kStart};
  Replica r(scratch_dir("idle-handed"), now);
  for (int i = 0; i < 5; ++i) {
    r.writer.commit(now);
    now += 1000;
  }
  // The open's listing, taken before the uploads counted below.
  auto listed = history::read_history(r.timed, kLayout);
  r.writer.commit(now);  // uploaded after the listing, counted
  const uint64_t uploads = 6;
  now += 1000;
  const auto first = r.engine.run_due(now, std::move(listed), uploads);
  // It used the caller's listing: the empty levels 1 and 2 take TXIDs 1-5.
  CHECK(first.read_store);
  REQUIRE(first.written.size() == 2);
  CHECK(first.written[0].file.level == 1);
  CHECK(first.written[0].file.max_txid == 5);
  now += 1000;
  const uint64_t before = r.counted.requests;
  const auto second = r.engine.run_due(now, std::nullopt, uploads);
  CHECK(second.read_store);  // the handed-over listing lacked TXID 6: read
  CHECK(r.counted.requests > before);
  now += 1000;
  CHECK_FALSE(r.engine.run_due(now, std::nullopt, uploads).read_store);
  // Level 1 is due again at the next 30 s boundary: that run reads and compacts TXID 6, which
  // the listing it decided from holds because the second run read it.
  now = kStart + 30'000;
  const auto compacting = r.engine.run_due(now, std::nullopt, uploads);
  CHECK(compacting.read_store);
  REQUIRE(compacting.written.size() == 1);
  CHECK(compacting.written[0].file.min_txid == 6);
  // Then nothing is due until level 2's boundary (5 min): no request.
  now += 10'000;
  const uint64_t quiet_from = r.counted.requests;
  CHECK_FALSE(r.engine.run_due(now, std::nullopt, uploads).read_store);
  CHECK(r.counted.requests == quiet_from);
}
