#include "history/open_listing.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace ltxvfs::history {
namespace {

// The level-1 files by min TXID, with the running maximum of their max TXIDs: the one holding a
// TXID, if any, is found by a binary search (level 1 may hold a fork's overlapping files).
class LevelOneIndex {
 public:
  explicit LevelOneIndex(const std::vector<RemoteFile>& files) {
    for (const auto& f : files) {
      if (f.level == 1) by_min_.push_back(&f);
    }
    std::sort(by_min_.begin(), by_min_.end(),
              [](const RemoteFile* a, const RemoteFile* b) { return a->min_txid < b->min_txid; });
    const RemoteFile* reach = nullptr;
    for (const RemoteFile* f : by_min_) {
      if (reach == nullptr || f->max_txid > reach->max_txid) reach = f;
      reaching_.push_back(reach);
    }
  }
  // A level-1 file holding `txid`, or nullptr.
  const RemoteFile* holding(uint64_t txid) const {
    const auto after =
        std::upper_bound(by_min_.begin(), by_min_.end(), txid,
                         [](uint64_t t, const RemoteFile* f) { return t < f->min_txid; });
    if (after == by_min_.begin()) return nullptr;
    const RemoteFile* f = reaching_[static_cast<size_t>(after - by_min_.begin()) - 1];
    return f->max_txid >= txid ? f : nullptr;
  }

 private:
  std::vector<const RemoteFile*> by_min_;
  std::vector<const RemoteFile*> reaching_;  // [i]: the furthest-reaching of by_min_[0..i]
};

// Asks the store for what its listing left out; a file gone meanwhile is left out (key emptied).
void date(storage::ObjectStore& store, RemoteFile& f) {
  if (f.last_modified_ms != 0) return;
  if (const auto info = store.head(f.key)) {
    f.size = info->size;
    f.last_modified_ms = info->last_modified_ms;
  } else {
    f.key.clear();
  }
}

void drop_gone(std::vector<RemoteFile>& files) {
  std::erase_if(files, [](const RemoteFile& f) { return f.key.empty(); });
}

void date_all(storage::ObjectStore& store, std::vector<RemoteFile>& files) {
  for (auto& f : files) date(store, f);
  drop_gone(files);
}

// The history's own files: what is held by a level-1 file gets its time (see the header).
void date_history(storage::ObjectStore& store, std::vector<RemoteFile>& files,
                  uint64_t dated_from_txid) {
  const auto maybe_held = [&](const RemoteFile& f) {
    return f.level == 0 && f.max_txid < dated_from_txid;
  };
  // Every other file first, the level-1 files among them; then the level-0 files they hold.
  for (auto& f : files) {
    if (!maybe_held(f)) date(store, f);
  }
  drop_gone(files);
  std::vector<std::pair<size_t, int64_t>> held;  // index, the holder's time
  {
    const LevelOneIndex level_one(files);
    for (size_t i = 0; i < files.size(); ++i) {
      if (!maybe_held(files[i]) || files[i].last_modified_ms != 0) continue;
      if (const RemoteFile* holder = level_one.holding(files[i].max_txid)) {
        held.emplace_back(i, holder->last_modified_ms);
      }
    }
  }
  for (const auto& [i, time] : held) files[i].last_modified_ms = time;
  date_all(store, files);  // level-0 files nothing holds yet
}

// The files past the head and the strays are all dated: there are few, and retention times the
// strays' deletion.
void date_uncommitted(storage::ObjectStore& store, History& h) {
  date_all(store, h.past_head);
  date_all(store, h.strays);
}

}  // namespace

History read_history_dated_from(storage::ObjectStore& store, storage::LayoutStyle layout,
                                uint64_t dated_from_txid) {
  History h = read_history_by_key(store, layout);
  date_history(store, h.files, dated_from_txid);
  date_uncommitted(store, h);
  return h;
}

History read_history_by_key(storage::ObjectStore& store, storage::LayoutStyle layout) {
  const std::optional<ObservedHead> head = read_head(store, layout);
  return committed_history(list_all_ltx_files(store, layout, /*keys_only=*/true), head);
}

void date_files_from(storage::ObjectStore& store, std::vector<RemoteFile>& files,
                     uint64_t from_txid) {
  for (auto& f : files) {
    if (f.max_txid >= from_txid) date(store, f);
  }
  drop_gone(files);
}

}  // namespace ltxvfs::history
