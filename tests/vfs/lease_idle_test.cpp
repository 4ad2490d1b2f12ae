// The lease of an idle writer (issue 18): after a minute without a write transaction or an upload,
// the keeper renews every 150 s with a 5-minute record instead of every 10 s with a 30 s one; a
// taker on another host honours the longer record; the first write after idleness costs at most
// one conditional PUT and brings the normal TTL back; a takeover while idle is still seen by the
// first write. Driven on a clock of the test's (the renewal job's wake-ups called by hand, as the
// scheduler would at the times it returns), so no assertion depends on timing.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "history/writer_lease.h"
#include "storage/file_store.h"
#include "storage/replica_layout.h"
#include "tests/storage/forwarding_store.h"
#include "tests/storage/test_util.h"
#include "vfs/writer/config.h"
#include "vfs/writer/lease_keeper.h"

using namespace ltxvfs;
using history::SteadyClock;
using history::WallClock;
using ltxvfs::testing::TempDir;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr auto kLayout = storage::LayoutStyle::kDirectory;
constexpr int64_t kT0 = 1795168800000;  // 2026-11-20T10:00:00.000Z

// One clock for the wall and the monotonic time of every party, moved by hand.
struct TestClock {
  std::shared_ptr<std::atomic<int64_t>> ms = std::make_shared<std::atomic<int64_t>>(kT0);
  int64_t now_ms() const { return ms->load(); }
  void advance(milliseconds d) { ms->fetch_add(d.count()); }
  std::function<WallClock::time_point()> wall() const {
    return [ms = ms] { return WallClock::time_point(milliseconds(ms->load())); };
  }
  std::function<SteadyClock::time_point()> steady() const {
    return [ms = ms] { return SteadyClock::time_point(milliseconds(ms->load())); };
  }
};

// The store's clock is the test's: LastModified is the test time of the last write, every answer
// carries the test time. Counts the lease's PUTs.
class LeaseStore final : public ltxvfs::testing::ForwardingStore {
 public:
  LeaseStore(storage::ObjectStore& inner, TestClock clock)
      : ForwardingStore(inner), clock_(std::move(clock)) {}
  int puts = 0;

  storage::PutResult put(const std::string& key, std::span<const uint8_t> body,
                         const storage::PutOptions& options) override {
    ++puts;  // a conditional PUT that fails is a request too
    auto result = inner_.put(key, body, options);
    std::lock_guard lock(mu_);
    written_at_[key] = clock_.now_ms();
    return result;
  }
  storage::GetResult get(const std::string& key, std::optional<storage::ByteRange> range) override {
    auto got = inner_.get(key, range);
    std::lock_guard lock(mu_);
    got.last_modified_ms = written_at_[key];
    got.store_time_ms = clock_.now_ms();
    return got;
  }
  int64_t written_at(const std::string& key) {
    std::lock_guard lock(mu_);
    return written_at_[key];
  }

 private:
  const TestClock clock_;
  std::mutex mu_;
  std::map<std::string, int64_t> written_at_;
};

history::LeaseRecord record_in(storage::ObjectStore& store) {
  const auto got = store.get(storage::lock_key(kLayout));
  auto record = history::LeaseRecord::from_json(
      std::string_view(reinterpret_cast<const char*>(got.body.data()), got.body.size()));
  REQUIRE(record.has_value());
  return *record;
}

// The TTL the record in the store asks for: expires_at minus when it was written.
milliseconds record_ttl(LeaseStore& store) {
  return milliseconds(record_in(store).expires_at_ms -
                      store.written_at(storage::lock_key(kLayout)));
}

struct Writer {
  TestClock clock;
  TempDir tmp;
  storage::FileStore files{tmp.path() + "/replica"};
  LeaseStore store{files, clock};
  std::string lost;
  writer::LeaseKeeper keeper;
  // When the renewal job runs next, as the scheduler would run it.
  int64_t next_job_ms = 0;
  int looks = 0;

