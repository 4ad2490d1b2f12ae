#include "tests/replica/model_replica.h"

#include <chrono>

#include "ltx/checksum.h"
#include "ltx/lock_page.h"
#include "ltx/sink.h"

namespace ltxvfs::testing {

ModelPrimary::ModelPrimary(std::string dir, uint32_t page_size, bool native)
    : dir_(std::move(dir)), page_size_(page_size), native_(native), store_(dir_) {}

void ModelPrimary::set(uint32_t pgno, uint32_t seed) {
  std::vector<uint8_t> p(page_size_);
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = static_cast<uint8_t>((seed * 131 + pgno * 7 + i * (seed % 5 + 1)) & 0xff);
  }
  pages_[pgno] = std::move(p);
  dirty_[pgno] = true;
  if (pgno > commit_) commit_ = pgno;
}

void ModelPrimary::truncate(uint32_t commit) {
  for (auto it = pages_.upper_bound(commit); it != pages_.end();) it = pages_.erase(it);
  for (auto it = dirty_.upper_bound(commit); it != dirty_.end();) it = dirty_.erase(it);
  commit_ = commit;
}

uint64_t ModelPrimary::commit(uint32_t level, bool snapshot) {
  const bool full = snapshot || txid_ == 0;
  const uint64_t min = full ? 1 : txid_ + 1;
  const uint64_t max = txid_ + 1;
  ltx::Header h;
  h.page_size = page_size_;
  h.commit = commit_;
  h.min_txid = min;
  h.max_txid = max;
  h.timestamp_ms = 1'700'000'000'000 + static_cast<int64_t>(max) * 1000;
  h.pre_apply_checksum = full ? 0 : checksum_;
  ltx::DatabaseChecksum sum;
  for (const auto& [pgno, bytes] : pages_) sum.toggle(pgno, bytes);
  ltx::VectorSink sink;
  ltx::Encoder enc(
      sink, h, native_ ? ltx::EncodeOptions::native() : ltx::EncodeOptions::litestream(), "model");
  for (const auto& [pgno, bytes] : pages_) {
    if (full || dirty_.count(pgno) != 0) enc.add_page(pgno, bytes);
  }
  enc.finish(native_ ? sum.value() : 0);
  store_.put(key(level, min, max), sink.bytes());
  checksum_ = native_ ? sum.value() : 0;
  dirty_.clear();
  txid_ = max;
  history_[txid_] = {pages_, commit_};
  return txid_;
}

std::vector<uint8_t> ModelPrimary::page(uint32_t pgno) const {
  return page_at(txid_, pgno);
}

std::vector<uint8_t> ModelPrimary::page_at(uint64_t txid, uint32_t pgno) const {
  const auto& [pages, commit] = history_.at(txid);
  auto it = pages.find(pgno);
  if (it == pages.end() || pgno > commit) return std::vector<uint8_t>(page_size_, 0);
  return it->second;
}

}  // namespace ltxvfs::testing
