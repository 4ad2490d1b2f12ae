// WriterLease against a FileStore and against moto: the lifecycle (acquire, renew, release), the
// JSON it writes, takeover after expiry judged by the store's clock (or by watching the record),
// never by the taker's wall clock, LeaseLost, answers lost in transit, and races between threads
// and between processes in which exactly one contender may win.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "history/writer_lease.h"
#include "storage/file_store.h"
#include "storage/store_factory.h"
#include "tests/harness/s3_test_server.h"
#include "tests/storage/forwarding_store.h"
#include "tests/storage/test_util.h"

using namespace ltxvfs::storage;
using namespace ltxvfs::history;
using ltxvfs::testing::make_test_bucket;
using ltxvfs::testing::Server;
using ltxvfs::testing::span_of;
using ltxvfs::testing::TempDir;
using ltxvfs::testing::text;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr int64_t kT0 = 1795168800000;  // 2026-11-20T10:00:00.000Z

// A wall clock the test moves by hand, shared by every lease of a scenario.
class TestClock {
 public:
  TestClock() : ms_(std::make_shared<std::atomic<int64_t>>(kT0)) {}
  void set(int64_t ms) { ms_->store(ms); }
  void advance(milliseconds d) { ms_->fetch_add(d.count()); }
  WallClock::time_point now() const { return WallClock::time_point(milliseconds(ms_->load())); }
  int64_t now_ms() const { return ms_->load(); }
  std::function<WallClock::time_point()> fn() const {
    auto ms = ms_;
    return [ms] { return WallClock::time_point(milliseconds(ms->load())); };
  }
  // The same time as a monotonic clock (the lease's own validity and its watching).
  std::function<SteadyClock::time_point()> steady_fn() const {
    auto ms = ms_;
    return [ms] { return SteadyClock::time_point(milliseconds(ms->load())); };
  }

 private:
  std::shared_ptr<std::atomic<int64_t>> ms_;
};

WriterLeaseOptions options_for(const std::string& owner, const TestClock& clock) {
  WriterLeaseOptions o;
  o.owner = owner;
  o.clock = clock.fn();
  o.steady = clock.steady_fn();
  return o;  // TTL 30 s, renewal every 10 s: the defaults
}

// The store's clock follows the test's: LastModified is the test time of the last write, and
// every answer carries the test time as the store's time. With `report_times` false the store
// reports no time at all (takers must watch the record).
class StoreOnTestClock final : public ltxvfs::testing::ForwardingStore {
 public:
  StoreOnTestClock(ObjectStore& inner, const TestClock& clock, bool report_times = true)
      : ForwardingStore(inner), clock_(clock), report_times_(report_times) {}

  PutResult put(const std::string& key, std::span<const uint8_t> body,
                const PutOptions& options) override {
    const int64_t at = clock_.now_ms();
    auto result = inner_.put(key, body, options);
    std::lock_guard lock(mu_);
    written_at_[key] = at;
    return result;
  }
  GetResult get(const std::string& key, std::optional<ByteRange> range) override {
    auto got = inner_.get(key, range);
    std::lock_guard lock(mu_);
    got.last_modified_ms = report_times_ ? written_at_[key] : 0;
    got.store_time_ms = report_times_ ? clock_.now_ms() : 0;
    return got;
  }

 private:
  const TestClock clock_;
  const bool report_times_;
  std::mutex mu_;
  std::map<std::string, int64_t> written_at_;
};

LeaseRecord stored_record(ObjectStore& store) {
  auto record = LeaseRecord::from_json(text(store.get("lock.json").body));
  REQUIRE(record.has_value());
  return *record;
}

