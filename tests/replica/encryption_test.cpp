// An encrypted replica end to end (docs/SECURITY.md): the writer encrypts what it uploads,
// compaction, snapshots and retention run over it, replicas read it at several TXIDs and restore
// gives back the bytes SQLite had; the bucket holds no byte of a planted marker; a missing, wrong
// or rotated key behaves as documented; format=litestream with a key is refused at open.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "base/posix_file.h"
#include "history/restore_plan.h"
#include "ltx/encryption_key.h"
#include "ltx/key_source.h"
#include "storage/file_store.h"
#include "tests/replica/replica_support.h"

using namespace ltxvfs::testing;
namespace fs = std::filesystem;

namespace {

constexpr const char* kMarker = "PLAINTEXT-MARKER-c0ffee";
const std::string kKey1 = std::string(32, 'a') + std::string(32, '1');
const std::string kKey2 = std::string(32, 'b') + std::string(32, '2');
constexpr const char* kFastHistory =
    "&levels=100ms,300ms&snapshot_interval=1s&retention=4s&retention_grace=200ms";

std::string key_file(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text << "\n";
  ::chmod(path.c_str(), 0600);
  return path;
}

// Every byte of every object in the replica, concatenated.
std::string bucket_bytes(const std::string& replica) {
  std::string all;
  for (const auto& e : fs::recursive_directory_iterator(replica)) {
    if (!e.is_regular_file()) continue;
    const auto bytes = read_file_bytes(e.path().string());
    all.append(bytes.begin(), bytes.end());
  }
  return all;
}

// How many of the replica's LTX files name each id found at header bytes `at`..`at`+7: the key
// id (80) or the database id (88).
std::map<std::string, int> header_ids(const std::string& replica, int at) {
  std::map<std::string, int> ids;
  for (const auto& e : fs::recursive_directory_iterator(replica)) {
    // The file store's own metadata (.ltxvfs-meta) mirrors the names; its files are not LTX.
    if (e.path().extension() != ".ltx" ||
        e.path().string().find(".ltxvfs-meta") != std::string::npos) {
      continue;
    }
    std::ifstream in(e.path(), std::ios::binary);
    std::string head(100, '\0');
    in.read(head.data(), 100);
    uint64_t id = 0;
    for (int i = at; i < at + 8; ++i) id = id << 8 | static_cast<uint8_t>(head[i]);
    ++ids[ltxvfs::ltx::key_id_hex(id)];
  }
  return ids;
}
std::map<std::string, int> header_key_ids(const std::string& replica) {
  return header_ids(replica, 80);
}
std::map<std::string, int> database_ids(const std::string& replica) {
  return header_ids(replica, 88);
}

std::string cli(const std::string& env, const std::string& args, int* rc) {
  std::string out;
  *rc = run_command(
      "env -u LTX_ENCRYPTION_KEY " + env + " " + LTXVFS_CLI_PATH + " " + args + " 2>&1", &out);
  return out;
}

}  // namespace

