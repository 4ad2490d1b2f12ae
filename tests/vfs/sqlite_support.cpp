#include "tests/vfs/sqlite_support.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include "base/posix_file.h"
#include "history/restore_plan.h"
#include "history/restorer.h"
#include "storage/store_factory.h"

namespace ltxvfs::testing {

void reload_ltx_extension() {
  sqlite3* db = nullptr;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) throw std::runtime_error("sqlite3_open");
  sqlite3_enable_load_extension(db, 1);
  char* error = nullptr;
  if (sqlite3_load_extension(db, LTXVFS_EXTENSION_PATH, nullptr, &error) != SQLITE_OK) {
    std::string message = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    sqlite3_close(db);
    throw std::runtime_error("cannot load " LTXVFS_EXTENSION_PATH ": " + message);
  }
  sqlite3_close(db);
}

void load_ltx_extension() {
  static std::once_flag once;
  std::call_once(once, [] {
    // The extension reads S3 credentials from the environment, like any AWS client. Set test
    // values before any thread exists (setenv is not thread-safe); moto accepts any pair.
    ::setenv("AWS_ACCESS_KEY_ID", "ltxvfs-test-key", 0);
    ::setenv("AWS_SECRET_ACCESS_KEY", "ltxvfs-test-secret", 0);
    ::setenv("AWS_REGION", "us-east-1", 0);
    reload_ltx_extension();
  });
}

Db::Db(const std::string& uri, int flags) {
  load_ltx_extension();
  int rc = sqlite3_open_v2(uri.c_str(), &db_, flags | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("open " + uri + ": " + message);
  }
  sqlite3_busy_timeout(db_, 10000);
}

Db::~Db() {
  sqlite3_close(db_);
}

void Db::exec(const std::string& sql) {
  std::string error = try_exec(sql);
  if (!error.empty()) throw std::runtime_error(sql.substr(0, 200) + ": " + error);
}

std::string Db::try_exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) == SQLITE_OK) return "";
  std::string message = error != nullptr ? error : sqlite3_errmsg(db_);
  sqlite3_free(error);
  return message;
}

int64_t Db::query_int(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
  }
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    std::string message = sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    throw std::runtime_error(sql + ": " + message);
  }
  int64_t v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return v;
}

std::string Db::query_text(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
  }
  std::string out;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return out;
}

std::vector<uint8_t> Db::serialize() {
  sqlite3_int64 size = 0;
  unsigned char* data = sqlite3_serialize(db_, "main", &size, 0);
  if (data == nullptr) throw std::runtime_error("sqlite3_serialize failed");
  std::vector<uint8_t> out(data, data + size);
  sqlite3_free(data);
  return out;
}

std::string primary_uri(const std::string& dir, const std::string& extra) {
  return "file:" + dir + "/app.db?vfs=ltx&durability=remote&upload_interval_ms=0" + extra;
}

std::string replica_dir(const std::string& dir) {
  return dir + "/app.db-ltx/replica";
}

void check_restores_to(Db& db, const std::string& url, const std::string& dir) {
  const uint64_t txid = static_cast<uint64_t>(db.query_int("SELECT ltx_txid()"));
  REQUIRE(txid > 0);
  const auto expected = db.serialize();
  CHECK(describe_difference(restore_replica(url, txid, dir), expected) == "identical");
}

nlohmann::json stats_of(Db& db) {
  return nlohmann::json::parse(db.query_text("SELECT ltx_stats()"));
}

uint16_t port_of(const std::string& endpoint) {
  return static_cast<uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

int test_rounds(int full) {
  const char* quick = std::getenv("LTXVFS_TEST_QUICK");
  if (quick != nullptr && std::string(quick) == "1") return std::max(1, full / 4);
  return full;
}

std::string scratch_dir(const std::string& name) {
  static std::atomic<unsigned> counter{0};
  std::string safe;
  for (char c : name) safe += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  const std::string dir = std::string(LTXVFS_SCRATCH_DIR) + "/" + safe.substr(0, 60) + "-" +
                          std::to_string(::getpid()) + "-" + std::to_string(counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  return ltxvfs::base::read_file(path);
}

std::vector<uint8_t> restore_replica(const std::string& url, std::optional<uint64_t> txid,
                                     const std::string& work_dir) {
  static std::atomic<unsigned> counter{0};
  storage::StoreSettings settings;
  settings.create_if_missing = false;
  auto opened = storage::open_store(url, settings);
  auto files = ltxvfs::history::list_ltx_files(*opened.store, opened.layout);
  const uint64_t target = txid ? *txid : ltxvfs::history::newest_restorable_txid(files);
  auto plan = ltxvfs::history::plan_restore(files, target);
  const std::string out = work_dir + "/restored-" + std::to_string(counter++) + ".db";
  ltxvfs::history::restore(*opened.store, plan, out);
  auto bytes = ltxvfs::base::read_file(out);
  ::unlink(out.c_str());
  return bytes;
}

std::string describe_difference(const std::vector<uint8_t>& actual,
                                const std::vector<uint8_t>& expected, uint32_t page_size) {
  if (actual == expected) return "identical";
  if (page_size == 0 && expected.size() >= 18) {
    page_size = static_cast<uint32_t>(expected[16] << 8 | expected[17]);
    if (page_size == 1) page_size = 65536;
  }
  if (page_size == 0) page_size = 4096;
  std::string out = "restored " + std::to_string(actual.size()) + " bytes, expected " +
                    std::to_string(expected.size());
  const size_t n = std::min(actual.size(), expected.size());
  for (size_t i = 0; i < n; ++i) {
    if (actual[i] != expected[i]) {
      out += "; first difference at byte " + std::to_string(i) + " (page " +
             std::to_string(i / page_size + 1) + ")";
      break;
    }
  }
  return out;
}

int run_sqlite3_shell(const std::string& script, std::string* output) {
  static std::atomic<unsigned> counter{0};
  const std::string path = std::string(LTXVFS_SCRATCH_DIR) + "/shell-" +
                           std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".sql";
  std::filesystem::create_directories(LTXVFS_SCRATCH_DIR);
  {
    std::ofstream out(path);
    out << ".bail on\n.load " LTXVFS_EXTENSION_PATH "\n" << script << "\n";
  }
  const int rc = run_command("sqlite3 < '" + path + "'", output);
  ::unlink(path.c_str());
  return rc;
}

int run_command(const std::string& command, std::string* output) {
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::array<char, 4096> buf{};
  std::string out;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int status = ::pclose(p);
  if (output != nullptr) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TmpfsMount::TmpfsMount(const std::string& path, const std::string& size) : path_(path) {
  std::filesystem::create_directories(path);
  mounted_ = run_command("mount -t tmpfs -o size=" + size + " tmpfs '" + path + "'") == 0;
}

TmpfsMount::~TmpfsMount() {
  if (mounted_) run_command("umount -l '" + path_ + "'");
}

bool TmpfsMount::make_read_only() {
  return mounted_ && run_command("mount -o remount,ro '" + path_ + "'") == 0;
}

}  // namespace ltxvfs::testing
