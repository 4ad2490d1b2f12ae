// The spool on its own (no SQLite): records appended to logs, found again on reopen, cut at the
// first bad record, superseded by rebuilds, made durable, removed once uploaded, and logs deleted
// only while the newest position survives in another.
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "base/posix_file.h"
#include "storage/object_store.h"
#include "tests/storage/child_process.h"
#include "tests/storage/test_util.h"
#include "tests/support/fsync_log.h"
#include "tests/vfs/writer_test_support.h"
#include "vfs/writer/spool.h"

using namespace ltxvfs;
using namespace ltxvfs::writer;
using ltxvfs::base::kDefaultFileMode;
using ltxvfs::testing::Bytes;
using ltxvfs::testing::file_size;
using ltxvfs::testing::LtxHistory;
using ltxvfs::testing::mode_of;
using ltxvfs::testing::spool_logs;
using ltxvfs::testing::TempDir;

namespace {

constexpr uint64_t kRecordHeader = 96;

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

Ranges ranges_of(const std::vector<SpoolEntry>& entries) {
  Ranges out;
  for (const auto& e : entries) out.emplace_back(e.min_txid, e.max_txid);
  return out;
}

Ranges ranges_of(const std::vector<Spool::Record>& records) {
  Ranges out;
  for (const auto& r : records) out.emplace_back(r.entry().min_txid, r.entry().max_txid);
  return out;
}

// Spools the history's TXIDs min..max as one record; returns its LTX size.
uint64_t add(Spool& spool, LtxHistory& h, uint64_t min, uint64_t max) {
  const Bytes ltx = h.range(min, max);
  spool.append(h.state(max), min, ltx);
  return ltx.size();
}

SpoolEntry entry_of(const Spool& spool, uint64_t min) {
  for (const auto& e : spool.entries()) {
    if (e.min_txid == min) return e;
  }
  FAIL("no live record starts at TXID " << min);
  return {};
}

void flip_byte(const std::string& path, uint64_t offset) {
  base::Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  REQUIRE(fd);
  uint8_t b = 0;
  REQUIRE(::pread(fd.get(), &b, 1, static_cast<off_t>(offset)) == 1);
  b ^= 0x5a;
  REQUIRE(::pwrite(fd.get(), &b, 1, static_cast<off_t>(offset)) == 1);
}

void append_bytes(const std::string& path, const Bytes& bytes) {
  base::Fd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  REQUIRE(fd);
  REQUIRE(::write(fd.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
}

// Sets the umask for the scope of a test.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t old_;
};

}  // namespace

TEST_CASE("spool: records are found again on reopen, and the newest is the position",
          "[spool][unit]") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/db-ltx/spool";  // created with its parents
  LtxHistory h;
  uint64_t bytes = 0;
  {
    Spool spool(dir, kDefaultFileMode);
    CHECK(spool.dir() == dir);
    CHECK(spool.entries().empty());
    CHECK(spool.count() == 0);
    CHECK(spool.bytes() == 0);
    CHECK(spool.max_txid() == 0);
    CHECK(spool.durable_txid() == 0);
    CHECK_FALSE(spool.newest_state());

    bytes += add(spool, h, 1, 1);
    bytes += add(spool, h, 2, 3);
    bytes += add(spool, h, 4, 4);
    CHECK(ranges_of(spool.entries()) == Ranges{{1, 1}, {2, 3}, {4, 4}});
    CHECK(spool.count() == 3);
    CHECK(spool.bytes() == bytes);
    CHECK(spool.max_txid() == 4);
    CHECK(spool.newest_state() == h.state(4));
    const auto e = spool.entries();
    CHECK(e[1].size == h.range(2, 3).size());
    CHECK(e[1].timestamp_ms == h.state(3).timestamp_ms);
    CHECK(spool.read(e[0]) == h.file(1));
    CHECK(spool.read(e[1]) == h.range(2, 3));
    CHECK(spool.read(e[2]) == h.file(4));
    // Appends are not synced: nothing is durable yet.
    CHECK(spool.durable_txid() == 0);
    CHECK(spool_logs(dir).size() == 1);
  }