TEST_CASE(
    "an encrypted replica round-trips through compaction, snapshots, retention, "
    "replica reads and restore",
    "[replica][encryption]") {
  const std::string dir = scratch_dir("encrypted-round-trip");
  const std::string replica = replica_dir(dir);
  const std::string k1 = key_file(dir, "k1", kKey1);
  std::map<int64_t, std::vector<uint8_t>> images;  // TXID -> what SQLite had
  {
    Db primary(primary_uri(dir, std::string(kFastHistory) + "&encryption_key_file=" + k1));
    primary.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, pad BLOB)");
    for (int i = 0; i < 120; ++i) {
      primary.exec("INSERT OR REPLACE INTO t VALUES (" + std::to_string(i % 40) + ", '" + kMarker +
                   std::to_string(i) + "', randomblob(300))");
      if (i % 10 == 9) {
        images[wait_uploaded(primary)] = primary.serialize();
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
    }
    images[wait_uploaded(primary)] = primary.serialize();
    // Let the history engine work over what was written, then stop it by closing.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    const auto stats = stats_of(primary);
    INFO(stats.dump());
    CHECK(stats["compactions"].get<uint64_t>() > 0);
    CHECK(stats["snapshots"].get<uint64_t>() > 0);
    CHECK(stats["deleted_files"].get<uint64_t>() > 0);
    CHECK(stats["history_error"] == "");
  }
  // The bucket: encrypted under key 1 only, and no byte of the marker anywhere.
  const auto ids = header_key_ids(replica);
  const std::string id1 = ltxvfs::ltx::key_id_hex(ltxvfs::ltx::parse_key(kKey1)->id());
  for (const auto& [id, n] : ids) UNSCOPED_INFO(id << ": " << n << " files");
  REQUIRE(ids.size() == 1);
  REQUIRE(ids.begin()->first == id1);
  const std::string bytes = bucket_bytes(replica);
  CHECK(bytes.find("PLAINTEXT-MARKER") == std::string::npos);
  CHECK(std::string(images.rbegin()->second.begin(), images.rbegin()->second.end())
            .find("PLAINTEXT-MARKER") != std::string::npos);  // the check above can fail

  // Without the key, or with another one: a clear error naming the key id, from the CLI.
  int rc = 0;
  std::string out = cli("", "restore " + replica + " -o " + dir + "/none.db", &rc);
  CHECK(rc != 0);
  CHECK_THAT(out, Catch::Contains("encrypted with key id " + id1) &&
                      Catch::Contains("LTX_ENCRYPTION_KEY"));
  out = cli("LTX_ENCRYPTION_KEY=" + kKey2, "restore " + replica + " -o " + dir + "/wrong.db", &rc);
  CHECK(rc != 0);
  CHECK_THAT(out, Catch::Contains("encrypted with key id " + id1));
  CHECK(out.find(kKey2) == std::string::npos);
  // With a list that holds it (rotation): restored.
  out = cli("LTX_ENCRYPTION_KEY=" + kKey2 + "," + kKey1,
            "restore " + replica + " -o " + dir + "/cli.db", &rc);
  CHECK(rc == 0);
  INFO(out);
  CHECK(describe_difference(read_file_bytes(dir + "/cli.db"), images.rbegin()->second) ==
        "identical");

  // In this process: restore and replicas at every TXID retention kept (at least the newest).
  // Which of the images' TXIDs it kept depends on where compaction put file boundaries (a loaded
  // machine kept only the newest once), so every TXID a file ends at is tried too: the images
  // say what SQLite had at some of them, integrity_check vouches for the others.
  ltxvfs::ltx::load_keys(k1);
  std::set<int64_t> points;
  for (const auto& [txid, image] : images) points.insert(txid);
  {
    ltxvfs::storage::FileStore store(replica);
    for (const auto& f :
         ltxvfs::history::list_ltx_files(store, ltxvfs::storage::LayoutStyle::kDirectory)) {
      points.insert(static_cast<int64_t>(f.max_txid));
    }
  }
  int restored = 0;
  for (const int64_t txid : points) {
    std::vector<uint8_t> got;
    try {
      got = restore_replica("file://" + replica, static_cast<uint64_t>(txid), dir);
    } catch (const std::exception& e) {
      INFO("TXID " << txid << " not restorable (retention): " << e.what());
      CHECK(txid != images.rbegin()->first);
      continue;
    }
    ++restored;
    const auto image = images.find(txid);
    if (image == images.end()) {
      const std::string path = dir + "/at-" + std::to_string(txid) + ".db";
      ltxvfs::base::write_file_atomically(path, got, /*durable=*/false);
      Db check("file:" + path + "?mode=ro", SQLITE_OPEN_READONLY);
      CHECK(check.query_text("PRAGMA integrity_check") == "ok");
      continue;
    }
    CHECK(describe_difference(got, image->second) == "identical");
    Db r(replica_uri(dir, "file://" + replica,
                     "&encryption_key_file=" + k1 + "&txid=" + std::to_string(txid),
                     "r" + std::to_string(txid) + ".db"),
         SQLITE_OPEN_READONLY);
    CHECK(describe_difference(comparable_image(r.serialize()), comparable_image(image->second)) ==
          "identical");
  }
  CHECK(restored >= 2);
}