  explicit Writer(milliseconds idle_ttl)
      : keeper(
            std::make_unique<history::WriterLease>(store, kLayout, lease_options()),
            files.describe(), nullptr, [this](const std::string& why) { lost = why; },
            writer::IdleLease{idle_ttl, writer::kIdleAfter, clock.steady()}) {
    keeper.acquire_at_open(milliseconds(0));
    next_job_ms = clock.now_ms() + 100;
  }
  history::WriterLeaseOptions lease_options() const {
    history::WriterLeaseOptions o;
    o.owner = "host-a:1:aaaa";
    o.clock = clock.wall();
    o.steady = clock.steady();
    return o;  // TTL 30 s, renewed every 10 s
  }
  // Moves the clock by `d` in steps of 100 ms, running the renewal job when it is due.
  void idle_for(milliseconds d) {
    const int64_t end = clock.now_ms() + d.count();
    while (clock.now_ms() < end) {
      clock.advance(milliseconds(100));
      if (clock.now_ms() < next_job_ms) continue;
      ++looks;
      const auto wait = keeper.renew_due();
      REQUIRE(wait.has_value());
      next_job_ms = clock.now_ms() + wait->count();
    }
  }
};

// A taker on another host: its own lease object, judging the holder by the store's clock.
history::LeaseAttempt take_from_elsewhere(Writer& w) {
  history::WriterLeaseOptions o;
  o.owner = "host-b:2:bbbb";
  o.clock = w.clock.wall();
  o.steady = w.clock.steady();
  return history::WriterLease(w.store, kLayout, o).try_acquire();
}

}  // namespace

TEST_CASE("lease: an idle writer renews every 150 s with a 5-minute record", "[stages][lease]") {
  Writer w(seconds(300));
  const int at_open = w.store.puts;
  w.idle_for(seconds(59));
  // The first minute, active (the open counts as activity): every 10 s, 30 s records.
  CHECK(w.store.puts - at_open == 5);
  CHECK(record_ttl(w.store) == seconds(30));
  CHECK_FALSE(w.keeper.idle());
  w.idle_for(seconds(2));  // idle from 60 s on; the renewal due at 60.1 s is its first idle one
  CHECK(w.keeper.idle());
  // Then one renewal per 150 s, each a 5-minute record: at 210.1, 360.1, 510.1 and 660.1 s.
  const int idle_from = w.store.puts;
  const int looks_from = w.looks;
  w.idle_for(seconds(600));
  CHECK(w.store.puts - idle_from == 4);  // 0.4 a minute, against 6 before
  CHECK(record_ttl(w.store) == seconds(300));
  CHECK_THAT(w.keeper.describe(), Catch::Contains("idle: renewed every 150 s"));
  // Looking costs no request: at most every 10 s (not every 100 ms once its own validity lapsed).
  CHECK(w.looks - looks_from <= 61);
  CHECK(w.lost.empty());
  // Its own validity is still the normal TTL from its last write, so it lapses between
  // renewals; the history may run all the same (every write of it renews first).
  w.idle_for(seconds(40));
  CHECK_FALSE(w.keeper.fresh());
  CHECK(w.keeper.may_run_history());
}

TEST_CASE("lease: the first write after idleness brings the normal TTL back", "[stages][lease]") {
  const bool lapsed = GENERATE(false, true);
  INFO((lapsed ? "validity lapsed" : "still valid"));
  Writer w(seconds(300));
  w.idle_for(seconds(100));  // idle since 60 s: idle renewals at 60.1 s and 210.1 s
  REQUIRE(record_ttl(w.store) == seconds(300));
  // A write 50 s after the first idle renewal (the 30 s validity lapsed: at 110 s), or 5 s after
  // the next one (210.1 s: valid, at 215 s).
  w.idle_for(seconds(lapsed ? 10 : 115));
  const int64_t renewed = w.store.written_at(storage::lock_key(kLayout));
  REQUIRE(w.clock.now_ms() - renewed == (lapsed ? 49'900 : 4'900));
  const int before = w.store.puts;
  w.keeper.check_before_write();
  CHECK(w.lost.empty());
  CHECK(w.keeper.conflict().empty());  // never refused
  CHECK_FALSE(w.keeper.idle());
  if (lapsed) {
    // One conditional PUT, with the normal TTL.
    CHECK(w.store.puts == before + 1);
    CHECK(record_ttl(w.store) == seconds(30));
  } else {
    // Nothing at the write; the job renews with the normal TTL within 10 s.
    CHECK(w.store.puts == before);
    w.idle_for(seconds(10));
    CHECK(w.store.puts == before + 1);
    CHECK(record_ttl(w.store) == seconds(30));
  }
  CHECK(w.keeper.fresh());
  // The upload that follows needs no request.
  const int at_upload = w.store.puts;
  w.keeper.check_for_upload();
  CHECK(w.store.puts == at_upload);
}