  Spool reopened(dir, kDefaultFileMode);
  CHECK(ranges_of(reopened.entries()) == Ranges{{1, 1}, {2, 3}, {4, 4}});
  CHECK(reopened.count() == 3);
  CHECK(reopened.bytes() == bytes);
  CHECK(reopened.max_txid() == 4);
  // The position is the one recorded with the newest record, every field of it.
  CHECK(reopened.newest_state() == h.state(4));
  // What survived a restart counts as durable.
  CHECK(reopened.durable_txid() == 4);
  const auto e = reopened.entries();
  CHECK(e[1].size == h.range(2, 3).size());
  CHECK(e[1].timestamp_ms == h.state(3).timestamp_ms);
  CHECK(e[2].timestamp_ms == h.state(4).timestamp_ms);
  CHECK(reopened.read(e[0]) == h.file(1));
  CHECK(reopened.read(e[1]) == h.range(2, 3));
  CHECK(reopened.read(e[2]) == h.file(4));

  // Appends after a reopen go on (into a new log) and are found by the next open too.
  add(reopened, h, 5, 5);
  CHECK(spool_logs(dir).size() == 2);
  CHECK(reopened.newest_state() == h.state(5));
}

TEST_CASE("spool: a log is cut at its first bad record", "[spool][unit]") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/spool";
  LtxHistory h;
  uint64_t r1 = 0, r2 = 0, end = 0;  // where records 2 and 3 start, where the log ends
  {
    Spool spool(dir, kDefaultFileMode);
    r1 = kRecordHeader + add(spool, h, 1, 1);
    r2 = r1 + kRecordHeader + add(spool, h, 2, 2);
    end = r2 + kRecordHeader + add(spool, h, 3, 3);
    spool.make_durable();
  }
  REQUIRE(spool_logs(dir).size() == 1);
  const std::string log = dir + "/" + spool_logs(dir)[0];
  REQUIRE(file_size(log) == end);

  // What is expected to survive, and where the log ends then.
  Ranges kept;
  uint64_t kept_size = 0;
  SECTION("a tail torn inside the last record's LTX file") {
    REQUIRE(::truncate(log.c_str(), static_cast<off_t>(end - 10)) == 0);
    kept = {{1, 1}, {2, 2}};
    kept_size = r2;
  }
  SECTION("a tail torn inside the last record's header") {
    REQUIRE(::truncate(log.c_str(), static_cast<off_t>(r2 + 50)) == 0);
    kept = {{1, 1}, {2, 2}};
    kept_size = r2;
  }
  SECTION("a corrupt header: the records after it are cut too, intact or not") {
    flip_byte(log, r1 + 20);  // inside the TXID range: the header CRC no longer matches
    kept = {{1, 1}};
    kept_size = r1;
  }
  SECTION("a corrupt byte in a record's LTX file") {
    flip_byte(log, r1 + kRecordHeader + (r2 - r1 - kRecordHeader) / 2);
    kept = {{1, 1}};
    kept_size = r1;
  }
  SECTION("garbage after the last record") {
    append_bytes(log, Bytes(40, 0xab));   // shorter than a header
    append_bytes(log, Bytes(300, 0xcd));  // and longer
    kept = {{1, 1}, {2, 2}, {3, 3}};
    kept_size = end;
  }
  SECTION("a record whose header names other TXIDs than its LTX file") {
    {
      Spool spool(dir, kDefaultFileMode);
      spool.append(h.state(4), 4, h.file(3));  // says 4-4, holds 3-3
      CHECK(ranges_of(spool.entries()) == Ranges{{1, 1}, {2, 2}, {3, 3}, {4, 4}});
    }
    // Appended into a second log (the first belongs to an earlier open).
    REQUIRE(spool_logs(dir).size() == 2);
    kept = {{1, 1}, {2, 2}, {3, 3}};
    kept_size = end;
  }

  Spool reopened(dir, kDefaultFileMode);
  CHECK(ranges_of(reopened.entries()) == kept);
  CHECK(file_size(log) == kept_size);
  CHECK(reopened.newest_state() == h.state(kept.back().second));
  CHECK(reopened.max_txid() == kept.back().second);
  CHECK(reopened.durable_txid() == kept.back().second);
  for (const auto& e : reopened.entries()) CHECK(reopened.read(e) == h.file(e.min_txid));

  // The builder rebuilds what was cut (from the WAL); the log goes on after the cut.
  for (uint64_t t = kept.back().second + 1; t <= 4; ++t) add(reopened, h, t, t);
  CHECK(reopened.newest_state() == h.state(4));
  reopened.make_durable();
  Spool again(dir, kDefaultFileMode);
  CHECK(ranges_of(again.entries()) == Ranges{{1, 1}, {2, 2}, {3, 3}, {4, 4}});
  CHECK(again.newest_state() == h.state(4));
}

