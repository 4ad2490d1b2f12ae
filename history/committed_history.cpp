#include "history/committed_history.h"

#include <algorithm>
#include <tuple>

#include "base/parallel_for.h"

namespace ltxvfs::history {
namespace {

bool named_at(const TakeoverPoint& p, const std::string& key) {
  return std::find(p.keys.begin(), p.keys.end(), key) != p.keys.end();
}

// A level-0 file across a takeover point that its owners did not name there. Only level 0:
// uploads are the only writes a fenced-out writer can still land (compactions are made from
// committed inputs and hold exactly their transactions; history/HISTORY.md argues it).
bool is_stray(const HeadRecord& head, const RemoteFile& f) {
  if (f.level != 0) return false;
  for (const auto& p : head.points) {
    if (f.min_txid <= p.txid && p.txid <= f.max_txid && !named_at(p, f.key)) return true;
  }
  return false;
}

}  // namespace

History committed_history(std::vector<RemoteFile> all, const std::optional<ObservedHead>& head) {
  History out;
  if (head) {
    out.head = head->record;
    out.head_garbage = !head->record.has_value();
    out.head_etag = head->etag;
  }
  if (!out.head) {
    out.files = std::move(all);
    return out;
  }
  for (auto& f : all) {
    if (f.max_txid > out.head->txid) {
      out.past_head.push_back(std::move(f));
    } else if (is_stray(*out.head, f)) {
      out.strays.push_back(std::move(f));
    } else {
      out.files.push_back(std::move(f));
    }
  }
  return out;
}

History read_history(storage::ObjectStore& store, storage::LayoutStyle layout) {
  std::optional<ObservedHead> head = read_head(store, layout);
  return committed_history(list_all_ltx_files(store, layout), head);
}

History read_history_side_by_side(storage::ObjectStore& store, storage::LayoutStyle layout) {
  std::optional<ObservedHead> head;
  std::vector<RemoteFile> all;
  base::parallel_for(2, 2, "ltx-head-list", [&](size_t i) {
    if (i == 0) {
      head = read_head(store, layout);
    } else {
      all = list_all_ltx_files(store, layout);
    }
  });
  return committed_history(std::move(all), head);
}

std::vector<RemoteFile> list_all_ltx_files(storage::ObjectStore& store, storage::LayoutStyle layout,
                                           bool keys_only) {
  const std::string prefix = storage::ltx_root_prefix(layout);
  std::vector<RemoteFile> out;
  for (const auto& obj : keys_only ? store.list_keys(prefix) : store.list(prefix)) {
    auto key = storage::parse_ltx_key(layout, obj.key);
    if (!key) continue;
    out.push_back(
        {key->level, key->min_txid, key->max_txid, obj.key, obj.size, obj.last_modified_ms});
  }
  std::sort(out.begin(), out.end(), [](const RemoteFile& a, const RemoteFile& b) {
    return std::tie(a.level, a.min_txid, a.max_txid) < std::tie(b.level, b.min_txid, b.max_txid);
  });
  return out;
}

std::vector<RemoteFile> list_ltx_files(storage::ObjectStore& store, storage::LayoutStyle layout) {
  return read_history(store, layout).files;
}

}  // namespace ltxvfs::history
