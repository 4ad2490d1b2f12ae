// WriterLease against a FileStore and against moto: the lifecycle (acquire, renew, release), the
// JSON it writes, takeover after expiry, LeaseLost, answers lost in transit, and races between
// threads and between processes in which exactly one contender may win.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <latch>
#include <memory>
#include <thread>

#include "history/writer_lease.h"
#include "storage/file_store.h"
#include "storage/store_factory.h"
#include "tests/harness/s3_test_server.h"
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
  std::function<WallClock::time_point()> fn() const {
    auto ms = ms_;
    return [ms] { return WallClock::time_point(milliseconds(ms->load())); };
  }

 private:
  std::shared_ptr<std::atomic<int64_t>> ms_;
};

WriterLeaseOptions options_for(const std::string& owner, const TestClock& clock) {
  WriterLeaseOptions o;
  o.owner = owner;
  o.clock = clock.fn();
  return o;  // TTL 30 s, renewal every 10 s: the defaults
}

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

  CHECK_FALSE(a.needs_renewal(clock.now() + milliseconds(9999)));
  CHECK(a.needs_renewal(clock.now() + seconds(10)));
  CHECK_FALSE(b.needs_renewal(clock.now() + seconds(60)));  // not held: nothing to renew

  clock.advance(seconds(10));
  a.renew();
  CHECK(a.generation() == 1);  // a renewal is the same tenure
  CHECK(a.expires_at() == clock.now() + seconds(30));
  CHECK_FALSE(a.needs_renewal(clock.now()));
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

void check_expiry_and_takeover(ObjectStore& store, LayoutStyle layout) {
  TestClock clock;
  WriterLease a(store, layout, options_for("host-a:1:aaaa", clock));
  WriterLease b(store, layout, options_for("host-b:2:bbbb", clock));
  WriterLease c(store, layout, options_for("host-c:3:cccc", clock));
  REQUIRE(a.try_acquire().acquired);

  // A holder that stopped renewing (crashed, partitioned): its lease runs out at expires_at.
  clock.advance(milliseconds(29'999));
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
    CHECK_THAT(std::string(e.what()), Catch::Contains("delete lock.json"));
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
