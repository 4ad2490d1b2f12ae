#include "history/head_record.h"

#include <algorithm>
#include <array>
#include <exception>
#include <nlohmann/json.hpp>
#include <span>

#include "ltx/header.h"

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

// A [pgno, level, min TXID, max TXID, size, offset, frame size] array; nullopt when it is not one
// or cannot locate a frame in that object.
std::optional<RootHint> root_hint_of(const nlohmann::json& t) {
  if (!t.is_array() || t.size() != 7) return std::nullopt;
  for (const auto& v : t) {
    if (!v.is_number_unsigned()) return std::nullopt;
  }
  const uint64_t pgno = t[0].get<uint64_t>();
  if (pgno < 2 || pgno > UINT32_MAX || t[1].get<uint64_t>() > storage::kSnapshotLevel) {
    return std::nullopt;
  }
  RootHint h{static_cast<uint32_t>(pgno), t[1].get<uint32_t>(), t[2].get<uint64_t>(),
             t[3].get<uint64_t>(),        t[4].get<uint64_t>(), t[5].get<uint64_t>(),
             t[6].get<uint64_t>()};
  if (h.known() && !h.frame_in_object()) return std::nullopt;
  return h;
}

// Gives the tail among `tails` that `d` ([level, min TXID, max TXID, size, [pgno, index offset,
// frame offset, ...]]) names its directory; a `d` of another shape, or whose marks cannot be a
// directory of that tail's index, is skipped.
void attach_directory(std::vector<TailHint>& tails, const nlohmann::json& d) {
  if (!d.is_array() || d.size() != 5 || !d[4].is_array() || d[4].empty() || d[4].size() % 3 != 0) {
    return;
  }
  for (size_t i = 0; i < 4; ++i) {
    if (!d[i].is_number_unsigned()) return;
  }
  for (const auto& v : d[4]) {
    if (!v.is_number_unsigned()) return;
  }
  if (d[0].get<uint64_t>() > storage::kSnapshotLevel) return;
  TailHint file;
  file.level = d[0].get<uint32_t>();
  file.min_txid = d[1].get<uint64_t>();
  file.max_txid = d[2].get<uint64_t>();
  file.size = d[3].get<uint64_t>();
  for (auto& t : tails) {
    if (!same_object(t, file)) continue;
    std::vector<ltx::IndexMark> marks;
    const auto& flat = d[4];
    for (size_t i = 0; i + 2 < flat.size(); i += 3) {
      const uint64_t pgno = flat[i].get<uint64_t>();
      if (pgno > UINT32_MAX) return;
      marks.push_back(
          {static_cast<uint32_t>(pgno), flat[i + 1].get<uint64_t>(), flat[i + 2].get<uint64_t>()});
    }
    if (ltx::directory_fits(marks, ltx::index_area(t.size, t.tail_bytes))) {
      t.directory = std::move(marks);
    }
    return;
  }
}

