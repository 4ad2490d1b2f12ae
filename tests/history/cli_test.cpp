// The ltxvfs command as a user runs it: compact, retention, ls and restore against replicas of a
// real SQLite database, checked by SQLite itself.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "base/time_spec.h"
#include "harness/s3_test_server.h"
#include "history/head_keeper.h"
#include "history/writer_lease.h"
#include "history_support.h"
#include "ltx/checksum.h"
#include "ltx/encoder.h"
#include "ltx/sink.h"
#include "sqlite_replica.h"
#include "storage/file_store.h"
#include "storage/store_factory.h"

using namespace historytest;
using namespace ltxvfs;

namespace {

// Every row of `sql` as "a|b\n" lines.
std::string query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  std::string out;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      if (i > 0) out += "|";
      const auto* text = sqlite3_column_text(stmt, i);
      out += text != nullptr ? reinterpret_cast<const char*>(text) : "NULL";
    }
    out += "\n";
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

void fill(SqliteReplica& r, int statements) {
  r.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)");
  for (int i = 0; i < statements; ++i) {
    r.exec("INSERT INTO t(v) VALUES (printf('row %d %s', " + std::to_string(i) +
           ", hex(randomblob(300))))");
  }
}

bool exists(const std::string& path) {
  return std::filesystem::exists(path);
}

}  // namespace

TEST_CASE("cli: restore over a stale -wal never shows the old database", "[cli]") {
  const std::string dir = scratch_dir("cli-wal");
  storage::FileStore store(dir + "/replica");
  SqliteReplica replica(dir, store, LayoutStyle::kDirectory, OutputFormat::kNative);
  replica.exec("CREATE TABLE t(v TEXT)");
  replica.exec("INSERT INTO t VALUES ('restored')");

  // An old database at the output path whose last transactions are still in its WAL: a process
  // wrote them and died before any checkpoint.
  const std::string out = dir + "/app.db";
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    sqlite3* db = nullptr;
    sqlite3_open(out.c_str(), &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; CREATE TABLE t(v TEXT); "
                 "INSERT INTO t VALUES ('old'), ('older'), ('oldest');",
                 nullptr, nullptr, nullptr);
    ::_exit(0);  // no close, no checkpoint: the WAL stays
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(exists(out + "-wal"));
  const Bytes old_wal = read_bytes(out + "-wal");

  // Without --force: refused (exit status 3: the output exists), and nothing touched.
  CliResult r = cli({"restore", dir + "/replica", "-o", out});
  CHECK(r.status == 3);
  CHECK_THAT(r.output, Catch::Contains("already exists"));
  // The output alone gone, its WAL left: still refused, naming the WAL.
  std::filesystem::rename(out, dir + "/moved.db");
  r = cli({"restore", dir + "/replica", "-o", out});
  CHECK(r.status == 3);
  CHECK_THAT(r.output, Catch::Contains(out + "-wal exists") &&
                           Catch::Contains("SQLite would apply it to the restored database"));
  CHECK_FALSE(exists(out));
  CHECK(read_bytes(out + "-wal") == old_wal);
  std::filesystem::rename(dir + "/moved.db", out);

  // With --force: the WAL and shared memory of the old database go, the restored one is what the
  // replica holds (it used to say integrity_check: ok and show 'old').
  r = cli({"restore", dir + "/replica", "-o", out, "--force"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("integrity_check: ok"));
  CHECK_FALSE(exists(out + "-wal"));
  CHECK_FALSE(exists(out + "-shm"));
  CHECK(read_bytes(out) == replica.image(2));
  CHECK(query(out, "SELECT v FROM t") == "restored\n");

  // A plain restore leaves no -wal or -shm either (the integrity check opens the file immutable).
  const std::string fresh = dir + "/fresh.db";
  r = cli({"restore", dir + "/replica", "-o", fresh});
  REQUIRE(r.status == 0);
  CHECK_FALSE(exists(fresh + "-wal"));
  CHECK_FALSE(exists(fresh + "-shm"));
  CHECK_FALSE(exists(fresh + "-journal"));
  // The restored file is in WAL mode, as the primary was (bytes 18-19 of the header are 2).
  CHECK(read_bytes(fresh)[18] == 2);
}

TEST_CASE("cli: restore --check full, quick or none decides what SQLite checks before the rename",
          "[cli]") {
  // A database whose LTX files are sound (every checksum right) but whose content is not: a
  // table row changed behind its index's back, which only integrity_check sees.
  const std::string dir = scratch_dir("cli-check");
  storage::FileStore store(dir + "/replica");
  SqliteReplica replica(dir, store, LayoutStyle::kDirectory, OutputFormat::kNative);
  replica.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT UNIQUE)");
  for (int i = 0; i < 50; ++i) {
    replica.exec("INSERT INTO t(v) VALUES (printf('row %03d', " + std::to_string(i) + "))");
  }
  replica.exec("INSERT INTO t(v) VALUES ('zz-last-rowa')");
  const std::string out = dir + "/out.db";
  for (const std::string check : {"full", "quick", "none"}) {
    const CliResult r = cli({"restore", dir + "/replica", "-o", out, "--check", check, "--force"});
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Catch::Contains(check == "full"    ? "integrity_check: ok"
                                         : check == "quick" ? "quick_check: ok"
                                                            : "skipped (--check none)"));
  }
  CliResult r = cli({"restore", dir + "/replica", "-o", out, "--check", "some"});
  CHECK(r.status == 2);
  CHECK_THAT(r.output, Catch::Contains("--check 'some': expected full, quick or none"));

  // Change the table's copy of the last value (its index copy is the other one: the table's
  // comes first in this file), keeping it the greatest, then ship the page with the next
  // transaction.
  const std::string source = dir + "/source.db";
  Bytes bytes = read_bytes(source);
  const std::string marker = "zz-last-rowa";
  const auto at = std::search(bytes.begin(), bytes.end(), marker.begin(), marker.end());
  REQUIRE(at != bytes.end());
  *(at + static_cast<std::ptrdiff_t>(marker.size()) - 1) = 'b';
  {
    std::ofstream f(source, std::ios::binary | std::ios::in | std::ios::out);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  }
  replica.exec("CREATE TABLE other(x)");

  std::filesystem::remove(out);
  r = cli({"restore", dir + "/replica", "-o", out});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("fails PRAGMA integrity_check"));
  CHECK_FALSE(exists(out));
  // quick_check does not compare indexes with their tables: it passes, as documented.
  r = cli({"restore", dir + "/replica", "-o", out, "--check", "quick"});
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("quick_check: ok"));
}

