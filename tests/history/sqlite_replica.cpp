#include "sqlite_replica.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <span>

#include "base/time_spec.h"
#include "ltx/encoder.h"
#include "ltx/sink.h"
#include "storage/replica_layout.h"

namespace historytest {

namespace ltx = ltxvfs::ltx;
namespace storage = ltxvfs::storage;

void exec_sql(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err != nullptr ? err : "?";
    sqlite3_free(err);
    FAIL(sql << ": " << msg);
  }
}

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

uint64_t SqliteReplica::exec(const std::string& sql) {
  exec_sql(db_, sql);
  exec_sql(db_, "PRAGMA wal_checkpoint(TRUNCATE)");
  const Bytes image = read_bytes(path_);
  const uint32_t ps = 4096;
  const auto commit = static_cast<uint32_t>(image.size() / ps);
  ltx::Header h;
  h.page_size = ps;
  h.commit = commit;
  h.min_txid = h.max_txid = ++txid_;
  h.timestamp_ms = ltxvfs::base::now_ms();
  h.pre_apply_checksum = txid_ == 1 ? 0 : sum_.value();
  ltx::VectorSink sink;
  ltx::Encoder enc(sink, h,
                   format_ == OutputFormat::kLitestream ? ltx::EncodeOptions::litestream()
                                                        : ltx::EncodeOptions::native());
  for (uint32_t p = 1; p <= commit; ++p) {
    const std::span<const uint8_t> page(image.data() + uint64_t{p - 1} * ps, ps);
    const bool grown = p > last_.size() / ps;
    if (!grown && std::equal(page.begin(), page.end(), last_.begin() + uint64_t{p - 1} * ps)) {
      continue;
    }
    if (!grown) sum_.toggle(p, std::span<const uint8_t>(last_.data() + uint64_t{p - 1} * ps, ps));
    sum_.toggle(p, page);
    enc.add_page(p, page);
  }
  for (uint32_t p = commit + 1; p <= last_.size() / ps; ++p) {
    sum_.toggle(p, std::span<const uint8_t>(last_.data() + uint64_t{p - 1} * ps, ps));
  }
  enc.finish(sum_.value());
  storage::PutOptions put;
  put.if_none_match = true;
  put.metadata["litestream-timestamp"] = ltxvfs::base::format_rfc3339_ms(h.timestamp_ms);
  store_.put(storage::ltx_key(layout_, 0, txid_, txid_), sink.bytes(), put);
  last_ = image;
  images_[txid_] = image;
  return txid_;
}

}  // namespace historytest