TEST_CASE("lease: a writer on another host waits out an idle writer's 5-minute record",
          "[stages][lease]") {
  const bool idle_mode = GENERATE(true, false);
  INFO((idle_mode ? "lease_idle_ttl_ms=300000" : "lease_idle_ttl_ms=0"));
  Writer w(idle_mode ? seconds(300) : milliseconds(0));
  w.idle_for(seconds(100));
  const int64_t renewed = w.store.written_at(storage::lock_key(kLayout));
  // The writer crashes: no more renewals. A taker 60 s after its last renewal...
  w.clock.advance(milliseconds(renewed + 60'000 - w.clock.now_ms()));
  const auto early = take_from_elsewhere(w);
  if (!idle_mode) {
    CHECK(early.acquired);  // 30 s records: taken after 30 s (+1 s for the store's seconds)
    return;
  }
  CHECK_FALSE(early.acquired);
  CHECK(history::holder_ttl(early.record, renewed, history::kDefaultTtl) == seconds(300));
  // ... still waits at 300 s (the store's whole seconds), and takes it after.
  w.clock.advance(milliseconds(renewed + 300'000 - w.clock.now_ms()));
  CHECK_FALSE(take_from_elsewhere(w).acquired);
  w.clock.advance(seconds(2));
  CHECK(take_from_elsewhere(w).acquired);
}

// The idle keeper's looks (every 10 s, no request) are no renewal attempts: a takeover while its
// validity lapsed must still be learnt by the first write, not taken for "renewed since".
TEST_CASE("lease: a takeover while idle refuses the first write after it", "[stages][lease]") {
  Writer w(seconds(300));
  w.idle_for(seconds(100));
  const int64_t renewed = w.store.written_at(storage::lock_key(kLayout));
  w.idle_for(milliseconds(renewed + 40'000 - w.clock.now_ms()));  // lapsed, looked at since
  const auto breaker = history::break_lease(w.store, kLayout, "host-b:2:bbbb");
  CHECK_THAT(breaker, Catch::Contains("host-a"));
  REQUIRE(take_from_elsewhere(w).acquired);
  w.idle_for(seconds(5));
  const int before = w.store.puts;
  w.keeper.check_before_write();
  CHECK(w.store.puts == before + 1);  // the write's renewal, which fails its condition
  CHECK_THAT(w.lost, Catch::Contains("took the lease over"));
  CHECK_FALSE(w.keeper.conflict().empty());
}

TEST_CASE("config: lease_idle_ttl_ms and LTX_LEASE_IDLE_TTL_MS", "[config][unit]") {
  const auto lookup = [](std::map<std::string, std::string> values) {
    return [values](const std::string& k) -> std::optional<std::string> {
      auto it = values.find(k);
      return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
  };
  const auto none = lookup({});
  CHECK(writer::load_config("/d/a.db", none, none).lease_idle_ttl_ms == 300000);
  CHECK(writer::load_config("/d/a.db", none, lookup({{"LTX_LEASE_IDLE_TTL_MS", "0"}}))
            .lease_idle_ttl_ms == 0);
  CHECK(writer::load_config("/d/a.db", lookup({{"lease_idle_ttl_ms", "120000"}}),
                            lookup({{"LTX_LEASE_IDLE_TTL_MS", "0"}}))
            .lease_idle_ttl_ms == 120000);
  // Shorter than the normal TTL would renew more often, longer than 10 minutes is not believed.
  for (const char* bad : {"1000", "600001", "5m"}) {
    INFO(bad);
    CHECK_THROWS_WITH(writer::load_config("/d/a.db", lookup({{"lease_idle_ttl_ms", bad}}), none),
                      Catch::Contains("lease_idle_ttl_ms"));
  }
}