TEST_CASE("cli: --txid in decimal or hex, ls in decimal, errors with the real reason", "[cli]") {
  const std::string dir = scratch_dir("cli-txid");
  storage::FileStore store(dir + "/replica");
  SqliteReplica replica(dir, store, LayoutStyle::kDirectory, OutputFormat::kNative);
  fill(replica, 15);  // TXIDs 1..16
  for (const std::string spelling : {"11", "0xb", "0XB", "000000000000000b"}) {
    INFO(spelling);
    const std::string out = dir + "/at-" + spelling + ".db";
    const CliResult r = cli({"restore", dir + "/replica", "-o", out, "--txid", spelling});
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.output, Catch::Contains("at TXID 11 "));
    CHECK(read_bytes(out) == replica.image(11));
  }
  CHECK(cli({"restore", dir + "/replica", "-o", dir + "/x.db", "--txid", "b"}).status == 2);

  // ls prints decimal TXIDs, the form --txid takes.
  const CliResult ls = cli({"ls", dir + "/replica"});
  INFO(ls.output);
  REQUIRE(ls.status == 0);
  CHECK_THAT(ls.output, Catch::Contains("level 0 (uploads): 16 files") &&
                            Catch::Contains("TXIDs 1-16") &&
                            Catch::Contains("restorable: 16 TXIDs from 1 to 16; newest 16"));
  CHECK_THAT(ls.output, !Catch::Contains("000000000000000b"));

  // Newer than anything: says so, and names the newest restorable TXID.
  CliResult r = cli({"restore", dir + "/replica", "-o", dir + "/new.db", "--txid", "40"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("TXID 40 cannot be reached: it is newer than anything in "
                                       "the replica (the newest stored TXID is 16)") &&
                           Catch::Contains("Nearest restorable TXIDs: 16 (before), none after."));
  // By default a compaction keeps the schedule's restore points (issue 16, item 8): with a
  // 1-hour level, uploads of the current hour stay as they are.
  r = cli({"compact", dir + "/replica", "--levels", "1h"});
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::StartsWith("0 files written"));
  // Inside a compacted range no file ends at: says so (not "no file starts at ...").
  REQUIRE(cli({"compact", "--all", dir + "/replica", "--levels", "1h"}).status == 0);
  store.remove({storage::ltx_key(LayoutStyle::kDirectory, 0, 5, 5)});
  r = cli({"restore", dir + "/replica", "-o", dir + "/inner.db", "--txid", "5"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output,
             Catch::Contains("TXID 5 cannot be restored on its own: no file ends there "
                             "(it was uploaded or compacted together with other "
                             "transactions in ltx/1/0000000000000001-0000000000000010.ltx") &&
                 Catch::Contains("Nearest restorable TXIDs: 4 (before), 16 (after)."));
  CHECK_FALSE(exists(dir + "/inner.db"));
}