void check_lifecycle(ObjectStore& store, LayoutStyle layout) {
  TestClock clock;
  WriterLease a(store, layout, options_for("host-a:1:aaaa", clock));
  WriterLease b(store, layout, options_for("host-b:2:bbbb", clock));
  CHECK(a.key() == "lock.json");
  CHECK_FALSE(a.held());

  const auto first = a.try_acquire();
  REQUIRE(first.acquired);
  CHECK(a.held());
  CHECK(a.generation() == 1);
  CHECK(a.expires_at() == clock.now() + seconds(30));
  // Litestream's layout, byte for byte.
  CHECK(text(store.get("lock.json").body) ==
        R"({"generation":1,"expires_at":"2026-11-20T10:00:30.000Z","owner":"host-a:1:aaaa"})");

  const auto refused = b.try_acquire();
  CHECK_FALSE(refused.acquired);
  CHECK_FALSE(b.held());
  CHECK(refused.holder == "held by host-a:1:aaaa until 2026-11-20T10:00:30.000Z (generation 1)");
  CHECK(refused.record.owner == "host-a:1:aaaa");

  clock.advance(milliseconds(9999));
  CHECK_FALSE(a.needs_renewal());
  clock.advance(milliseconds(1));
  CHECK(a.needs_renewal());
  CHECK_FALSE(b.needs_renewal());  // not held: nothing to renew
  CHECK(a.valid_until() == SteadyClock::time_point(milliseconds(kT0 + 30'000)));

  a.renew();
  CHECK(a.generation() == 1);  // a renewal is the same tenure
  CHECK(a.expires_at() == clock.now() + seconds(30));
  CHECK_FALSE(a.needs_renewal());
  CHECK(a.valid_until() == SteadyClock::time_point(milliseconds(kT0 + 40'000)));
  CHECK(stored_record(store).expires_at_ms == kT0 + 40'000);
  CHECK_FALSE(b.try_acquire().acquired);

  a.release();
  CHECK_FALSE(a.held());
  const auto released = stored_record(store);  // never deleted: marked released
  CHECK(released.released());
  CHECK(released.owner == "host-a:1:aaaa");
  CHECK(released.generation == 1);
  CHECK(released.describe() == "released by host-a:1:aaaa (generation 1)");
  a.release();  // not held: nothing happens
  CHECK_THROWS_AS(a.renew(), std::logic_error);

  // The next writer need not wait for the TTL.
  const auto second = b.try_acquire();
  REQUIRE(second.acquired);
  CHECK(b.generation() == 2);
  CHECK(stored_record(store).owner == "host-b:2:bbbb");
  CHECK_FALSE(a.try_acquire().acquired);
  b.release();
}

void check_expiry_and_takeover(ObjectStore& inner, LayoutStyle layout) {
  TestClock clock;
  StoreOnTestClock store(inner, clock);
  WriterLease a(store, layout, options_for("host-a:1:aaaa", clock));
  WriterLease b(store, layout, options_for("host-b:2:bbbb", clock));
  WriterLease c(store, layout, options_for("host-c:3:cccc", clock));
  REQUIRE(a.try_acquire().acquired);

  // A holder that stopped renewing (crashed, partitioned): its lease runs out when the record is
  // older than the TTL by the store's clock, plus the second the store's times may be rounded by.
  clock.advance(milliseconds(30'999));
  CHECK_FALSE(b.try_acquire().acquired);
  clock.advance(milliseconds(1));
  REQUIRE(b.try_acquire().acquired);
  CHECK(b.generation() == 2);

  // A, which still believes it holds the lease, releases it: B's lease must survive.
  CHECK(a.held());
  a.release();
  auto now_stored = stored_record(store);
  CHECK(now_stored.owner == "host-b:2:bbbb");
  CHECK(now_stored.generation == 2);
  CHECK_FALSE(now_stored.released());

  // B stalls too; C takes over; B's next renewal learns it lost the lease.
  clock.advance(seconds(31));
  REQUIRE(c.try_acquire().acquired);
  CHECK(c.generation() == 3);
  try {
    b.renew();
    FAIL("renew() after a takeover succeeded");
  } catch (const LeaseLost& e) {
    const std::string message = e.what();
    CHECK_THAT(message, Catch::Contains("another writer took the lease over"));
    CHECK_THAT(message, Catch::Contains("held by host-c:3:cccc"));
    CHECK_THAT(message, Catch::Contains("must stop writing"));
  }
  CHECK_FALSE(b.held());
  CHECK(stored_record(store).owner == "host-c:3:cccc");
  c.release();
}

// Issue 16, item 1: a taker whose wall clock runs 45 s ahead of the holder's judged the live
// lease expired and took it at once, forking the history. Expiry is now the store's to tell.
void check_skewed_taker_waits(ObjectStore& inner, LayoutStyle layout) {
  TestClock clock, ahead;
  ahead.advance(seconds(45));
  StoreOnTestClock store(inner, clock);
  WriterLease a(store, layout, options_for("host-a:1:aaaa", clock));
  WriterLease b(store, layout, options_for("host-b:2:bbbb", ahead));
  REQUIRE(a.try_acquire().acquired);
  clock.advance(seconds(1));
  ahead.advance(seconds(1));
  const auto refused = b.try_acquire();
  CHECK_FALSE(refused.acquired);
  CHECK(refused.record.owner == "host-a:1:aaaa");
  // A renews every 10 s: however long B keeps trying, the lease stays A's.
  for (int i = 0; i < 9; ++i) {
    clock.advance(seconds(10));
    ahead.advance(seconds(10));
    a.renew();
    CHECK_FALSE(b.try_acquire().acquired);
  }
  CHECK(stored_record(store).owner == "host-a:1:aaaa");
  CHECK(stored_record(store).generation == 1);
  // A stops renewing: B takes over once the record is a TTL old by the store's clock.
  clock.advance(seconds(31));
  ahead.advance(seconds(31));
  REQUIRE(b.try_acquire().acquired);
  CHECK(b.generation() == 2);
  b.release();
}

// The same against the store's real clock (no test clock on the store side): B's wall clock is
// 45 s ahead, yet the store says A's record is fresh.
void check_skewed_taker_on_store_clock(ObjectStore& store, LayoutStyle layout) {
  WriterLease a(store, layout);
  WriterLeaseOptions ahead;
  ahead.clock = [] { return WallClock::now() + seconds(45); };
  WriterLease b(store, layout, ahead);
  REQUIRE(a.try_acquire().acquired);
  const auto got = store.get("lock.json");
  CHECK(got.store_time_ms > 0);  // the store reports its time: the watching fallback is unused
  CHECK(got.last_modified_ms > 0);
  CHECK_FALSE(b.try_acquire().acquired);
  CHECK(stored_record(store).generation == 1);
  a.release();
  REQUIRE(b.try_acquire().acquired);  // released: no wait
  b.release();
}

// A store that reports no time: the taker watches the record on its monotonic clock, and every
// renewal of the holder restarts the count.
void check_watching_without_store_times(ObjectStore& inner, LayoutStyle layout) {
  TestClock clock;
  StoreOnTestClock store(inner, clock, /*report_times=*/false);
  WriterLease a(store, layout, options_for("host-a:1:aaaa", clock));
  WriterLease b(store, layout, options_for("host-b:2:bbbb", clock));
  REQUIRE(a.try_acquire().acquired);
  CHECK_FALSE(b.try_acquire().acquired);  // first sight: the count starts
  clock.advance(seconds(20));
  CHECK_FALSE(b.try_acquire().acquired);
  a.renew();  // a new etag: the count starts again when B sees it
  clock.advance(seconds(20));
  CHECK_FALSE(b.try_acquire().acquired);
  clock.advance(milliseconds(29'999));
  CHECK_FALSE(b.try_acquire().acquired);
  clock.advance(milliseconds(1));
  REQUIRE(b.try_acquire().acquired);
  b.release();
}

// Issue 16, item 7: a lease "until year 9999" blocks for at most kMaxHolderTtl after it was
// written; a holder asking for a longer TTL than ours (expires_at well after LastModified) is
// given it.
void check_long_leases(ObjectStore& inner, LayoutStyle layout) {
  TestClock clock;
  StoreOnTestClock store(inner, clock);
  LeaseRecord forever{5, 253402300799000, "elsewhere:9:0000000000000009"};  // 9999-12-31
  store.put("lock.json", span_of(forever.to_json()), {});
  WriterLease b(store, layout, options_for("host-b:2:bbbb", clock));
  clock.advance(kMaxHolderTtl);
  CHECK_FALSE(b.try_acquire().acquired);
  clock.advance(kStoreClockResolution);
  REQUIRE(b.try_acquire().acquired);
  CHECK(b.generation() == 6);
  b.release();

  LeaseRecord minute{7, clock.now_ms() + 120'000, "elsewhere:9:0000000000000009"};  // 2 min TTL
  store.put("lock.json", span_of(minute.to_json()), {});
  clock.advance(seconds(60));
  CHECK_FALSE(b.try_acquire().acquired);  // past our 30 s, not past its 2 min
  clock.advance(seconds(61));
  REQUIRE(b.try_acquire().acquired);
  b.release();
}

void check_lost_answers_are_adopted(ObjectStore& store, LayoutStyle layout) {
  TestClock clock;
  const std::string owner = "host-a:1:aaaa";
  WriterLease a(store, layout, options_for(owner, clock));

  // Our create reached the store but its answer was lost: the record there is ours.
  LeaseRecord landed{1, kT0 + 30'000, owner};
  PutOptions create;
  create.if_none_match = true;
  store.put("lock.json", span_of(landed.to_json()), create);
  const auto attempt = a.try_acquire();
  REQUIRE(attempt.acquired);
  CHECK(a.generation() == 2);

  // Our renewal reached the store, its answer was lost: the next renewal's If-Match fails on
  // our own record, which is adopted and renewed again, not mistaken for a takeover.
  clock.advance(seconds(10));
  LeaseRecord renewed{2, kT0 + 40'000, owner};
  PutOptions replace;
  replace.if_match = store.get("lock.json").etag;
  store.put("lock.json", span_of(renewed.to_json()), replace);
  clock.advance(seconds(10));
  a.renew();
  CHECK(a.held());
  CHECK(a.generation() == 2);
  CHECK(a.expires_at() == clock.now() + seconds(30));
  CHECK(stored_record(store).expires_at_ms == kT0 + 50'000);
  a.release();
}

void check_not_a_lease(ObjectStore& store, LayoutStyle layout) {
  store.put("lock.json", span_of("<html>not a lease</html>"));
  WriterLease a(store, layout);
  try {
    a.try_acquire();
    FAIL("a foreign lock.json was taken");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreErrorKind::kProtocol);
    CHECK_THAT(std::string(e.what()), Catch::Contains("not a lease record"));
    CHECK_THAT(std::string(e.what()),
               Catch::Contains("ltxvfs lease ") && Catch::Contains(" --break"));
  }
  CHECK(text(store.get("lock.json").body) == "<html>not a lease</html>");  // left alone
}

// `contenders` threads, each with its own lease, race for an empty location. On a store whose
// conditional writes are atomic (a directory, S3) exactly one wins. moto's are not under
// concurrency (shared/testing.md: two If-None-Match PUTs can both succeed), so there a second
// "winner" may appear; the lease must then still leave one holder: every winner but the owner
// recorded in lock.json loses the lease at its first renewal.
void race_threads(ObjectStore& store, LayoutStyle layout, int contenders,
                  bool atomic_conditional_writes = true) {
  std::latch start(contenders);
  std::atomic<int> winners{0};
  std::vector<LeaseAttempt> attempts(static_cast<size_t>(contenders));
  std::vector<std::unique_ptr<WriterLease>> leases;
  for (int i = 0; i < contenders; ++i)
    leases.push_back(std::make_unique<WriterLease>(store, layout));
  std::vector<std::string> errors;
  std::mutex errors_mu;
  std::vector<std::thread> threads;
  for (int i = 0; i < contenders; ++i) {
    threads.emplace_back([&, i] {
      WriterLease& lease = *leases[static_cast<size_t>(i)];
      start.arrive_and_wait();
      try {
        attempts[static_cast<size_t>(i)] = lease.try_acquire();
        if (attempts[static_cast<size_t>(i)].acquired) ++winners;
      } catch (const std::exception& e) {
        std::lock_guard lock(errors_mu);
        errors.emplace_back(e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  INFO((errors.empty() ? std::string() : errors.front()));
  REQUIRE(errors.empty());
  REQUIRE(winners >= 1);
  const auto record = stored_record(store);
  CHECK(record.generation == 1);
  if (winners > 1) {
    REQUIRE_FALSE(atomic_conditional_writes);
    WARN(winners << " winners: the server let concurrent conditional writes through");
    int holders = 0;
    for (int i = 0; i < contenders; ++i) {
      if (!attempts[static_cast<size_t>(i)].acquired) continue;
      WriterLease& lease = *leases[static_cast<size_t>(i)];
      if (lease.owner() == record.owner) {
        lease.renew();
        ++holders;
      } else {
        CHECK_THROWS_AS(lease.renew(), LeaseLost);
        CHECK_FALSE(lease.held());
      }
    }
    CHECK(holders == 1);
    return;
  }
  for (int i = 0; i < contenders; ++i) {
    const auto& a = attempts[static_cast<size_t>(i)];
    if (a.acquired) {
      CHECK(record.owner == leases[static_cast<size_t>(i)]->owner());
    } else {
      CHECK_THAT(a.holder, Catch::StartsWith("held by " + record.owner + " until "));
    }
  }
}

}  // namespace

TEST_CASE("lease record: JSON in and out", "[lease]") {
  LeaseRecord r{7, kT0 + 3'250, "db1:4242:0123456789abcdef"};
  CHECK(
      r.to_json() ==
      R"({"generation":7,"expires_at":"2026-11-20T10:00:03.250Z","owner":"db1:4242:0123456789abcdef"})");
  auto back = LeaseRecord::from_json(r.to_json());
  REQUIRE(back.has_value());
  CHECK(back->generation == 7);
  CHECK(back->expires_at_ms == kT0 + 3'250);
  CHECK(back->owner == r.owner);
  CHECK_FALSE(r.expired_at(WallClock::time_point(milliseconds(kT0 + 3'249))));
  CHECK(r.expired_at(WallClock::time_point(milliseconds(kT0 + 3'250))));

  // As Go's encoding/json writes a time.Time (nanoseconds, local offset), fields in any order,
  // unknown fields ignored.
  auto go = LeaseRecord::from_json(
      R"({"owner":"h:1","expires_at":"2026-11-20T11:00:03.250999999+01:00","generation":3,"x":1})");
  REQUIRE(go.has_value());
  CHECK(go->expires_at_ms == kT0 + 3'250);
  CHECK(go->generation == 3);
  // Go's zero time reads as released.
  auto zero = LeaseRecord::from_json(
      R"({"generation":1,"expires_at":"0001-01-01T00:00:00Z","owner":"h:1"})");
  REQUIRE(zero.has_value());
  CHECK(zero->released());

  for (const char* bad :
       {"", "[]", "{}", R"({"generation":-1,"expires_at":"2026-11-20T10:00:00Z","owner":"h"})",
        R"({"generation":"1","expires_at":"2026-11-20T10:00:00Z","owner":"h"})",
        R"({"generation":1,"expires_at":"yesterday","owner":"h"})",
        R"({"generation":1,"expires_at":"2026-11-20T10:00:00Z"})"}) {
    INFO(bad);
    CHECK_FALSE(LeaseRecord::from_json(bad).has_value());
  }
}

TEST_CASE("lease owner: host, pid and random bits, new for every holder", "[lease]") {
  const std::string a = make_lease_owner();
  const std::string b = make_lease_owner();
  CHECK(a != b);
  const auto first = a.find(':');
  const auto last = a.rfind(':');
  REQUIRE(first != std::string::npos);
  REQUIRE(last > first);
  CHECK(a.substr(first + 1, last - first - 1) == std::to_string(::getpid()));
  CHECK(a.size() - last - 1 == 16);
  CHECK(a.find_first_not_of("0123456789abcdef", last + 1) == std::string::npos);
  TempDir dir;
  FileStore store(dir.path());
  WriterLease one(store, LayoutStyle::kDirectory), two(store, LayoutStyle::kDirectory);
  CHECK(one.owner() != two.owner());
}

TEST_CASE("lease on a file store: acquire, renew, release", "[lease][file]") {
  TempDir dir;
  FileStore store(dir.path());
  check_lifecycle(store, LayoutStyle::kDirectory);
}

TEST_CASE("lease on a file store: expiry, takeover, LeaseLost", "[lease][file]") {
  TempDir dir;
  FileStore store(dir.path());
  check_expiry_and_takeover(store, LayoutStyle::kDirectory);
}

TEST_CASE("lease on a file store: a taker whose clock runs 45 s ahead waits for the store's",
          "[lease][file]") {
  TempDir dir;
  FileStore store(dir.path());
  check_skewed_taker_waits(store, LayoutStyle::kDirectory);
}

TEST_CASE("lease on a file store: the store's own clock says a skewed taker's holder is live",
          "[lease][file]") {
  TempDir dir;
  FileStore store(dir.path());
  check_skewed_taker_on_store_clock(store, LayoutStyle::kDirectory);
}

TEST_CASE("lease on a file store: without the store's times the taker watches the record",
          "[lease][file]") {
  TempDir dir;
  FileStore store(dir.path());
  check_watching_without_store_times(store, LayoutStyle::kDirectory);
}

TEST_CASE("lease on a file store: a far-future lease blocks for at most kMaxHolderTtl",
          "[lease][file]") {
  TempDir dir;
  FileStore store(dir.path());
  check_long_leases(store, LayoutStyle::kDirectory);
}

TEST_CASE("lease on a file store: answers lost in transit are recognised", "[lease][file]") {
  TempDir dir;
  FileStore store(dir.path());
  check_lost_answers_are_adopted(store, LayoutStyle::kDirectory);
}

TEST_CASE("lease on a file store: a lock.json that is not a lease is left alone", "[lease][file]") {
  TempDir dir;
  FileStore store(dir.path());
  check_not_a_lease(store, LayoutStyle::kDirectory);
}

TEST_CASE("lease on a file store: 8 threads race, exactly one acquires (50 rounds)",
          "[lease][file]") {
  TempDir dir;
  for (int round = 0; round < 50; ++round) {
    INFO("round " << round);
    FileStore store(dir.path() + "/" + std::to_string(round));
    race_threads(store, LayoutStyle::kDirectory, 8);
  }
}

TEST_CASE("lease on a file store: processes race, exactly one acquires (20 rounds)",
          "[lease][file]") {
  TempDir dir;
  for (int round = 0; round < 20; ++round) {
    INFO("round " << round);
    const std::string root = dir.path() + "/" + std::to_string(round);
    // The children wait on a pipe until every one of them is forked, then race.
    int gate[2];
    REQUIRE(::pipe(gate) == 0);
    std::vector<pid_t> children;
    for (int p = 0; p < 4; ++p) {
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        // Child: no Catch2 here. Exit 0 = acquired, 1 = refused, 2 = error.
        ::close(gate[1]);
        char c;
        while (::read(gate[0], &c, 1) > 0) {
        }
        int status = 2;
        try {
          FileStore store(root);
          WriterLease lease(store, LayoutStyle::kDirectory);
          status = lease.try_acquire().acquired ? 0 : 1;
        } catch (...) {
        }
        ::_exit(status);
      }
      children.push_back(pid);
    }
    ::close(gate[0]);
    ::close(gate[1]);  // go
    int winners = 0, losers = 0;
    pid_t winner = 0;
    for (pid_t pid : children) {
      int status = 0;
      REQUIRE(::waitpid(pid, &status, 0) == pid);
      REQUIRE(WIFEXITED(status));
      if (WEXITSTATUS(status) == 0) {
        ++winners;
        winner = pid;
      }
      if (WEXITSTATUS(status) == 1) ++losers;
    }
    CHECK(winners == 1);
    CHECK(losers == 3);
    FileStore store(root);
    const auto record = stored_record(store);
    CHECK(record.generation == 1);
    CHECK_THAT(record.owner, Catch::Contains(":" + std::to_string(winner) + ":"));
  }
}

TEST_CASE("lease on S3 (moto): acquire, renew, release, takeover, lost answers", "[lease][moto]") {
  auto server = make_test_bucket(Server::kMoto);
  {
    auto opened = open_store(server.url("life"), server.settings);
    check_lifecycle(*opened.store, opened.layout);
  }
  {
    auto opened = open_store(server.url("expiry"), server.settings);
    check_expiry_and_takeover(*opened.store, opened.layout);
  }
  {
    auto opened = open_store(server.url("lost"), server.settings);
    check_lost_answers_are_adopted(*opened.store, opened.layout);
  }
  {
    auto opened = open_store(server.url("skew"), server.settings);
    check_skewed_taker_waits(*opened.store, opened.layout);
  }
  {
    auto opened = open_store(server.url("skew-real"), server.settings);
    check_skewed_taker_on_store_clock(*opened.store, opened.layout);
  }
  {
    auto opened = open_store(server.url("watch"), server.settings);
    check_watching_without_store_times(*opened.store, opened.layout);
  }
  {
    auto opened = open_store(server.url("foreign"), server.settings);
    check_not_a_lease(*opened.store, opened.layout);
  }
}

TEST_CASE("lease on S3 (moto): 8 threads race, exactly one acquires (20 rounds)", "[lease][moto]") {
  auto server = make_test_bucket(Server::kMoto);
  for (int round = 0; round < 20; ++round) {
    INFO("round " << round);
    auto opened = open_store(server.url("race-" + std::to_string(round)), server.settings);
    race_threads(*opened.store, opened.layout, 8, /*atomic_conditional_writes=*/false);
  }
}
