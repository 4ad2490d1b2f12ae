#include "vfs/replica/lazy_index.h"

#include <algorithm>
#include <stdexcept>
#include <variant>

#include "ltx/error.h"

namespace ltxvfs::replica {

LazyIndex::LazyIndex(storage::ObjectStore& store, history::RemoteFile file, std::string etag,
                     std::vector<ltx::IndexMark> directory, ltx::IndexArea area,
                     LazyIndexCounters& counters)
    : store_(store),
      file_(std::move(file)),
      etag_(std::move(etag)),
      directory_(std::move(directory)),
      area_(area),
      counters_(counters),
      parts_(directory_.size()) {}

std::optional<std::optional<ltx::PageIndexEntry>> LazyIndex::find_held(uint32_t pgno) const {
  const size_t at = ltx::index_part_of(directory_, pgno);
  base::MutexLock lock(mu_);
  if (const auto& part = parts_[at]) return in(*part, pgno);
  for (const auto& e : proven_) {
    if (e.pgno == pgno) return std::optional<ltx::PageIndexEntry>{e};
  }
  return std::nullopt;
}

void LazyIndex::prove(const ltx::PageIndexEntry& entry) {
  base::MutexLock lock(mu_);
  proven_.push_back(entry);
}

template <typename Fn>
auto LazyIndex::checked(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const storage::StoreError& e) {
    if (e.kind() != storage::StoreErrorKind::kNotFound) throw;
    throw IndexPartError(file_, true,
                         "object " + file_.key +
                             " is gone from the store (compaction or "
                             "retention) or was replaced: " +
                             e.what());
  } catch (const ltx::LtxError& e) {
    throw IndexPartError(file_, false, e.what());
  }
}

std::optional<ltx::PageIndexEntry> LazyIndex::find(uint32_t pgno) {
  return checked([&] { return find_unchecked(pgno); });
}

std::optional<ltx::PageIndexEntry> LazyIndex::find_unchecked(uint32_t pgno) {
  if (auto held = find_held(pgno)) return *held;
  const size_t at = ltx::index_part_of(directory_, pgno);
  const ltx::IndexPartRange range = ltx::index_part_range(directory_, area_, at);
  std::shared_ptr<const Part> part;
  try {
    const std::vector<uint8_t> bytes = read(range.start, range.read_end);
    counters_.parts_fetched.fetch_add(1, std::memory_order_relaxed);
    part = std::make_shared<const Part>(
        Part{ltx::parse_index_part(bytes, directory_, area_, at, file_.key)});
  } catch (const ltx::LtxError&) {
    // The directory does not fit the object: its index as a whole decides.
    load_whole();
    return *find_held(pgno);
  }
  base::MutexLock lock(mu_);
  if (!parts_[at]) {
    parts_[at] = part;
    ++held_;
  }
  return in(*part, pgno);
}

bool LazyIndex::complete() const {
  base::MutexLock lock(mu_);
  return held_ == parts_.size();
}

std::vector<ltx::PageIndexEntry> LazyIndex::entries() const {
  base::MutexLock lock(mu_);
  std::vector<ltx::PageIndexEntry> out;
  for (const auto& part : parts_) {
    if (!part) throw std::logic_error("LazyIndex::entries: " + file_.key + " is not complete");
    out.insert(out.end(), part->entries.begin(), part->entries.end());
  }
  return out;
}

void LazyIndex::load_all() {
  if (!complete()) checked([&] { load_whole(); });
}

void LazyIndex::load_whole() {
  const uint64_t tail_start = area_.pages_end;
  // Counted as asked for, before the GET: the store's own byte count never runs ahead of it.
  counters_.wholes_fetched.fetch_add(1, std::memory_order_relaxed);
  counters_.whole_bytes.fetch_add(file_.size - tail_start, std::memory_order_relaxed);
  const std::vector<uint8_t> tail = read(tail_start, file_.size);
  auto parsed = ltx::parse_file_tail(tail, file_.size, file_.key);
  if (std::holds_alternative<ltx::NeedTailBytes>(parsed)) {
    throw ltx::LtxError(ltx::LtxErrorKind::kBadIndex, file_.key,
                        "the page index is longer than the head's hint says");
  }
  const auto& entries = std::get<ltx::FileTail>(parsed).index.entries;
  // Split by the directory's pages: each part is the entries from its mark's page on.
  std::vector<std::shared_ptr<const Part>> parts(directory_.size());
  auto from = entries.begin();
  for (size_t i = 0; i < directory_.size(); ++i) {
    auto to =
        i + 1 < directory_.size()
            ? std::lower_bound(from, entries.end(), directory_[i + 1].pgno,
                               [](const ltx::PageIndexEntry& e, uint32_t p) { return e.pgno < p; })
            : entries.end();
    // The first part takes the pages below the first mark too (index_part_of).
    parts[i] = std::make_shared<const Part>(Part{{from, to}});
    from = to;
  }
  base::MutexLock lock(mu_);
  parts_ = std::move(parts);
  held_ = parts_.size();
}

std::vector<uint8_t> LazyIndex::read(uint64_t start, uint64_t end) {
  storage::GetResult got;
  try {
    got = store_.get(file_.key, storage::ByteRange::at(start, end - start));
  } catch (const storage::StoreError& e) {
    if (e.kind() == storage::StoreErrorKind::kNotFound) throw;
    throw storage::StoreError(e.kind(), "reading the page index of " + file_.key + ": " + e.what());
  }
  const bool replaced = (got.object_size != 0 && got.object_size != file_.size) ||
                        (!etag_.empty() && !got.etag.empty() && got.etag != etag_);
  if (replaced) {
    throw storage::StoreError(storage::StoreErrorKind::kNotFound,
                              "GET " + file_.key + ": the object changed since the replica " +
                                  "planned with it (another size or etag); list again");
  }
  if (got.body.size() != end - start) {
    throw storage::StoreError(storage::StoreErrorKind::kNotFound,
                              "GET " + file_.key + ": " + std::to_string(got.body.size()) +
                                  " bytes of its page index, not " + std::to_string(end - start) +
                                  "; list again");
  }
  return std::move(got.body);
}

}  // namespace ltxvfs::replica