TEST_CASE("cli: compact, ls by level, retention --dry-run and retention", "[cli]") {
  for (auto format : {OutputFormat::kNative, OutputFormat::kLitestream}) {
    const std::string name = format == OutputFormat::kNative ? "native" : "litestream";
    INFO(name);
    const std::string dir = scratch_dir("cli-compact-" + name);
    const std::string url = dir + "/replica";
    storage::FileStore store(url);
    SqliteReplica replica(dir, store, LayoutStyle::kDirectory, format);
    fill(replica, 40);

    CliResult r = cli({"compact", "--all", url, "--snapshot"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.output,
               Catch::Contains("compacted ltx/1/0000000000000001-0000000000000029.ltx") &&
                   Catch::Contains("snapshot ltx/9/0000000000000001-0000000000000029.ltx") &&
                   Catch::Contains("(" + name + ")"));
    const CliResult ls = cli({"ls", url, "--summary"});
    INFO(ls.output);
    CHECK_THAT(ls.output, Catch::Contains("level 0 (uploads): 41 files") &&
                              Catch::Contains("level 1 (compactions): 1 files") &&
                              Catch::Contains("level 2 (compactions): 1 files") &&
                              Catch::Contains("level 3 (compactions): 1 files") &&
                              Catch::Contains("level 9 (snapshots): 1 files"));
    // Nothing new: a second run writes nothing.
    r = cli({"compact", "--all", url});
    CHECK_THAT(r.output, Catch::Contains("0 files written"));
    // More transactions, compacted again: level 1 continues where it stopped.
    for (int i = 0; i < 5; ++i)
      replica.exec("DELETE FROM t WHERE k = " + std::to_string(i * 3 + 1));
    REQUIRE(cli({"compact", "--all", url}).status == 0);
    CHECK(exists(url + "/ltx/1/000000000000002a-000000000000002e.ltx"));

    // Retention: a dry run lists what would go and why, and deletes nothing.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    const size_t before = ltxvfs::history::list_ltx_files(store, LayoutStyle::kDirectory).size();
    r = cli({"retention", url, "--dry-run", "--retention", "1s", "--retention-grace", "0"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.output, Catch::Contains("would delete ltx/0/0000000000000001-0000000000000001.ltx "
                                         "(level 0, TXIDs 1-1") &&
                             Catch::Contains("level 0 file compacted into"));
    CHECK(ltxvfs::history::list_ltx_files(store, LayoutStyle::kDirectory).size() == before);
    // With a grace period still running: kept, and the output says until when.
    r = cli({"retention", url, "--dry-run", "--retention", "1s", "--retention-grace", "1h"});
    CHECK_THAT(r.output, Catch::Contains("would delete 0 files") &&
                             Catch::Contains("kept until the grace period ends at"));
    // For real: the newest still restores exactly, from few files.
    r = cli({"retention", url, "--retention", "1s", "--retention-grace", "0"});
    INFO(r.output);
    REQUIRE(r.status == 0);
    const auto after = ltxvfs::history::list_ltx_files(store, LayoutStyle::kDirectory);
    CHECK(after.size() < before);
    CHECK(after.size() <= 4);
    const std::string out = dir + "/restored.db";
    r = cli({"restore", url, "-o", out});
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(read_bytes(out) == replica.image(replica.txid()));
    CHECK(query(out, "SELECT count(*) FROM t") == "35\n");
  }
}

// A writer records where its uploads' and outputs' page indexes end in head.json, so a replica's
// open reads each index in one exact GET; `ltxvfs compact` recorded nothing for its outputs, and
// an open after it read a long index (a snapshot's) in two.
TEST_CASE("cli: compact records its outputs' index hints in the head, not under a live lease",
          "[cli]") {
  const std::string dir = scratch_dir("cli-compact-hints");
  const std::string url = dir + "/replica";
  storage::FileStore store(url);
  SqliteReplica replica(dir, store, LayoutStyle::kDirectory, OutputFormat::kNative);
  fill(replica, 12);
  ltxvfs::history::HeadKeeper writer(store, LayoutStyle::kDirectory, [] {
    return ltxvfs::history::HeadIdentity{"w:1:1", 1};
  });
  writer.take([&](const ltxvfs::history::History&) { return replica.txid(); });
  CliResult r = cli({"compact", "--all", url, "--snapshot"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("head.json: recorded where the new files' page indexes"));
  auto head = ltxvfs::history::read_head(store, LayoutStyle::kDirectory);
  REQUIRE(head);
  REQUIRE(head->record);
  CHECK(head->record->txid == replica.txid());
  CHECK(head->record->owner == "w:1:1");
  size_t outputs = 0;
  for (const auto& f : ltxvfs::history::list_ltx_files(store, LayoutStyle::kDirectory)) {
    if (f.level == 0) continue;
    ++outputs;
    INFO(f.key);
    CHECK(head->record->tail_bytes(f) > 0);
  }
  CHECK(outputs == 4);  // levels 1-3 and the snapshot

  // The writer commits on over the hints compact wrote (a head changed only in its hints).
  replica.exec("DELETE FROM t WHERE k = 3");
  const uint64_t t = replica.txid();
  writer.advance({0, t, t, storage::ltx_key(LayoutStyle::kDirectory, 0, t, t), 0, 0});
  head = ltxvfs::history::read_head(store, LayoutStyle::kDirectory);
  REQUIRE(head);
  CHECK(head->record->txid == t);

  // Under a live lease (--force), the head is the writer's: left alone.
  const std::string lease = R"({"generation":3,"expires_at":")" +
                            ltxvfs::base::format_rfc3339_ms(ltxvfs::base::now_ms() + 60'000) +
                            R"(","owner":"otherhost:4242"})";
  store.put("lock.json", std::span(reinterpret_cast<const uint8_t*>(lease.data()), lease.size()));
  r = cli({"compact", "--all", url, "--force"});
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("compacted") && !Catch::Contains("head.json"));
  CHECK(ltxvfs::history::read_head(store, LayoutStyle::kDirectory)->etag == head->etag);
}

