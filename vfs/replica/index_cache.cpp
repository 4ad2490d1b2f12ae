#include "vfs/replica/index_cache.h"

#include <algorithm>
#include <variant>

#include "base/parallel_for.h"
#include "history/restorer.h"
#include "ltx/error.h"

namespace ltxvfs::replica {
namespace {

// The header `bytes` start with, valid, and of the TXIDs the object's name says; throws naming
// the object otherwise (a name and a header that disagree are a broken or foreign object).
ltx::Header checked_header(std::span<const uint8_t> bytes, const history::RemoteFile& file) {
  ltx::Header h = ltx::Header::decode(bytes, file.key);
  h.validate(file.key);
  if (h.min_txid != file.min_txid || h.max_txid != file.max_txid) {
    throw ltx::LtxError(ltx::LtxErrorKind::kBadTxid, file.key,
                        "header says TXIDs " + std::to_string(h.min_txid) + "-" +
                            std::to_string(h.max_txid) + ", the object's name says otherwise");
  }
  return h;
}

// Throws as if `file` had vanished when the GET's answer says the object has another size than
// the listing gave: replaced since, so these bytes are not its tail, and the replica lists again.
void check_not_replaced(const history::RemoteFile& file, const storage::GetResult& got) {
  if (file.size != 0 && got.object_size != 0 && got.object_size != file.size) {
    throw storage::StoreError(storage::StoreErrorKind::kNotFound,
                              "GET " + file.key + ": the object is " +
                                  std::to_string(got.object_size) + " bytes, the listing said " +
                                  std::to_string(file.size) + ": it changed since; list again");
  }
}

}  // namespace

std::string IndexCache::identity(const history::RemoteFile& f) {
  // Key plus what the listing says about the version: a key rewritten with other content (a
  // replica deleted and started again) is a different object.
  return f.key + '\n' + std::to_string(f.size) + '\n' + std::to_string(f.last_modified_ms);
}

uint64_t IndexCache::first_tail_request(const history::RemoteFile& file,
                                        const history::HeadRecord* head) {
  // The listing gives the size; a tail read longer than the object would be refused by some
  // stores, and one that is unknown (0) is asked for in full.
  if (file.size == 0) return ltx::kDefaultTailFetch;
  const uint64_t hinted = head ? head->tail_bytes(file) : 0;
  // A hint is bucket content like the rest: a wrong one costs a second GET (too short) or bytes
  // (too long), so it is used only within what an index could be.
  if (hinted >= ltx::kMinTailSize && hinted <= file.size) return hinted;
  return std::min<uint64_t>(ltx::kDefaultTailFetch, file.size);
}

std::shared_ptr<const FileIndex> IndexCache::fetch(const history::RemoteFile& file, uint64_t want) {
  try {
    return fetch_unchecked(file, want);
  } catch (const ltx::LtxError& e) {
    throw history::BadFileError(file.key, e.what());
  }
}

std::shared_ptr<const FileIndex> IndexCache::fetch_unchecked(const history::RemoteFile& file,
                                                             uint64_t want) {
  auto out = std::make_shared<FileIndex>();
  out->file = file;
  for (int attempt = 0;; ++attempt) {
    storage::GetResult got = store_.get(file.key, storage::ByteRange::tail(file.size, want));
    tails_fetched_.fetch_add(1, std::memory_order_relaxed);
    check_not_replaced(file, got);
    const uint64_t size = got.object_size != 0 ? got.object_size : file.size;
    if (got.body.size() > size) {
      throw ltx::LtxError(ltx::LtxErrorKind::kTruncated, file.key,
                          "the store returned more tail bytes than the object holds");
    }
    auto parsed = ltx::parse_file_tail(got.body, size, file.key);
    if (auto* need = std::get_if<ltx::NeedTailBytes>(&parsed)) {
      if (attempt > 0 || need->bytes <= got.body.size() || need->bytes > size) {
        throw ltx::LtxError(ltx::LtxErrorKind::kBadIndex, file.key,
                            "the page index does not fit in the object (" +
                                std::to_string(need->bytes) + " bytes needed of " +
                                std::to_string(size) + ")");
      }
      want = need->bytes;
      continue;
    }
    auto& tail = std::get<ltx::FileTail>(parsed);
    out->index = std::move(tail.index);
    out->trailer = tail.trailer;
    out->etag = got.etag;
    out->file.size = size;
    if (got.body.size() == size && size >= ltx::kHeaderSize) {
      out->header = checked_header(std::span(got.body).first(ltx::kHeaderSize), file);
    }
    break;
  }
  out->serial = next_serial_.fetch_add(1, std::memory_order_relaxed);
  return out;
}

std::shared_ptr<const FileIndex> IndexCache::fetch_lazy(const history::RemoteFile& file,
                                                        const history::TailHint& hint) {
  // Its trailer only: the last bytes, which also say how long the index is.
  storage::GetResult got =
      store_.get(file.key, storage::ByteRange::tail(file.size, ltx::kMinTailSize));
  tails_fetched_.fetch_add(1, std::memory_order_relaxed);
  check_not_replaced(file, got);
  // A hint that does not describe this object's index: read the index whole, as without one.
  if (got.body.size() != ltx::kMinTailSize ||
      ltx::index_tail_bytes(got.body, file.size) != hint.tail_bytes) {
    return fetch(file, first_tail_request(file, nullptr));
  }
  auto out = std::make_shared<FileIndex>();
  out->file = file;
  out->etag = got.etag;
  out->trailer = ltx::Trailer::decode(std::span<const uint8_t, ltx::kTrailerSize>(
      got.body.data() + got.body.size() - ltx::kTrailerSize, ltx::kTrailerSize));
  out->lazy =
      std::make_shared<LazyIndex>(store_, file, got.etag, hint.directory,
                                  ltx::index_area(file.size, hint.tail_bytes), lazy_counters_);
  lazy_.fetch_add(1, std::memory_order_relaxed);
  out->serial = next_serial_.fetch_add(1, std::memory_order_relaxed);
  return out;
}

std::vector<std::shared_ptr<const FileIndex>> IndexCache::load(
    const std::vector<history::RemoteFile>& files, const history::HeadRecord* head,
    HintedBytes* hinted) {
  std::vector<std::shared_ptr<const FileIndex>> out(files.size());
  std::vector<size_t> missing;
  {
    base::MutexLock lock(mu_);
    for (size_t i = 0; i < files.size(); ++i) {
      auto it = by_identity_.find(identity(files[i]));
      if (it != by_identity_.end()) {
        out[i] = it->second;
      } else {
        missing.push_back(i);
      }
    }
  }
  if (missing.empty()) return out;
  // What the head's page 1 and root hints name in files new to this location (one whose index
  // is cached was opened here before, and its pages read then).
  std::vector<HintedRead> reads;
  if (hinted != nullptr && head != nullptr) reads = hinted_reads(files, missing, *head, *hinted);
  if (hinted != nullptr) hinted->pieces.resize(reads.size());

  std::vector<uint64_t> want(missing.size());
  for (size_t j = 0; j < missing.size(); ++j) want[j] = first_tail_request(files[missing[j]], head);
  // The newest file's header, when neither its tail read nor a hinted read from byte 0 holds it.
  const history::RemoteFile& last = files.back();
  bool header_too =
      missing.back() == files.size() - 1 && (last.size == 0 || want.back() < last.size) &&
      std::none_of(reads.begin(), reads.end(),
                   [&](const HintedRead& r) { return r.file == &last && r.offset == 0; });
  if (header_too) {
    base::MutexLock lock(mu_);
    header_too = headers_.count(identity(last)) == 0;
  }
  // Tails are independent small GETs: fetch them side by side, so opening a replica with many
  // level-0 files costs one round trip rather than one per file.
  const size_t jobs = missing.size() + reads.size() + (header_too ? 1 : 0);
  base::parallel_for(jobs, parallelism_, "ltx-tail-get", [&](size_t j) {
    if (j < missing.size()) {
      const history::RemoteFile& file = files[missing[j]];
      const history::TailHint* hint = head ? head->tail_of(file) : nullptr;
      if (hint && !hint->directory.empty() && file.size != 0) {
        out[missing[j]] = fetch_lazy(file, *hint);
      } else {
        out[missing[j]] = fetch(file, want[j]);
      }
      return;
    }
    if (j < missing.size() + reads.size()) {
      const size_t r = j - missing.size();
      fetch_hinted(reads[r], hinted->pieces[r]);
      return;
    }
    try {
      fetch_header(last);
    } catch (const std::exception&) {
      // header() asks again, and reports what goes wrong then.
    }
  });
  if (hinted != nullptr) {
    std::erase_if(hinted->pieces, [](const HintedBytes::Piece& p) { return p.bytes.empty(); });
  }
  base::MutexLock lock(mu_);
  for (size_t i : missing) {
    auto [it, inserted] = by_identity_.emplace(identity(files[i]), out[i]);
    if (!inserted)
      out[i] = it->second;  // another thread loaded it meanwhile: one serial per object
  }
  return out;
}

ltx::Header IndexCache::header(const FileIndex& file) {
  try {
    return header_unchecked(file);
  } catch (const ltx::LtxError& e) {
    throw history::BadFileError(file.file.key, e.what());
  }
}

ltx::Header IndexCache::header_unchecked(const FileIndex& file) {
  if (file.header) return *file.header;
  const std::string id = identity(file.file);
  {
    base::MutexLock lock(mu_);
    auto it = headers_.find(id);
    if (it != headers_.end()) return it->second;
  }
  return fetch_header(file.file);
}

ltx::Header IndexCache::fetch_header(const history::RemoteFile& file) {
  storage::GetResult got = store_.get(file.key, storage::ByteRange::at(0, ltx::kHeaderSize));
  headers_fetched_.fetch_add(1, std::memory_order_relaxed);
  const ltx::Header h = checked_header(got.body, file);
  base::MutexLock lock(mu_);
  headers_[identity(file)] = h;
  return h;
}

std::vector<IndexCache::HintedRead> IndexCache::hinted_reads(
    const std::vector<history::RemoteFile>& files, const std::vector<size_t>& missing,
    const history::HeadRecord& head, HintedBytes& named) {
  // The missing file a hint names, if any.
  const auto in_missing = [&](const auto& hint) -> const history::RemoteFile* {
    for (size_t i : missing) {
      if (history::same_object(files[i], hint)) return &files[i];
    }
    return nullptr;
  };
  std::vector<HintedRead> reads;
  if (head.page1 && head.page1->page1_end <= head.page1->size) {
    const history::TailHint& h = *head.page1;
    if (const auto* f = in_missing(h)) {
      reads.push_back({f, 0, h.page1_end});
      named.pages.push_back(1);
      if (h.page1_end > ltx::kHeaderSize) {
        named.claims.push_back({1, f->key, ltx::kHeaderSize, h.page1_end - ltx::kHeaderSize});
      }
    }
  }
  uint64_t budget = kRootBytes;
  for (const history::RootHint& r : head.roots) {
    const auto* f = r.known() ? in_missing(r) : nullptr;
    if (f == nullptr || r.frame_size > budget) continue;
    budget -= r.frame_size;
    named.pages.push_back(r.pgno);
    named.claims.push_back({r.pgno, f->key, r.offset, r.frame_size});
    reads.push_back({f, r.offset, r.offset + r.frame_size});
  }
  // One GET per run of close frames of a file (a root right after page 1 joins page 1's read);
  // the bytes between them count against the same budget.
  std::sort(reads.begin(), reads.end(), [](const HintedRead& a, const HintedRead& b) {
    return a.file != b.file ? a.file < b.file : a.offset < b.offset;
  });
  std::vector<HintedRead> joined;
  for (const HintedRead& r : reads) {
    const uint64_t gap =
        joined.empty() || r.offset <= joined.back().end ? 0 : r.offset - joined.back().end;
    if (!joined.empty() && joined.back().file == r.file && gap <= kRootGap && gap <= budget) {
      joined.back().end = std::max(joined.back().end, r.end);
      budget -= gap;
    } else {
      joined.push_back(r);
    }
  }
  return joined;
}

void IndexCache::fetch_hinted(const HintedRead& read, HintedBytes::Piece& out) noexcept {
  const history::RemoteFile& file = *read.file;
  try {
    storage::GetResult got =
        store_.get(file.key, storage::ByteRange::at(read.offset, read.end - read.offset));
    (read.offset == 0 ? page1_fetched_ : roots_fetched_).fetch_add(1, std::memory_order_relaxed);
    if (got.body.size() != read.end - read.offset ||
        (got.object_size != 0 && got.object_size != file.size)) {
      return;
    }
    if (read.offset == 0) {
      // A header that does not check out throws: left to header() to report.
      const ltx::Header h = checked_header(std::span(got.body).first(ltx::kHeaderSize), file);
      base::MutexLock lock(mu_);
      headers_[identity(file)] = h;
    }
    out = HintedBytes::Piece{file.key, got.etag, read.offset, std::move(got.body)};
  } catch (const std::exception&) {
    // Only a hint: header() and the pages' own fetches ask again and report what goes wrong.
  }
}

std::span<const uint8_t> HintedBytes::find(const std::string& key, const std::string& etag,
                                           uint64_t offset, uint64_t size) const {
  for (const Piece& p : pieces) {
    if (p.key != key || (!etag.empty() && !p.etag.empty() && p.etag != etag)) continue;
    if (offset >= p.offset && offset + size <= p.offset + p.bytes.size()) {
      return std::span(p.bytes).subspan(offset - p.offset, size);
    }
  }
  return {};
}

void IndexCache::retain_only(const std::set<std::string>& keep) {
  base::MutexLock lock(mu_);
  for (auto it = by_identity_.begin(); it != by_identity_.end();) {
    // use_count 1: no snapshot (of any replica sharing this cache) holds it any more.
    if (keep.count(it->second->file.key) == 0 && it->second.use_count() == 1) {
      headers_.erase(it->first);
      it = by_identity_.erase(it);
    } else {
      ++it;
    }
  }
}

IndexCacheStats IndexCache::stats() const {
  base::MutexLock lock(mu_);
  return {tails_fetched_.load(),
          headers_fetched_.load(),
          page1_fetched_.load(),
          roots_fetched_.load(),
          by_identity_.size(),
          lazy_.load(),
          lazy_counters_.parts_fetched.load(),
          lazy_counters_.wholes_fetched.load(),
          lazy_counters_.whole_bytes.load()};
}

}  // namespace ltxvfs::replica
