#include "vfs/replica/snapshot.h"

#include <algorithm>
#include <stdexcept>

#include "base/parallel_for.h"
#include "ltx/encryption_key.h"
#include "ltx/error.h"
#include "ltx/lock_page.h"

namespace ltxvfs::replica {
namespace {

[[noreturn]] void throw_other_database(const std::string& key, uint64_t id, uint64_t expected) {
  throw ltx::LtxError(ltx::LtxErrorKind::kAuthentication, key,
                      "is encrypted for database " + ltx::database_id_hex(id) + ", not " +
                          ltx::database_id_hex(expected) +
                          " (the replica's): a file of another database sealed with the same key "
                          "was put among this one's");
}

}  // namespace

PageLocation PageMap::get(uint32_t pgno) const {
  const uint32_t chunk = pgno >> kChunkBits;
  if (chunk >= chunks_.size() || !chunks_[chunk]) return {};
  return (*chunks_[chunk])[pgno & (kChunkPages - 1)];
}

void PageMap::set(uint32_t pgno, const PageLocation& location) {
  const uint32_t chunk = pgno >> kChunkBits;
  if (chunk >= chunks_.size()) {
    chunks_.resize(chunk + 1);
    owned_.resize(chunk + 1, false);
  }
  if (!owned_[chunk]) {
    chunks_[chunk] =
        chunks_[chunk] ? std::make_shared<Chunk>(*chunks_[chunk]) : std::make_shared<Chunk>();
    owned_[chunk] = true;
  }
  // Owned chunks were created by this map and are not shared: writing through is safe.
  const_cast<Chunk&>(*chunks_[chunk])[pgno & (kChunkPages - 1)] = location;
}

void PageMap::truncate(uint32_t pages) {
  const size_t keep = (uint64_t{pages} + kChunkPages) >> kChunkBits;  // chunks covering 0..pages
  if (chunks_.size() > keep) {
    chunks_.resize(keep);
    owned_.resize(keep);
  }
  for (uint32_t pgno = pages + 1; (pgno >> kChunkBits) < chunks_.size(); ++pgno) {
    if (get(pgno).slot != 0) set(pgno, {});
  }
}

uint32_t Snapshot::change_counter() const {
  return static_cast<uint32_t>(txid_) + static_cast<uint32_t>(epoch_) * 0x9E3779B1u;
}

std::optional<FrameRef> Snapshot::locate(uint32_t pgno) const {
  std::vector<LazyIndex*> missing;
  for (int round = 0;; ++round) {
    missing.clear();
    if (auto held = walk(pgno, &missing)) return *held;
    // Every part the walk may need, read at once: one round trip however many long indexes
    // are newer than the page's newest whole-index holder, not one each. Parts stay once read,
    // so the second walk answers.
    if (round > 0) throw std::logic_error("Snapshot::locate: a part read is not held");
    base::parallel_for(missing.size(), static_cast<unsigned>(missing.size()), "ltx-index-part",
                       [&](size_t i) { missing[i]->find(pgno); });
  }
}

std::optional<std::optional<FrameRef>> Snapshot::locate_held(uint32_t pgno) const {
  return walk(pgno, nullptr);
}

std::optional<std::optional<FrameRef>> Snapshot::walk(uint32_t pgno,
                                                      std::vector<LazyIndex*>* missing) const {
  if (pgno == 0 || pgno > commit_) return std::optional<FrameRef>{};
  const PageLocation loc = pages_.get(pgno);
  // A lazy file newer than the newest whole-index file holding the page may hold a newer
  // version: the newest of them that holds it is the page's.
  bool unknown = false;
  for (auto it = lazy_slots_.rbegin(); it != lazy_slots_.rend() && *it > loc.slot; ++it) {
    const auto& file = files_[*it - 1];
    const auto held = file->lazy->find_held(pgno);
    if (!held) {
      unknown = true;
      if (missing == nullptr) return std::nullopt;
      missing->push_back(file->lazy.get());
      continue;
    }
    if (const auto& e = *held) {
      if (unknown) return std::nullopt;  // a newer one may hold it too
      return std::optional<FrameRef>{FrameRef{file, pgno, e->offset, static_cast<uint32_t>(e->size),
                                              page_size_, database_id_}};
    }
  }
  if (unknown) return std::nullopt;
  if (loc.slot == 0) return std::optional<FrameRef>{};
  return std::optional<FrameRef>{
      FrameRef{files_[loc.slot - 1], pgno, loc.offset, loc.size, page_size_, database_id_}};
}

bool Snapshot::lazy_complete() const {
  return std::all_of(lazy_slots_.begin(), lazy_slots_.end(),
                     [&](uint32_t slot) { return files_[slot - 1]->lazy->complete(); });
}

void Snapshot::load_lazy(unsigned parallelism) const {
  std::vector<LazyIndex*> missing;
  for (uint32_t slot : lazy_slots_) {
    if (!files_[slot - 1]->lazy->complete()) missing.push_back(files_[slot - 1]->lazy.get());
  }
  base::parallel_for(missing.size(), parallelism, "ltx-index-get",
                     [&](size_t i) { missing[i]->load_all(); });
}

bool Snapshot::uses(const std::string& key) const {
  for (const auto& f : files_) {
    if (f->file.key == key) return true;
  }
  return false;
}

void Snapshot::apply(const std::shared_ptr<const FileIndex>& file) {
  // A header that came with the tail read is checked here at no cost; the frames of the others
  // are checked as they are read (their tags bind database_id_).
  if (file->header && file->header->is_encrypted() && database_id_ != 0 &&
      file->header->database_id != database_id_) {
    throw_other_database(file->file.key, file->header->database_id, database_id_);
  }
  files_.push_back(file);
  const auto slot = static_cast<uint32_t>(files_.size());
  if (file->lazy) {
    lazy_slots_.push_back(slot);
    return;
  }
  for (const auto& e : file->index.entries) {
    pages_.set(e.pgno, PageLocation{slot, static_cast<uint32_t>(e.size), e.offset});
  }
}

void Snapshot::check_complete(uint32_t from_pgno) const {
  const uint32_t lock = ltx::lock_page(page_size_);
  // A lazy file's pages are known only as they are looked up: in a chain with one, a page no
  // file holds shows when it is read (Replica::page: kCorrupt), not here.
  if (!lazy_slots_.empty()) return;
  for (uint32_t pgno = from_pgno; pgno <= commit_ && pgno != 0; ++pgno) {
    if (pgno != lock && pages_.get(pgno).slot == 0) {
      throw ltx::LtxError(ltx::LtxErrorKind::kIncompleteGrowth, files_.back()->file.key,
                          "no file of the chain up to TXID " + std::to_string(txid_) +
                              " holds page " + std::to_string(pgno) + " of " +
                              std::to_string(commit_));
    }
  }
}

namespace {

void check_newest(const FileIndex& last, const ltx::Header& newest) {
  if (newest.max_txid != last.file.max_txid) {
    throw ltx::LtxError(ltx::LtxErrorKind::kInvalidArgument, last.file.key,
                        "header of another file passed as the newest");
  }
}

void check_follows(const FileIndex& prev, const FileIndex& next) {
  if (next.file.min_txid != prev.file.max_txid + 1) {
    throw ltx::LtxError(ltx::LtxErrorKind::kTxidGap, next.file.key,
                        "starts at TXID " + std::to_string(next.file.min_txid) + " but " +
                            prev.file.key + " ends at TXID " + std::to_string(prev.file.max_txid));
  }
}

}  // namespace

std::shared_ptr<const Snapshot> build_snapshot(std::vector<std::shared_ptr<const FileIndex>> chain,
                                               const ltx::Header& newest, uint64_t epoch) {
  if (chain.empty()) {
    throw ltx::LtxError(ltx::LtxErrorKind::kInvalidArgument, "", "empty restore chain");
  }
  if (chain.front()->file.min_txid != 1) {
    throw ltx::LtxError(ltx::LtxErrorKind::kTxidGap, chain.front()->file.key,
                        "a chain must start with a snapshot (TXID 1)");
  }
  check_newest(*chain.back(), newest);
  auto s = std::make_shared<Snapshot>();
  s->page_size_ = newest.page_size;
  s->commit_ = newest.commit;
  s->txid_ = newest.max_txid;
  s->timestamp_ms_ = newest.timestamp_ms;
  s->epoch_ = epoch;
  s->post_apply_checksum_ = chain.back()->trailer.post_apply_checksum;
  s->database_id_ = newest.database_id;
  s->files_.reserve(chain.size());
  for (size_t i = 0; i < chain.size(); ++i) {
    if (i > 0) check_follows(*chain[i - 1], *chain[i]);
    s->apply(chain[i]);
  }
  s->pages_.truncate(s->commit_);
  s->check_complete(1);
  return s;
}

std::shared_ptr<const Snapshot> resolve_snapshot(const Snapshot& lazy) {
  auto s = std::make_shared<Snapshot>();
  s->txid_ = lazy.txid_;
  s->page_size_ = lazy.page_size_;
  s->commit_ = lazy.commit_;
  s->timestamp_ms_ = lazy.timestamp_ms_;
  s->epoch_ = lazy.epoch_;
  s->post_apply_checksum_ = lazy.post_apply_checksum_;
  s->database_id_ = lazy.database_id_;
  s->files_.reserve(lazy.files_.size());
  for (const auto& f : lazy.files_) {
    if (!f->lazy) {
      s->apply(f);
      continue;
    }
    auto whole = std::make_shared<FileIndex>(*f);
    whole->index.entries = f->lazy->entries();
    whole->lazy.reset();
    s->apply(whole);
  }
  s->pages_.truncate(s->commit_);
  s->check_complete(1);
  return s;
}

std::shared_ptr<const Snapshot> empty_snapshot(uint64_t epoch) {
  auto s = std::make_shared<Snapshot>();
  s->page_size_ = 4096;  // SQLITE_DEFAULT_PAGE_SIZE; nothing reads a page of it
  s->epoch_ = epoch;
  return s;
}

std::shared_ptr<const Snapshot> extend_snapshot(const Snapshot& base,
                                                std::vector<std::shared_ptr<const FileIndex>> newer,
                                                const ltx::Header& newest) {
  if (newer.empty()) {
    throw ltx::LtxError(ltx::LtxErrorKind::kInvalidArgument, "", "nothing to extend with");
  }
  check_newest(*newer.back(), newest);
  if (newest.page_size != base.page_size()) {
    throw ltx::LtxError(ltx::LtxErrorKind::kBadPageSize, newer.back()->file.key,
                        "page size " + std::to_string(newest.page_size) + " after " +
                            std::to_string(base.page_size()) + " in the same chain");
  }
  uint64_t id = base.database_id_;
  if (newest.is_encrypted()) {
    if (id != 0 && newest.database_id != id) {
      throw_other_database(newer.back()->file.key, newest.database_id, id);
    }
    id = newest.database_id;
  }
  auto s = std::make_shared<Snapshot>();
  s->page_size_ = base.page_size_;
  s->epoch_ = base.epoch_;
  s->database_id_ = id;
  s->files_ = base.files_;
  s->pages_ = PageMap(base.pages_);
  s->lazy_slots_ = base.lazy_slots_;
  const FileIndex* prev = base.files_.back().get();
  for (const auto& f : newer) {
    check_follows(*prev, *f);
    s->apply(f);
    prev = f.get();
  }
  s->commit_ = newest.commit;
  s->txid_ = newest.max_txid;
  s->timestamp_ms_ = newest.timestamp_ms;
  s->post_apply_checksum_ = newer.back()->trailer.post_apply_checksum;
  s->pages_.truncate(s->commit_);
  s->check_complete(base.commit_ + 1);
  return s;
}

}  // namespace ltxvfs::replica