TEST_CASE("cli: compact and retention respect the writer lease", "[cli]") {
  const std::string dir = scratch_dir("cli-lease");
  const std::string url = dir + "/replica";
  storage::FileStore store(url);
  SqliteReplica replica(dir, store, LayoutStyle::kDirectory, OutputFormat::kNative);
  fill(replica, 3);
  auto lease = [&](int64_t expires_ms) {
    const std::string json = R"({"generation":3,"expires_at":")" +
                             ltxvfs::base::format_rfc3339_ms(expires_ms) +
                             R"(","owner":"otherhost:4242"})";
    store.put("lock.json", std::span(reinterpret_cast<const uint8_t*>(json.data()), json.size()));
  };
  lease(ltxvfs::base::now_ms() + 60'000);
  CliResult r = cli({"compact", "--all", url});
  CHECK(r.status == 1);
  CHECK_THAT(r.output,
             Catch::Contains("held by otherhost:4242 until") && Catch::Contains("--force"));
  CHECK_FALSE(exists(url + "/ltx/1"));
  r = cli({"retention", url, "--retention", "1s"});
  CHECK(r.status == 1);
  // A dry run changes nothing: it does not need the lease.
  CHECK(cli({"retention", url, "--dry-run"}).status == 0);
  r = cli({"compact", "--all", url, "--force"});
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("going ahead because of --force"));
  CHECK(exists(url + "/ltx/1"));

  // Expired: a warning, not a refusal. Expiry is judged by the store's clock (issue 16), so the
  // record must be old there, not merely say a past expires_at: written a minute ago.
  lease(ltxvfs::base::now_ms() - 31'000);
  std::filesystem::last_write_time(
      url + "/lock.json", std::filesystem::file_time_type::clock::now() - std::chrono::seconds(61));
  r = cli({"compact", "--all", url});
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("expired at"));

  const std::string junk = "not json";
  store.put("lock.json", std::span(reinterpret_cast<const uint8_t*>(junk.data()), junk.size()));
  r = cli({"compact", "--all", url});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("exists but is unreadable"));
}