TEST_CASE("spool: a log without one valid record is deleted, and other logs are not affected",
          "[spool][unit]") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/spool";
  LtxHistory h;
  uint64_t r1 = 0;
  {
    Spool spool(dir, kDefaultFileMode);
    r1 = kRecordHeader + add(spool, h, 1, 1);
    add(spool, h, 2, 2);
  }
  {
    Spool spool(dir, kDefaultFileMode);  // a second open: a second log
    add(spool, h, 3, 3);
  }
  const auto logs = spool_logs(dir);
  REQUIRE(logs.size() == 2);

  SECTION("the older log loses its second record") {
    flip_byte(dir + "/" + logs[0], r1 + 4);
    Spool reopened(dir, kDefaultFileMode);
    CHECK(ranges_of(reopened.entries()) == Ranges{{1, 1}, {3, 3}});
    CHECK(reopened.newest_state() == h.state(3));
    CHECK(spool_logs(dir) == logs);
  }
  SECTION("the older log loses every record") {
    flip_byte(dir + "/" + logs[0], 0);  // the magic of its first record
    Spool reopened(dir, kDefaultFileMode);
    CHECK(ranges_of(reopened.entries()) == Ranges{{3, 3}});
    CHECK(reopened.newest_state() == h.state(3));
    CHECK(spool_logs(dir) == std::vector<std::string>{logs[1]});
  }
  SECTION("the newer log loses its only record: the position is the older log's newest") {
    flip_byte(dir + "/" + logs[1], 0);
    Spool reopened(dir, kDefaultFileMode);
    CHECK(ranges_of(reopened.entries()) == Ranges{{1, 1}, {2, 2}});
    CHECK(reopened.newest_state() == h.state(2));
    CHECK(spool_logs(dir) == std::vector<std::string>{logs[0]});
  }
  SECTION("every log is bad: an empty spool without a position") {
    flip_byte(dir + "/" + logs[0], 0);
    flip_byte(dir + "/" + logs[1], 0);
    Spool reopened(dir, kDefaultFileMode);
    CHECK(reopened.entries().empty());
    CHECK_FALSE(reopened.newest_state());
    CHECK(reopened.durable_txid() == 0);
    CHECK(spool_logs(dir).empty());
  }
}

TEST_CASE("spool: a record supersedes live records starting at or after its own", "[spool][unit]") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/spool";
  LtxHistory h;
  LtxHistory rebuilt(ltx::EncodeOptions::native(), 512, /*seed=*/7);  // other page contents
  Spool spool(dir, kDefaultFileMode);
  const uint64_t s1 = add(spool, h, 1, 1);
  const uint64_t s2 = add(spool, h, 2, 2);
  add(spool, h, 3, 3);
  add(spool, h, 4, 4);
  CHECK(spool.make_durable() == 4);
  const SpoolEntry old3 = entry_of(spool, 3);
  auto handle = spool.record(old3);
  REQUIRE(handle);

  // A rebuild from TXID 3, now covering 3-5: 3-3 and 4-4 are replaced.
  const uint64_t s35 = add(spool, h, 3, 5);
  CHECK(ranges_of(spool.entries()) == Ranges{{1, 1}, {2, 2}, {3, 5}});
  CHECK(spool.count() == 3);
  CHECK(spool.bytes() == s1 + s2 + s35);
  CHECK(spool.max_txid() == 5);
  CHECK(spool.newest_state() == h.state(5));
  // What replaced durable records is not durable itself.
  CHECK(spool.durable_txid() == 2);
  CHECK(ranges_of(spool.durable_prefix(UINT64_MAX)) == Ranges{{1, 1}, {2, 2}});
  CHECK_FALSE(spool.record(old3));
  CHECK_THROWS_WITH(spool.read(old3), Catch::Contains("superseded"));
  // A handle taken before still reads what it pointed at.
  Bytes held(handle->size());
  handle->read_at(0, held);
  CHECK(held == h.file(3));

  // A rebuild from TXID 2 that ends before the old records did (the position moves back).
  const Bytes other2 = rebuilt.file(2);
  spool.append(rebuilt.state(2), 2, other2);
  CHECK(ranges_of(spool.entries()) == Ranges{{1, 1}, {2, 2}});
  CHECK(spool.bytes() == s1 + other2.size());
  CHECK(spool.max_txid() == 2);
  CHECK(spool.newest_state() == rebuilt.state(2));
  CHECK(spool.read(entry_of(spool, 2)) == other2);
  CHECK(spool.durable_txid() == 1);

  // A record after every live one replaces nothing.
  const Bytes other3 = rebuilt.file(3);
  spool.append(rebuilt.state(3), 3, other3);
  CHECK(ranges_of(spool.entries()) == Ranges{{1, 1}, {2, 2}, {3, 3}});
  CHECK(spool.make_durable() == 3);

  // The log still holds every record ever appended; reopening replays the supersessions.
  Spool reopened(dir, kDefaultFileMode);
  CHECK(ranges_of(reopened.entries()) == Ranges{{1, 1}, {2, 2}, {3, 3}});
  CHECK(reopened.newest_state() == rebuilt.state(3));
  CHECK(reopened.read(entry_of(reopened, 1)) == h.file(1));
  CHECK(reopened.read(entry_of(reopened, 2)) == other2);
  CHECK(reopened.read(entry_of(reopened, 3)) == other3);
  CHECK(reopened.bytes() == s1 + other2.size() + other3.size());
}