TEST_CASE("a rotated key writes from the next file on and replicas read old and new with a list",
          "[replica][encryption]") {
  const std::string dir = scratch_dir("encrypted-rotation");
  const std::string replica = replica_dir(dir);
  {
    Db primary(primary_uri(dir, "&encryption_key_file=" + key_file(dir, "k1", kKey1)));
    primary.exec("CREATE TABLE t(v); INSERT INTO t VALUES ('old')");
    wait_uploaded(primary);
  }
  const std::string both = key_file(dir, "k21", kKey2 + "\n" + kKey1);
  std::vector<uint8_t> expected;
  {
    Db primary(primary_uri(dir, "&encryption_key_file=" + both));
    primary.exec("INSERT INTO t VALUES ('new')");
    wait_uploaded(primary);
    expected = primary.serialize();
  }
  // Two opens of one database: one database id, kept in the sidecar.
  CHECK(database_ids(replica).size() == 1);
  const auto ids = header_key_ids(replica);
  INFO(ids.size());
  CHECK(ids.count(ltxvfs::ltx::key_id_hex(ltxvfs::ltx::parse_key(kKey1)->id())) == 1);
  CHECK(ids.count(ltxvfs::ltx::key_id_hex(ltxvfs::ltx::parse_key(kKey2)->id())) == 1);
  // `ltxvfs ls --keys` counts the files under each key id, as the rotation steps in
  // docs/SECURITY.md use it (no key needed: it names ids only).
  int ls_rc = 0;
  const std::string listed = cli("", "ls " + replica + " --keys", &ls_rc);
  INFO(listed);
  CHECK(ls_rc == 0);
  for (const auto& [id, n] : ids) {
    CHECK_THAT(listed, Catch::Contains("key " + id + ": " + std::to_string(n) + " file"));
  }
  CHECK_THAT(listed, Catch::Contains("database " + database_ids(replica).begin()->first));
  Db r(replica_uri(dir, "file://" + replica, "&encryption_key_file=" + both), SQLITE_OPEN_READONLY);
  CHECK(dump(r, "SELECT v FROM t ORDER BY rowid") == "old\nnew\n");
  int rc = 0;
  // The old key alone cannot read what was written after the rotation.
  const std::string out =
      cli("LTX_ENCRYPTION_KEY=" + kKey1, "restore " + replica + " -o " + dir + "/old-only.db", &rc);
  CHECK(rc != 0);
  CHECK_THAT(out, Catch::Contains(ltxvfs::ltx::key_id_hex(ltxvfs::ltx::parse_key(kKey2)->id())));
}

