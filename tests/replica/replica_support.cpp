#include "tests/replica/replica_support.h"

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace ltxvfs::testing {

std::string dump(Db& db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    throw std::runtime_error(sql + ": " + sqlite3_errmsg(db.get()));
  }
  std::string out;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      if (i > 0) out += '|';
      const unsigned char* t = sqlite3_column_text(stmt, i);
      out += t != nullptr ? reinterpret_cast<const char*>(t) : "<null>";
    }
    out += '\n';
  }
  std::string message = sqlite3_errmsg(db.get());
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) throw std::runtime_error(sql + ": " + message);
  return out;
}

nlohmann::json replica_stats(Db& db) {
  return nlohmann::json::parse(db.query_text("SELECT ltx_stats()"));
}

std::string replica_uri(const std::string& dir, const std::string& url, const std::string& extra,
                        const std::string& name) {
  return "file:" + dir + "/" + name + "?vfs=ltx&mode=ro&replica=" + url + extra;
}

std::unique_ptr<Db> primary_from_sample(const std::string& sample, const std::string& dir,
                                        const std::string& params) {
  std::filesystem::copy_file(std::string(LTXVFS_TEST_DATA_DIR) + "/" + sample, dir + "/app.db",
                             std::filesystem::copy_options::overwrite_existing);
  auto db = std::make_unique<Db>("file:" + dir + "/app.db?vfs=ltx" + params);
  wait_uploaded(*db);
  return db;
}

int64_t wait_uploaded(Db& primary) {
  const int64_t txid = primary.query_int("SELECT ltx_txid()");
  for (int i = 0; i < 1000; ++i) {
    const auto stats = nlohmann::json::parse(primary.query_text("SELECT ltx_stats()"));
    if (stats["uploaded_txid"].get<int64_t>() >= txid) return txid;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("the primary did not upload TXID " + std::to_string(txid) +
                           " within 20 s");
}

std::vector<uint8_t> comparable_image(std::vector<uint8_t> image) {
  if (image.size() >= 100) {
    for (size_t i : {18, 19, 24, 25, 26, 27, 92, 93, 94, 95}) image[i] = 0;
  }
  return image;
}

ExecResult exec_code(Db& db, const std::string& sql) {
  ExecResult r;
  char* error = nullptr;
  const int rc = sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    r.code = sqlite3_extended_errcode(db.get());
    r.message = error != nullptr ? error : sqlite3_errmsg(db.get());
  }
  sqlite3_free(error);
  return r;
}

}  // namespace ltxvfs::testing