TEST_CASE("spool: make_durable(), durable_txid() and durable_prefix()", "[spool][unit]") {
  TempDir tmp;
  LtxHistory h;
  Spool spool(tmp.path() + "/spool", kDefaultFileMode);
  CHECK(spool.make_durable() == 0);  // nothing to sync
  CHECK(spool.durable_prefix(UINT64_MAX).empty());

  const uint64_t s1 = add(spool, h, 1, 1);
  const uint64_t s2 = add(spool, h, 2, 3);
  const uint64_t s3 = add(spool, h, 4, 4);
  CHECK(spool.durable_txid() == 0);
  CHECK(spool.durable_prefix(UINT64_MAX).empty());  // appended, not durable
  CHECK(spool.make_durable() == 4);
  CHECK(spool.durable_txid() == 4);
  const uint64_t s4 = add(spool, h, 5, 5);
  CHECK(spool.durable_txid() == 4);
  // Only the durable prefix, in order.
  CHECK(ranges_of(spool.durable_prefix(UINT64_MAX)) == Ranges{{1, 1}, {2, 3}, {4, 4}});
  CHECK(spool.make_durable() == 5);
  CHECK(spool.make_durable() == 5);  // nothing new: still 5
  CHECK(ranges_of(spool.durable_prefix(UINT64_MAX)) == Ranges{{1, 1}, {2, 3}, {4, 4}, {5, 5}});

  // Bounded by bytes, but at least one record whatever the bound.
  CHECK(ranges_of(spool.durable_prefix(0)) == Ranges{{1, 1}});
  CHECK(ranges_of(spool.durable_prefix(s1)) == Ranges{{1, 1}});
  CHECK(ranges_of(spool.durable_prefix(s1 + s2 - 1)) == Ranges{{1, 1}});
  CHECK(ranges_of(spool.durable_prefix(s1 + s2)) == Ranges{{1, 1}, {2, 3}});
  CHECK(ranges_of(spool.durable_prefix(s1 + s2 + s3 + s4 - 1)) == Ranges{{1, 1}, {2, 3}, {4, 4}});
  CHECK(ranges_of(spool.durable_prefix(s1 + s2 + s3 + s4)) ==
        Ranges{{1, 1}, {2, 3}, {4, 4}, {5, 5}});

  // A record handle is a body source over the record's LTX bytes.
  const auto prefix = spool.durable_prefix(UINT64_MAX);
  const Spool::Record& r = prefix[1];
  CHECK(r.size() == s2);
  CHECK(r.entry().min_txid == 2);
  CHECK(r.entry().max_txid == 3);
  CHECK_THAT(r.describe(), Catch::Contains("TXID 2-3"));
  Bytes all(r.size());
  r.read_at(0, all);
  CHECK(all == h.range(2, 3));
  Bytes tail(10);
  r.read_at(r.size() - 10, tail);
  CHECK(tail == Bytes(all.end() - 10, all.end()));
  Bytes past(11);
  try {
    r.read_at(r.size() - 10, past);
    FAIL("a read past the record's end must fail");
  } catch (const storage::StoreError& e) {
    CHECK(e.kind() == storage::StoreErrorKind::kIo);
  }

  // Removed records leave the prefix; it starts at the first live one.
  spool.remove(prefix[0].entry());
  CHECK(ranges_of(spool.durable_prefix(0)) == Ranges{{2, 3}});
}