// Issue 16, item 7: a garbage lock.json made the primary refuse to open, with no tool to look at
// it or fix it. `ltxvfs lease` shows the lease as a writer judges it and breaks it.
TEST_CASE("cli: lease shows the writer lease and breaks a garbage or abandoned one", "[cli]") {
  const std::string dir = scratch_dir("cli-lease-break");
  const std::string url = dir + "/replica";
  storage::FileStore store(url);
  SqliteReplica replica(dir, store, LayoutStyle::kDirectory, OutputFormat::kNative);
  fill(replica, 2);
  CliResult r = cli({"lease", url});
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("absent"));

  // Not a lease: a writer refuses it, naming this command; --break replaces it.
  const std::string junk = "{\"hello\": 1}";
  store.put("lock.json", std::span(reinterpret_cast<const uint8_t*>(junk.data()), junk.size()));
  ltxvfs::history::WriterLease writer(store, LayoutStyle::kDirectory);
  try {
    writer.try_acquire();
    FAIL("a garbage lock.json was taken");
  } catch (const storage::StoreError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("ltxvfs lease " + store.describe()));
  }
  r = cli({"lease", url});
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("not a lease record"));
  r = cli({"lease", url, "--break"});
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("broken: an object that is not a lease"));
  REQUIRE(writer.try_acquire().acquired);  // at once: the record is released

  // A live lease: shown as live, not broken without --force; broken with it, and its holder
  // learns at its next renewal.
  r = cli({"lease", url});
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("held by " + writer.owner()) && Catch::Contains("live"));
  r = cli({"lease", url, "--break"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("looks live") && Catch::Contains("--force"));
  writer.renew();  // still ours
  r = cli({"lease", url, "--break", "--force"});
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("broken: held by " + writer.owner()));
  CHECK_THROWS_AS(writer.renew(), ltxvfs::history::LeaseLost);
  r = cli({"lease", url});
  CHECK_THAT(r.output, Catch::Contains("released"));
}

// Issue 16, item 7: a corrupt compacted file made `restore` fail although the level-0 files
// under it were intact. The file that fails verification is set aside, named in a warning, and
// the restore goes through another chain.
TEST_CASE("cli: restore goes around a corrupt compacted file", "[cli]") {
  const std::string dir = scratch_dir("cli-corrupt-l1");
  const std::string url = dir + "/replica";
  storage::FileStore store(url);
  SqliteReplica replica(dir, store, LayoutStyle::kDirectory, OutputFormat::kNative);
  fill(replica, 6);
  REQUIRE(cli({"compact", "--all", url, "--levels", "1h"}).status == 0);
  const auto files = ltxvfs::history::list_ltx_files(store, LayoutStyle::kDirectory);
  const auto l1 =
      std::find_if(files.begin(), files.end(), [](const RemoteFile& f) { return f.level == 1; });
  REQUIRE(l1 != files.end());
  REQUIRE(l1->max_txid == replica.txid());
  // Flip bytes in the middle of the compacted file (its page data).
  const std::string path = url + "/ltx/1/" + l1->key.substr(l1->key.rfind('/') + 1);
  REQUIRE(exists(path));
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(l1->size / 2));
    const char junk[8] = {'j', 'u', 'n', 'k', 'j', 'u', 'n', 'k'};
    f.write(junk, sizeof junk);
  }
  const std::string out = dir + "/restored.db";
  const CliResult r = cli({"restore", url, "-o", out});
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains(l1->key + " fails verification") &&
                           Catch::Contains("trying another chain"));
  CHECK(read_bytes(out) == replica.image(replica.txid()));

  // With the level-0 files gone too, nothing verifies: the error names the file set aside.
  for (const auto& f : files) {
    if (f.level == 0 && f.max_txid > 1) store.remove({f.key});
  }
  const CliResult none = cli({"restore", url, "-o", dir + "/none.db"});
  CHECK(none.status == 1);
  CHECK_THAT(none.output, Catch::Contains("cannot be restored") && Catch::Contains(l1->key));
  CHECK_FALSE(exists(dir + "/none.db"));
}

