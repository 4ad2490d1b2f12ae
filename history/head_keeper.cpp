#include "history/head_keeper.h"

#include <algorithm>
#include <span>

#include "history/open_listing.h"

namespace ltxvfs::history {
namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

constexpr int kTakeAttempts = 5;

// The conditional PUT of `next` as head.json (If-Match of `if_match`, else If-None-Match): its
// etag, or nullopt when the condition failed. Throws the store's other errors.
std::optional<std::string> put_head(storage::ObjectStore& store, storage::LayoutStyle layout,
                                    const HeadRecord& next,
                                    const std::optional<std::string>& if_match) {
  storage::PutOptions conditions;
  if (if_match) {
    conditions.if_match = *if_match;
  } else {
    conditions.if_none_match = true;
  }
  try {
    return store.put(storage::head_key(layout), bytes_of(next.to_json()), conditions).etag;
  } catch (const storage::StoreError& e) {
    // 404: an If-Match on an object deleted meanwhile (directories say so).
    if (e.kind() == storage::StoreErrorKind::kPreconditionFailed ||
        (if_match && e.kind() == storage::StoreErrorKind::kNotFound)) {
      return std::nullopt;
    }
    throw;
  }
}

}  // namespace

HeadKeeper::HeadKeeper(storage::ObjectStore& store, storage::LayoutStyle layout,
                       std::function<HeadIdentity()> identity)
    : store_(store), layout_(layout), identity_(std::move(identity)) {}

void HeadKeeper::wrote(const HeadRecord& next, const std::string& etag) {
  record_ = next;
  etag_ = etag;
  base::MutexLock lock(noted_mu_);
  roots_ = record_.root_pgnos();
}

bool HeadKeeper::write(const HeadRecord& next, const std::optional<std::string>& if_match) {
  const auto etag = put_head(store_, layout_, next, if_match);
  if (etag) wrote(next, *etag);
  return etag.has_value();
}

void HeadKeeper::note_tail(const RemoteFile& file, const IndexHints& hints) {
  if (!hints.says_something()) return;
  base::MutexLock lock(noted_mu_);
  noted_.push_back({tail_hint_of(file, hints), hints});
  if (noted_.size() > HeadRecord::kMaxTails) noted_.erase(noted_.begin());
}

std::vector<HeadKeeper::Noted> HeadKeeper::take_noted() {
  std::vector<Noted> noted;
  base::MutexLock lock(noted_mu_);
  noted.swap(noted_);
  return noted;
}

void HeadKeeper::restore_noted(std::vector<Noted> noted) {
  // A write that failed: its hints go into the next one, before any noted since.
  base::MutexLock lock(noted_mu_);
  noted.insert(noted.end(), noted_.begin(), noted_.end());
  noted_ = std::move(noted);
  if (noted_.size() > HeadRecord::kMaxTails) {
    noted_.erase(noted_.begin(), noted_.end() - static_cast<std::ptrdiff_t>(HeadRecord::kMaxTails));
  }
}

bool HeadKeeper::taken() const {
  base::MutexLock lock(mu_);
  return etag_.has_value();
}

uint64_t HeadKeeper::txid() const {
  base::MutexLock lock(mu_);
  return record_.txid;
}

std::vector<uint32_t> HeadKeeper::root_pgnos() const {
  base::MutexLock lock(noted_mu_);
  return roots_;
}

uint64_t HeadKeeper::take(const std::function<uint64_t(const History&)>& decide, bool by_key) {
  base::MutexLock lock(mu_);
  if (!lost_.empty()) throw HeadLost(lost_);
  for (int attempt = 0; attempt < kTakeAttempts; ++attempt) {
    const History history =
        by_key ? read_history_by_key(store_, layout_) : read_history(store_, layout_);
    const uint64_t txid = decide(history);
    const HeadIdentity me = identity_();
    HeadRecord next = history.head.value_or(HeadRecord{});
    next.txid = txid;
    next.owner = me.owner;
    next.generation = me.generation;
    // A point at txid + 1, unless the newest already is (a takeover before any upload).
    if (next.points.empty() || next.points.back().txid != txid + 1) {
      next.points.push_back({txid + 1, {}});
    }
    if (next.points.size() > HeadRecord::kMaxPoints) {
      next.points.erase(next.points.begin(),
                        next.points.end() - static_cast<std::ptrdiff_t>(HeadRecord::kMaxPoints));
    }
    // Garbage at head.json is replaced like a head (If-Match of its etag).
    const bool exists = history.head || history.head_garbage;
    if (write(next, exists ? std::optional<std::string>(history.head_etag) : std::nullopt)) {
      return txid;
    }
  }
  throw HeadLost(store_.describe() + "/" + storage::head_key(layout_) + " changed " +
                 std::to_string(kTakeAttempts) +
                 " times while this writer was taking it: another writer is uploading there");
}