// Whether a file of `level` ending at `max_txid` holds a newer version of a page than the one at
// (`old_level`, `old_max`): later TXIDs, or the same at a higher level (a replica's plan prefers
// that file).
bool newer(uint32_t level, uint64_t max_txid, uint32_t old_level, uint64_t old_max) {
  return max_txid > old_max || (max_txid == old_max && level > old_level);
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
    for (const auto& t : tails) {
      if (t.directory.empty()) continue;
      auto marks = nlohmann::ordered_json::array();
      for (const auto& m : t.directory) {
        marks.push_back(m.pgno);
        marks.push_back(m.index_offset);
        marks.push_back(m.frame_offset);
      }
      if (!j.contains("dirs")) j["dirs"] = nlohmann::ordered_json::array();
      j["dirs"].push_back({t.level, t.min_txid, t.max_txid, t.size, std::move(marks)});
    }
  }
  if (page1) {
    j["page1"] = {page1->level, page1->min_txid, page1->max_txid, page1->size, page1->page1_end};
  }
  if (!roots.empty()) {
    j["roots"] = nlohmann::ordered_json::array();
    for (const auto& r : roots) {
      j["roots"].push_back(
          {r.pgno, r.level, r.min_txid, r.max_txid, r.size, r.offset, r.frame_size});
    }
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
    // A head this library wrote holds at most kMaxTails: of a longer array (bucket content, not
    // ours), the newest kMaxTails only, so that reading it costs what reading ours does.
    const size_t skip = tails->size() > kMaxTails ? tails->size() - kMaxTails : 0;
    for (size_t i = skip; i < tails->size(); ++i) {
      if (auto h = hint_of((*tails)[i])) r.add_tail(*h);
    }
  }
  const auto dirs = j.find("dirs");
  if (dirs != j.end() && dirs->is_array()) {
    for (const auto& d : *dirs) attach_directory(r.tails, d);
  }
  const auto page1 = j.find("page1");
  if (page1 != j.end()) {
    if (auto h = hint_of(*page1);
        h && h->tail_bytes > ltx::kHeaderSize && h->tail_bytes <= h->size) {
      r.page1 = TailHint{h->level, h->min_txid, h->max_txid, h->size, 0, h->tail_bytes};
    }
  }
  const auto roots = j.find("roots");
  if (roots != j.end() && roots->is_array()) {
    for (const auto& t : *roots) {
      const auto h = root_hint_of(t);
      if (!h || r.roots.size() == kMaxRoots) continue;
      const bool again = std::any_of(r.roots.begin(), r.roots.end(),
                                     [&](const RootHint& o) { return o.pgno == h->pgno; });
      if (!again) r.roots.push_back(*h);
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
  page1->directory.clear();
}

void HeadRecord::note_roots(const TailHint& file, const IndexHints& hints) {
  if (hints.schema_roots && page1 && same_object(*page1, file)) {
    std::vector<RootHint> next;
    for (uint32_t pgno : *hints.schema_roots) {
      if (next.size() == kMaxRoots) break;
      if (pgno < 2 || std::any_of(next.begin(), next.end(),
                                  [&](const RootHint& r) { return r.pgno == pgno; })) {
        continue;
      }
      const auto kept = std::find_if(roots.begin(), roots.end(),
                                     [&](const RootHint& r) { return r.pgno == pgno; });
      next.push_back(kept != roots.end() ? *kept : RootHint{pgno});
    }
    roots = std::move(next);
  }
  for (const FrameAt& f : hints.frames) {
    const RootHint found{f.pgno,    file.level, file.min_txid, file.max_txid,
                         file.size, f.offset,   f.size};
    if (!found.known() || !found.frame_in_object()) continue;
    for (RootHint& r : roots) {
      if (r.pgno == f.pgno &&
          (!r.known() || newer(file.level, file.max_txid, r.level, r.max_txid))) {
        r = found;
      }
    }
  }
}

bool RootHint::frame_in_object() const {
  return offset >= ltx::kHeaderSize && offset <= size && frame_size <= size - offset;
}

std::vector<uint32_t> HeadRecord::root_pgnos() const {
  std::vector<uint32_t> out;
  for (const auto& r : roots) out.push_back(r.pgno);
  return out;
}

void HeadRecord::note_file(const TailHint& file, const IndexHints& hints) {
  if (file.page1_end <= file.size) note_page1(file);
  note_roots(file, hints);
  if (file.tail_bytes == 0 || file.tail_bytes > file.size) return;
  if (tail_bytes(file) != file.tail_bytes) add_tail(file);
}

void HeadRecord::add_tail(const TailHint& hint) {
  tails.push_back(hint);
  // First the oldest hints whose TXIDs a file of a higher level covers (a replica's plan prefers
  // that file), then, beyond kMaxTails, the oldest. So a snapshot's hint, the one whose index is
  // too long for the default tail read, outlives the level-0 churn after it, and every file of a
  // long chain not compacted yet keeps its hint.
  const auto oldest_covered = [&] {
    return std::find_if(tails.begin(), tails.end(), [&](const TailHint& h) {
      return std::any_of(tails.begin(), tails.end(), [&](const TailHint& o) {
        return o.level > h.level && o.min_txid <= h.min_txid && h.max_txid <= o.max_txid;
      });
    });
  };
  while (tails.size() > kKeptTails) {
    const auto covered = oldest_covered();
    if (covered == tails.end()) break;
    tails.erase(covered);
  }
  while (tails.size() > kMaxTails) tails.erase(tails.begin());
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