TEST_CASE("spool: its first sync makes the directories above it durable, once a spool",
          "[spool][unit]") {
  // <db>-ltx/spool made by the spool itself (make_directories() syncs nothing): the first
  // make_durable() must also sync the spool's entry in <db>-ltx and <db>-ltx's in the
  // database's directory before any record is durable, or a power loss could take the records.
  TempDir tmp;
  const std::string top = std::filesystem::canonical(tmp.path()).string();
  const std::string sidecar = top + "/db-ltx", dir = sidecar + "/spool";
  LtxHistory h;
  ltxvfs::testing::FsyncLog fsyncs;
  {
    Spool spool(dir, kDefaultFileMode);
    // The first call, before any record (the replicator makes it at open, in the background).
    CHECK(spool.make_durable() == 0);
    {
      INFO(Catch::rangeToString(fsyncs.calls()));
      CHECK(fsyncs.synced(dir));
      CHECK(fsyncs.synced(sidecar));
      CHECK(fsyncs.synced(top));
    }
    fsyncs.clear();
    add(spool, h, 1, 1);
    CHECK(spool.make_durable() == 1);
    INFO(Catch::rangeToString(fsyncs.calls()));
    // The log's fdatasync and its new entry in the spool's directory, not the directories above.
    CHECK(fsyncs.calls().size() == 2);
    CHECK(fsyncs.synced(dir));
    CHECK_FALSE(fsyncs.synced(sidecar));
    CHECK_FALSE(fsyncs.synced(top));
  }
  // A later open of the same spool cannot know whether the process that made the directories
  // synced them (it may have crashed first): its first sync does it again, here with a record.
  fsyncs.clear();
  Spool reopened(dir, kDefaultFileMode);
  add(reopened, h, 3, 3);
  CHECK(reopened.make_durable() == 3);
  INFO(Catch::rangeToString(fsyncs.calls()));
  CHECK(fsyncs.synced(sidecar));
  CHECK(fsyncs.synced(top));
}

TEST_CASE(
    "spool: a database directory it may not read does not keep its records from being durable",
    "[spool][unit]") {
  // Write and search permission without read: SQLite cannot open such a directory to sync it and
  // goes on without; so must the spool, or no record would ever be uploaded.
  TempDir tmp;
  const std::string top = tmp.path() + "/unreadable", sidecar = top + "/db-ltx";
  REQUIRE(::mkdir(top.c_str(), 0700) == 0);
  REQUIRE(::mkdir(sidecar.c_str(), 0700) == 0);
  constexpr uid_t kNobody = 65534;  // root reads any directory: the child drops to this user
  const bool root = ::geteuid() == 0;
  if (root) {
    REQUIRE(::chmod(tmp.path().c_str(), 0711) == 0);  // the child passes through
    REQUIRE(::chown(top.c_str(), kNobody, kNobody) == 0);
    REQUIRE(::chown(sidecar.c_str(), kNobody, kNobody) == 0);
  }
  REQUIRE(::chmod(top.c_str(), 0300) == 0);
  LtxHistory h;
  const std::string out = ltxvfs::testing::run_in_child([&] {
    if (root &&
        (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0)) {
      return std::string("cannot become uid 65534");
    }
    if (::access(top.c_str(), R_OK) == 0) return std::string("the directory is readable");
    Spool spool(sidecar + "/spool", kDefaultFileMode);
    add(spool, h, 1, 1);
    return "durable " + std::to_string(spool.make_durable());
  });
  ::chmod(top.c_str(), 0700);
  CHECK(out == "durable 1");
}