void HeadKeeper::advance(const RemoteFile& file, const IndexHints& file_hints) {
  base::MutexLock lock(mu_);
  if (!lost_.empty()) throw HeadLost(lost_);
  if (!etag_) throw std::logic_error("HeadKeeper::advance before take");
  std::vector<Noted> noted = take_noted();
  noted.push_back({tail_hint_of(file, file_hints), file_hints});
  try {
    write_changed([&](HeadRecord& next) {
      next.txid = std::max(next.txid, file.max_txid);
      next.generation = identity_().generation;
      for (auto& p : next.points) {
        if (file.level != 0 || file.min_txid > p.txid || p.txid > file.max_txid) continue;
        if (std::find(p.keys.begin(), p.keys.end(), file.key) != p.keys.end()) continue;
        p.keys.push_back(file.key);
        if (p.keys.size() > HeadRecord::kMaxKeysPerPoint) p.keys.erase(p.keys.begin());
      }
      for (const auto& [h, hints] : noted) next.note_file(h, hints);
    });
  } catch (const storage::StoreError&) {
    noted.pop_back();  // the file's own hints come with its retried advance
    restore_noted(std::move(noted));
    throw;
  }
}

void HeadKeeper::publish_noted() {
  base::MutexLock lock(mu_);
  if (!lost_.empty() || !etag_) return;
  std::vector<Noted> noted = take_noted();
  if (noted.empty()) return;
  const auto note = [&](HeadRecord& head) {
    for (const auto& [h, hints] : noted) head.note_file(h, hints);
  };
  HeadRecord next = record_;
  note(next);
  if (next.to_json() == record_.to_json()) return;  // nothing a replica would read differently
  try {
    write_changed(note);
  } catch (const storage::StoreError&) {
    restore_noted(std::move(noted));
    throw;
  }
}

void HeadKeeper::write_changed(const std::function<void(HeadRecord&)>& change) {
  for (int attempt = 0; attempt < kTakeAttempts; ++attempt) {
    HeadRecord next = record_;
    change(next);
    if (write(next, etag_)) return;
    // The condition failed. Our own write may have landed with its answer lost (the store's
    // retry then fails the condition): the head then is exactly what we wrote.
    const auto seen = read_head(store_, layout_);
    if (seen && seen->record && seen->record->to_json() == next.to_json()) {
      wrote(next, seen->etag);
      return;
    }
    // Only its hints changed (`ltxvfs compact` recorded its outputs'): still ours; again over it.
    if (seen && seen->record && seen->record->same_tenure(record_)) {
      wrote(*seen->record, seen->etag);
      continue;
    }
    const std::string who = seen && seen->record ? seen->record->describe()
                                                 : std::string(seen ? "not a head" : "deleted");
    lost_ = store_.describe() + "/" + storage::head_key(layout_) +
            " was written by another writer (now " + who +
            "): it owns this replica's history, and this writer's uploads no longer count";
    throw HeadLost(lost_);
  }
  lost_ = store_.describe() + "/" + storage::head_key(layout_) + " changed " +
          std::to_string(kTakeAttempts) +
          " times while this writer was writing it: another process keeps writing it";
  throw HeadLost(lost_);
}

bool record_hints_in_head(storage::ObjectStore& store, storage::LayoutStyle layout,
                          const std::vector<std::pair<RemoteFile, IndexHints>>& written) {
  const auto seen = read_head(store, layout);
  if (!seen || !seen->record) return false;
  HeadRecord next = *seen->record;
  for (const auto& [file, hints] : written) {
    next.note_written(file, hints);
  }
  if (next.to_json() == seen->record->to_json()) return false;
  return put_head(store, layout, next, seen->etag).has_value();
}

}  // namespace ltxvfs::history