TEST_CASE("format=litestream with a key, and a key file others can read, are refused at open",
          "[replica][encryption]") {
  const std::string dir = scratch_dir("encrypted-refused");
  const std::string k = key_file(dir, "k", kKey1);
  auto open_error = [](const std::string& uri) -> std::string {
    try {
      Db db(uri);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  };
  REQUIRE_FALSE(
      open_error(primary_uri(dir, "&format=litestream&encryption_key_file=" + k)).empty());
  Db memory(":memory:");
  CHECK_THAT(memory.query_text("SELECT ltx_last_error()"),
             Catch::Contains("format=litestream cannot be encrypted"));
  ::chmod(k.c_str(), 0644);
  REQUIRE_FALSE(open_error(primary_uri(dir, "&encryption_key_file=" + k)).empty());
  const std::string why = memory.query_text("SELECT ltx_last_error()");
  CHECK_THAT(why, Catch::Contains("mode 0644") && Catch::Contains("chmod 600 " + k));
  CHECK(why.find(kKey1) == std::string::npos);
}

TEST_CASE("one key for two databases: a file of one put into the other's replica is refused",
          "[replica][encryption]") {
  const std::string dir = scratch_dir("encrypted-splice");
  const std::string k = key_file(dir, "k", kKey1);
  // The same statements in two databases under the same key, without compaction (every
  // transaction stays a file of its own): the same TXIDs, the same pages.
  auto write = [&](const std::string& name, const std::string& secret) {
    const std::string db_dir = dir + "/" + name;
    fs::create_directories(db_dir);
    Db primary(primary_uri(db_dir, "&levels=1h&snapshot_interval=24h&encryption_key_file=" + k));
    primary.exec("BEGIN; CREATE TABLE t1(v); CREATE TABLE t2(v); COMMIT");
    wait_uploaded(primary);
    primary.exec("INSERT INTO t1 VALUES ('" + secret + "')");
    const int64_t txid = wait_uploaded(primary);
    primary.exec("INSERT INTO t2 VALUES ('later')");
    wait_uploaded(primary);
    return std::make_pair(replica_dir(db_dir), txid);
  };
  const auto [a, txid_a] = write("a", "secret of a");
  const auto [b, txid_b] = write("b", "secret of b");
  REQUIRE(txid_a == txid_b);
  const auto ids_a = database_ids(a);
  const auto ids_b = database_ids(b);
  REQUIRE(ids_a.size() == 1);
  REQUIRE(ids_b.size() == 1);
  REQUIRE(ids_a.begin()->first != ids_b.begin()->first);  // a new id per database
  // `ltxvfs status` names both ids from the newest file's header (no key needed to see them).
  int status_rc = 0;
  const auto status = nlohmann::json::parse(cli("", "status " + a + " --json", &status_rc));
  CHECK(status_rc == 0);
  CHECK(status["encryption"]["database_id"] == ids_a.begin()->first);
  CHECK(status["encryption"]["key_id"] ==
        ltxvfs::ltx::key_id_hex(ltxvfs::ltx::parse_key(kKey1)->id()));

  // B's file of the INSERT into t1 replaces A's (and the store's record of it, so the file
  // store serves it as a regular object).
  char prefix[18];
  std::snprintf(prefix, sizeof prefix, "%016llx-", static_cast<unsigned long long>(txid_a));
  int spliced = 0;
  for (const auto& e : fs::recursive_directory_iterator(b)) {
    if (!e.is_regular_file() || e.path().filename().string().rfind(prefix, 0) != 0) continue;
    const fs::path rel = fs::relative(e.path(), b);
    REQUIRE(fs::exists(fs::path(a) / rel));
    fs::copy_file(e.path(), fs::path(a) / rel, fs::copy_options::overwrite_existing);
    ++spliced;
  }
  REQUIRE(spliced > 0);

  // Restore refuses the chain at that file, naming both databases.
  int rc = 0;
  const std::string out =
      cli("LTX_ENCRYPTION_KEY=" + kKey1, "restore " + a + " -o " + dir + "/restored.db", &rc);
  INFO(out);
  CHECK(rc != 0);
  CHECK_THAT(out, Catch::Contains("belongs to database " + ids_b.begin()->first) &&
                      Catch::Contains(ids_a.begin()->first));
  CHECK(out.find("secret of b") == std::string::npos);
  // A replica of A reads t1's page from that file: its tag binds database B, not A.
  ltxvfs::ltx::load_keys(k);
  std::string read_error;
  try {
    Db r(replica_uri(dir, "file://" + a, "&encryption_key_file=" + k, "ra.db"),
         SQLITE_OPEN_READONLY);
    const std::string got = dump(r, "SELECT v FROM t1");
    INFO(got);
    CHECK(got.find("secret of b") == std::string::npos);
  } catch (const std::exception& e) {
    read_error = e.what();
  }
  INFO(read_error);
  CHECK_FALSE(read_error.empty());
  // The control: B's own replica reads its row, so the failure above is the splice's.
  Db rb(replica_uri(dir, "file://" + b, "&encryption_key_file=" + k, "rb.db"),
        SQLITE_OPEN_READONLY);
  CHECK(dump(rb, "SELECT v FROM t1") == "secret of b\n");
}