// Issue 18: a writer's state seen from outside its process, from the store alone.
TEST_CASE("cli: status shows the head, the lease, the levels and what no restore uses", "[cli]") {
  const std::string dir = scratch_dir("cli-status");
  const std::string url = dir + "/replica";
  storage::FileStore store(url);
  CliResult r = cli({"status", url, "--json"});
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(r.output);
  CHECK(j["head"].get<std::string>().find("absent") == 0);
  CHECK(j["lease"]["state"] == "absent");
  CHECK(j["newest_restorable_txid"] == 0);
  CHECK(j["encryption"] == "no file");

  ltxvfs::history::WriterLease lease(store, LayoutStyle::kDirectory);
  REQUIRE(lease.try_acquire().acquired);
  L0Writer a(store, LayoutStyle::kDirectory, {});
  ltxvfs::history::HeadKeeper head(store, LayoutStyle::kDirectory, [&] {
    return ltxvfs::history::HeadIdentity{lease.owner(), lease.generation()};
  });
  head.take([](const ltxvfs::history::History&) { return uint64_t{0}; });
  for (int i = 0; i < 3; ++i) {
    const uint64_t t = a.commit(1000);
    head.advance({0, t, t, storage::ltx_key(LayoutStyle::kDirectory, 0, t, t), 0, 0});
  }
  a.commit(1000);  // TXID 4: PUT, never committed
  r = cli({"status", url, "--json"});
  REQUIRE(r.status == 0);
  j = nlohmann::json::parse(r.output);
  CHECK(j["head"]["txid"] == 3);
  CHECK(j["head"]["owner"] == lease.owner());
  CHECK(j["head"]["age_ms"].get<int64_t>() >= 0);
  CHECK(j["lease"]["state"] == "live");
  CHECK(j["lease"]["owner"] == lease.owner());
  REQUIRE(j["levels"].size() == 1);
  CHECK(j["levels"][0]["files"] == 3);
  CHECK(j["newest_restorable_txid"] == 3);
  CHECK(j["uncommitted_files"] == 1);
  CHECK(j["encryption"] == "none");
  r = cli({"status", url});
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("head: TXID 3, owner " + lease.owner()) &&
                           Catch::Contains("lease: live") &&
                           Catch::Contains("uncommitted files: 1") &&
                           Catch::Contains("encryption: none"));
  lease.release();
  CHECK(nlohmann::json::parse(cli({"status", url, "--json"}).output)["lease"]["state"] ==
        "released");
  CHECK(cli({"status"}).status == 2);
}

TEST_CASE("cli: --help for every command", "[cli]") {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"help"},
                                             {"-h"},
                                             {"help", "compact"},
                                             {"restore", "--help"},
                                             {"ls", "--help"},
                                             {"compact", "--help"},
                                             {"retention", "-h"},
                                             {"lease", "--help"},
                                             {"status", "--help"}}) {
    const CliResult r = cli(args);
    INFO(args.front() << " -> " << r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Catch::StartsWith("usage: ltxvfs"));
    CHECK_THAT(r.output, Catch::Contains("replica-url: s3://bucket/prefix"));
  }
  CHECK_THAT(cli({"retention", "--help"}).output, Catch::Contains("--dry-run"));
  CHECK_THAT(cli({"ls", "--help"}).output, Catch::Contains("grouped by level"));
  const CliResult none = cli({});
  CHECK(none.status == 2);
  CHECK_THAT(none.output, Catch::Contains("commands:"));
  const CliResult unknown = cli({"compact", "/nowhere", "--levle", "1s"});
  CHECK(unknown.status == 2);
  CHECK_THAT(unknown.output, Catch::Contains("unknown option '--levle'"));
  const CliResult bad_levels = cli({"compact", "/nowhere", "--levels", "5m,30s"});
  CHECK(bad_levels.status == 2);
  CHECK_THAT(bad_levels.output, Catch::Contains("must compact less often"));
}

TEST_CASE("cli: compact and ls on S3 (moto)", "[cli][moto]") {
  auto bucket = testing::make_test_bucket(testing::Server::kMoto);
  auto opened = storage::open_store(bucket.url("app"), bucket.settings);
  const std::string dir = scratch_dir("cli-s3");
  SqliteReplica replica(dir, *opened.store, opened.layout, OutputFormat::kLitestream);
  fill(replica, 10);
  const std::string env = "AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1";
  CliResult r = cli({"compact", "--all", bucket.url("app"), "--snapshot"}, env);
  INFO(r.output);
  REQUIRE(r.status == 0);
  std::set<std::string> levels;
  for (const auto& o : opened.store->list("")) levels.insert(o.key.substr(0, 4));
  CHECK(levels == std::set<std::string>{"0000", "0001", "0002", "0003", "0009"});
  r = cli({"ls", bucket.url("app"), "--level", "9"}, env);
  CHECK_THAT(r.output,
             Catch::Contains("level 9 (snapshots): 1 files, ") && Catch::Contains("TXIDs 1-11"));
  const std::string out = dir + "/restored.db";
  r = cli({"restore", bucket.url("app"), "-o", out}, env);
  REQUIRE(r.status == 0);
  CHECK(read_bytes(out) == replica.image(11));
}
