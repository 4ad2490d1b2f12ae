#include "history/head_record.h"

#include <algorithm>
#include <array>
#include <exception>
#include <nlohmann/json.hpp>
#include <span>

#include "ltx/page_frame.h"
#include "ltx/page_index.h"

namespace ltxvfs::history {
namespace {

constexpr uint64_t kMaxTxid = uint64_t{1} << 63;  // as state.json: SQLite's int64 and LTX's range

std::optional<uint64_t> txid_of(const nlohmann::json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
  const auto v = it->get<uint64_t>();
  if (v >= kMaxTxid) return std::nullopt;
  return v;
}

// A [level, min TXID, max TXID, size, bytes] array, its last element as tail_bytes; nullopt when
// it is not one (a hint in another shape is skipped, not an error).
std::optional<TailHint> hint_of(const nlohmann::json& t) {
  if (!t.is_array() || t.size() != 5) return std::nullopt;
  for (const auto& v : t) {
    if (!v.is_number_unsigned()) return std::nullopt;
  }
  if (t[0].get<uint64_t>() > storage::kSnapshotLevel) return std::nullopt;
  return TailHint{t[0].get<uint32_t>(), t[1].get<uint64_t>(), t[2].get<uint64_t>(),
                  t[3].get<uint64_t>(), t[4].get<uint64_t>()};
}

}  // namespace

std::string HeadRecord::to_json() const {
  nlohmann::ordered_json j;
  j["txid"] = txid;
  j["generation"] = generation;
  j["owner"] = owner;
  j["points"] = nlohmann::ordered_json::array();
  for (const auto& p : points) {
    nlohmann::ordered_json point;
    point["txid"] = p.txid;
    point["keys"] = p.keys;
    j["points"].push_back(std::move(point));
  }
  if (!tails.empty()) {
    j["tails"] = nlohmann::ordered_json::array();
    for (const auto& t : tails) {
      j["tails"].push_back({t.level, t.min_txid, t.max_txid, t.size, t.tail_bytes});
    }
  }
  if (page1) {
    j["page1"] = {page1->level, page1->min_txid, page1->max_txid, page1->size, page1->page1_end};
  }
  return j.dump();
}

std::optional<HeadRecord> HeadRecord::from_json(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  HeadRecord r;
  const auto txid = txid_of(j, "txid");
  const auto generation = txid_of(j, "generation");
  const auto owner = j.find("owner");
  const auto points = j.find("points");
  if (!txid || !generation || owner == j.end() || !owner->is_string() || points == j.end() ||
      !points->is_array()) {
    return std::nullopt;
  }
  r.txid = *txid;
  r.generation = *generation;
  r.owner = owner->get<std::string>();
  for (const auto& p : *points) {
    if (!p.is_object()) return std::nullopt;
    const auto at = txid_of(p, "txid");
    const auto keys = p.find("keys");
    if (!at || *at == 0 || keys == p.end() || !keys->is_array()) return std::nullopt;
    TakeoverPoint point{*at, {}};
    for (const auto& k : *keys) {
      if (!k.is_string()) return std::nullopt;
      point.keys.push_back(k.get<std::string>());
    }
    r.points.push_back(std::move(point));
  }
  // Hints only: a malformed one is skipped, never a reason to treat the head as garbage (that
  // would stop fencing on a field no fencing depends on).
  const auto tails = j.find("tails");
  if (tails != j.end() && tails->is_array()) {
    for (const auto& t : *tails) {
      if (auto h = hint_of(t)) r.add_tail(*h);
    }
  }
  const auto page1 = j.find("page1");
  if (page1 != j.end()) {
    if (auto h = hint_of(*page1);
        h && h->tail_bytes > ltx::kHeaderSize && h->tail_bytes <= h->size) {
      r.page1 = TailHint{h->level, h->min_txid, h->max_txid, h->size, 0, h->tail_bytes};
    }
  }
  return r;
}

void HeadRecord::note_page1(const TailHint& hint) {
  if (hint.page1_end == 0) return;
  if (page1 && (hint.max_txid < page1->max_txid ||
                (hint.max_txid == page1->max_txid && hint.level < page1->level))) {
    return;
  }
  page1 = hint;
  page1->tail_bytes = 0;
}

void HeadRecord::add_tail(const TailHint& hint) {
  tails.push_back(hint);
  // Full: first the oldest hint whose TXIDs a file of a higher level covers (a replica's plan
  // prefers that file), else the oldest. So a snapshot's hint, the one whose index is too long for
  // the default tail read, outlives the level-0 churn after it.
  while (tails.size() > kMaxTails) {
    const auto covered = std::find_if(tails.begin(), tails.end(), [&](const TailHint& h) {
      return std::any_of(tails.begin(), tails.end(), [&](const TailHint& o) {
        return o.level > h.level && o.min_txid <= h.min_txid && h.max_txid <= o.max_txid;
      });
    });
    tails.erase(covered != tails.end() ? covered : tails.begin());
  }
}

uint64_t HeadRecord::tail_bytes(uint32_t level, uint64_t min_txid, uint64_t max_txid,
                                uint64_t size) const {
  for (auto it = tails.rbegin(); it != tails.rend(); ++it) {
    if (it->level == level && it->min_txid == min_txid && it->max_txid == max_txid &&
        it->size == size) {
      return it->tail_bytes;
    }
  }
  return 0;
}

IndexHints index_hints_of(const storage::BodySource& body) {
  IndexHints hints;
  std::array<uint8_t, ltx::kMinTailSize> end{};
  if (body.size() < end.size()) return hints;
  try {
    body.read_at(body.size() - end.size(), end);
    hints.tail_bytes = ltx::index_tail_bytes(end, body.size());
    // The index's first entries (after the end marker): page 1 first, if the file holds it,
    // then the frames that follow it (kFrontFrameBytes). An entry is three varints of at most
    // 10 bytes each.
    const uint64_t index_at = body.size() - hints.tail_bytes + ltx::kPageHeaderSize;
    if (hints.tail_bytes == 0 || index_at >= body.size()) return hints;
    std::vector<uint8_t> front(std::min<uint64_t>(30 * (kFrontFrames + 1), body.size() - index_at));
    body.read_at(index_at, front);
    uint64_t limit = 0;
    for (size_t at = 0, n = 0; at < front.size() && n <= kFrontFrames; ++n) {
      // Throws when `front` ends inside the entry: the hint ends at the entries before it.
      const ltx::IndexElement el =
          ltx::read_index_element(std::span(front).subspan(at), /*input_ends_file=*/false);
      const ltx::PageIndexEntry& e = el.entry;
      if (el.terminator || e.size > body.size() - std::min(e.offset, body.size())) break;
      if (n == 0) {
        if (e.pgno != 1 || e.offset != ltx::kHeaderSize) break;
        limit = e.offset + e.size + kFrontFrameBytes;
      } else if (e.offset != hints.page1_end || e.offset + e.size > limit) {
        break;  // frames are contiguous; a gap is no file of this writer's
      }
      hints.page1_end = e.offset + e.size;
      at += el.length;
    }
  } catch (const std::exception&) {
    // No more hints than were read.
  }
  return hints;
}

std::string HeadRecord::describe() const {
  return "TXID " + std::to_string(txid) + ", owner " + owner + " (generation " +
         std::to_string(generation) + ")";
}

std::optional<ObservedHead> read_head(storage::ObjectStore& store, storage::LayoutStyle layout) {
  storage::GetResult got;
  try {
    got = store.get(storage::head_key(layout));
  } catch (const storage::StoreError& e) {
    if (e.kind() == storage::StoreErrorKind::kNotFound) return std::nullopt;
    throw;
  }
  const std::string_view text(reinterpret_cast<const char*>(got.body.data()), got.body.size());
  return ObservedHead{HeadRecord::from_json(text), got.etag};
}

}  // namespace ltxvfs::history