TEST_CASE("spool: remove(), and a log is deleted only once a newer durable record is elsewhere",
          "[spool][unit]") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/spool";
  LtxHistory h;
  {
    Spool spool(dir, kDefaultFileMode);
    add(spool, h, 1, 1);
    add(spool, h, 2, 2);
    spool.make_durable();
  }
  const auto first_log = spool_logs(dir);
  REQUIRE(first_log.size() == 1);

  Spool spool(dir, kDefaultFileMode);
  const uint64_t s2 = spool.entries()[1].size;
  auto handle = spool.record(entry_of(spool, 1));
  REQUIRE(handle);

  // remove(): by TXID range; an entry that does not match is ignored.
  spool.remove({1, 2, 0, 0});  // no record covers 1-2
  spool.remove({7, 7, 0, 0});
  CHECK(spool.count() == 2);
  const SpoolEntry one = entry_of(spool, 1);
  spool.remove(one);
  spool.remove(one);  // twice: nothing more happens
  CHECK(ranges_of(spool.entries()) == Ranges{{2, 2}});
  CHECK(spool.bytes() == s2);
  CHECK(spool.max_txid() == 2);
  CHECK_FALSE(spool.record({1, 1, 0, 0}));
  spool.remove(entry_of(spool, 2));
  CHECK(spool.count() == 0);
  CHECK(spool.bytes() == 0);
  CHECK(spool.max_txid() == 0);
  // The position stays known (it is in the log), and the log stays: no newer record exists.
  CHECK(spool.newest_state() == h.state(2));
  CHECK(spool.make_durable() == 2);
  CHECK(spool_logs(dir) == first_log);

  // A newer record, in another log (this open's first append starts one).
  add(spool, h, 3, 3);
  const auto both = spool_logs(dir);
  REQUIRE(both.size() == 2);
  CHECK(both[0] == first_log[0]);
  // Durable now: the fully uploaded log goes.
  CHECK(spool.make_durable() == 3);
  const auto remaining = spool_logs(dir);
  CHECK(remaining == std::vector<std::string>{both[1]});
  // A handle taken before still reads its record from the deleted log.
  Bytes held(handle->size());
  handle->read_at(0, held);
  CHECK(held == h.file(1));

  // The log appended to is never deleted, even with every record uploaded: it holds the
  // position.
  spool.remove(entry_of(spool, 3));
  CHECK(spool.make_durable() == 3);
  CHECK(spool_logs(dir) == remaining);

  // remove() is in memory only: a reopened spool finds the uploaded records again (the uploader
  // then learns from the store that they are there), and the position with them.
  Spool reopened(dir, kDefaultFileMode);
  CHECK(ranges_of(reopened.entries()) == Ranges{{3, 3}});
  CHECK(reopened.newest_state() == h.state(3));
}

TEST_CASE("spool: a log with a live record is kept whatever is durable elsewhere",
          "[spool][unit]") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/spool";
  LtxHistory h;
  {
    Spool spool(dir, kDefaultFileMode);
    add(spool, h, 1, 1);
    add(spool, h, 2, 2);
  }
  Spool spool(dir, kDefaultFileMode);
  spool.remove(entry_of(spool, 1));  // 2-2 is not uploaded yet
  add(spool, h, 3, 3);
  add(spool, h, 4, 4);
  CHECK(spool.make_durable() == 4);
  CHECK(spool_logs(dir).size() == 2);
  spool.remove(entry_of(spool, 2));
  CHECK(spool.make_durable() == 4);
  CHECK(spool_logs(dir).size() == 1);
  Spool reopened(dir, kDefaultFileMode);
  CHECK(ranges_of(reopened.entries()) == Ranges{{3, 3}, {4, 4}});
}

TEST_CASE("spool: a streamed record is invisible until committed, and cut off if abandoned",
          "[spool][unit]") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/spool";
  LtxHistory h;
  Spool spool(dir, kDefaultFileMode);
  add(spool, h, 1, 1);
  const std::string log = dir + "/" + spool_logs(dir).at(0);
  const uint64_t after_first = file_size(log);

  {
    SpoolWriter w(spool, 2, 3);
    CHECK_THAT(w.name(), Catch::Contains("TXID 2-3"));
    const Bytes ltx = h.range(2, 3);
    // In two writes, as a streaming encoder would.
    REQUIRE(::write(w.fd(), ltx.data(), 100) == 100);
    REQUIRE(::write(w.fd(), ltx.data() + 100, ltx.size() - 100) ==
            static_cast<ssize_t>(ltx.size() - 100));
    CHECK(ranges_of(spool.entries()) == Ranges{{1, 1}});
    w.commit(h.state(3));
  }
  CHECK(ranges_of(spool.entries()) == Ranges{{1, 1}, {2, 3}});
  CHECK(spool.newest_state() == h.state(3));
  CHECK(spool.read(entry_of(spool, 2)) == h.range(2, 3));
  const uint64_t after_second = file_size(log);
  CHECK(after_second == after_first + kRecordHeader + h.range(2, 3).size());

  {
    SpoolWriter w(spool, 4, 4);  // a build that fails half-way
    const Bytes& ltx = h.file(4);
    REQUIRE(::write(w.fd(), ltx.data(), 50) == 50);
  }
  CHECK(ranges_of(spool.entries()) == Ranges{{1, 1}, {2, 3}});
  CHECK(file_size(log) == after_second);
  CHECK(spool.newest_state() == h.state(3));

  // The next record lands where the abandoned one began.
  add(spool, h, 4, 4);
  CHECK(file_size(log) == after_second + kRecordHeader + h.file(4).size());
  spool.make_durable();
  Spool reopened(dir, kDefaultFileMode);
  CHECK(ranges_of(reopened.entries()) == Ranges{{1, 1}, {2, 3}, {4, 4}});
  CHECK(reopened.read(entry_of(reopened, 4)) == h.file(4));
  CHECK(reopened.newest_state() == h.state(4));
}

TEST_CASE("spool: the directory and logs get the given mode whatever the umask", "[spool][unit]") {
  const auto [file_mode, mask] =
      GENERATE(std::pair<uint32_t, mode_t>{0600, 022}, std::pair<uint32_t, mode_t>{0640, 077},
               std::pair<uint32_t, mode_t>{0664, 022}, std::pair<uint32_t, mode_t>{0644, 0});
  INFO("file mode " << std::oct << file_mode << ", umask " << mask);
  TempDir tmp;
  const std::string dir = tmp.path() + "/db-ltx/spool";
  LtxHistory h;
  {
    ScopedUmask umask(mask);
    Spool spool(dir, file_mode);
    add(spool, h, 1, 1);
  }
  CHECK(mode_of(tmp.path() + "/db-ltx") == base::directory_mode(file_mode));
  CHECK(mode_of(dir) == base::directory_mode(file_mode));
  const auto logs = spool_logs(dir);
  REQUIRE(logs.size() == 1);
  CHECK(mode_of(dir + "/" + logs[0]) == file_mode);
}

namespace {

// Descriptors of this process open on files under `dir`.
int descriptors_under(const std::string& dir) {
  int n = 0;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(fd.path(), ec);
    if (!ec && target.string().starts_with(dir)) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("spool: an idle spool closes its logs' descriptors, and goes on in a new log",
          "[spool][unit]") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/spool";
  LtxHistory h;
  {
    Spool spool(dir, kDefaultFileMode);
    add(spool, h, 1, 1);
    spool.make_durable();
  }
  Spool spool(dir, kDefaultFileMode);  // the log of 1, loaded: not the one appends go to
  add(spool, h, 2, 2);                 // a new log
  CHECK(descriptors_under(dir) == 2);
  CHECK_FALSE(spool.close_idle_log());  // live records
  spool.remove(entry_of(spool, 1));
  spool.remove(entry_of(spool, 2));
  // The loaded log is closed (uploaded, durable); the new one holds 2, not durable yet.
  CHECK(spool.close_idle_log());
  CHECK(descriptors_under(dir) == 1);
  CHECK(spool.make_durable() == 2);
  CHECK(spool_logs(dir).size() == 1);  // the log of 1 went: a newer record is durable

  // A record handle taken before keeps its log open.
  add(spool, h, 3, 3);
  spool.make_durable();
  auto handle = spool.record(entry_of(spool, 3));
  REQUIRE(handle);
  spool.remove(entry_of(spool, 3));
  CHECK_FALSE(spool.close_idle_log());
  CHECK(descriptors_under(dir) == 1);
  Bytes held(handle->size());
  handle->read_at(0, held);
  CHECK(held == h.file(3));
  handle.reset();
  CHECK(spool.close_idle_log());
  CHECK(descriptors_under(dir) == 0);
  CHECK(spool.newest_state() == h.state(3));
  CHECK(spool_logs(dir).size() == 1);  // the file stays: it holds the position

  // The next record goes to a new log; once it is durable the idle log goes, file and all.
  add(spool, h, 4, 4);
  CHECK(descriptors_under(dir) == 1);
  CHECK(spool.make_durable() == 4);
  CHECK(spool_logs(dir).size() == 1);
  CHECK(spool.read(entry_of(spool, 4)) == h.file(4));
  Spool reopened(dir, kDefaultFileMode);
  CHECK(ranges_of(reopened.entries()) == Ranges{{4, 4}});
  CHECK(reopened.newest_state() == h.state(4));
}
