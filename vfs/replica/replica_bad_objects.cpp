// Replica: what it does about bad objects (bad_objects.h) — setting them aside, saying what holds
// the replica back, and serving a damaged page from another chain to the same TXID. The rest of
// the class is in replica.cpp.
#include "ltx/error.h"
#include "vfs/replica/replica.h"

namespace ltxvfs::replica {
namespace {

// Two snapshots at one TXID show the same database unless their checksums (when both carry one)
// say they belong to different histories.
bool same_state(const Snapshot& a, const Snapshot& b) {
  return a.txid() == b.txid() && (a.post_apply_checksum() == b.post_apply_checksum() ||
                                  a.post_apply_checksum() == 0 || b.post_apply_checksum() == 0);
}

// "ltx/0/...ltx: file is 100 bytes" -> "file is 100 bytes": messages name the object already.
std::string without_key(const std::string& what, const std::string& key) {
  const std::string prefix = key + ": ";
  return what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
}

}  // namespace

void Replica::set_aside(const std::vector<history::RemoteFile>& candidates,
                        const history::BadFileError& e) {
  history::RemoteFile file;
  file.key = e.key;
  for (const auto& f : candidates) {
    if (f.key == e.key) file = f;
  }
  const BadObject bad = classify_bad_object(*store_, file, without_key(e.what(), e.key));
  if (bad_.add(bad)) {
    log(base::LogSeverity::kWarn, "replica: " + describe_bad_object(bad, source_));
  }
  // The next poll lists everything: another chain (a compacted file) may lead past it.
  polls_since_full_ = kFullCheckEvery;
}

void Replica::hold(const Hold& h) {
  base::MutexLock lock(mu_);
  if (h.after != 0 && (h.after != waiting_after_ || h.reason != waiting_reason_)) {
    log(base::LogSeverity::kWarn,
        "replica " + source_ + " waits at TXID " + std::to_string(h.after) + ": " + h.brief);
  }
  waiting_after_ = h.after;
  waiting_reason_ = h.reason;
}

std::string Replica::bad_note() const {
  const auto bad = bad_.all();
  if (bad.empty()) return "";
  std::string s = " (set aside as bad objects:";
  for (const auto& b : bad) s += " " + b.file.key + ": " + b.why + ";";
  s.back() = ')';
  return s;
}

std::shared_ptr<const Snapshot> Replica::same_state_without(const Snapshot& snap,
                                                            const std::string& key) {
  auto cur = current();
  if (cur.get() != &snap && same_state(*cur, snap) && !cur->uses(key)) return cur;
  Position pos;
  pos.kind = Position::Kind::kTxid;
  pos.txid = snap.txid();
  std::shared_ptr<const Snapshot> alt;
  try {
    // The same epoch: the same state, so SQLite may keep its page cache.
    alt = plan(pos, snap.epoch());
  } catch (const ReplicaError&) {
    return nullptr;  // no chain reaches that TXID without it
  }
  if (alt->uses(key) || !same_state(*alt, snap)) return nullptr;
  return alt;
}

std::shared_ptr<const Snapshot> Replica::around_damaged(const Snapshot& snap,
                                                        const history::RemoteFile& file,
                                                        const std::string& why) {
  base::MutexLock plan_lock(plan_mu_);
  BadObject bad;
  bad.file = file;
  bad.why = without_key(why, file.key);
  auto corrupt = [&](const BadObject& b) {
    return ReplicaError(ReplicaErrorKind::kCorrupt, "replica snapshot at TXID " +
                                                        std::to_string(snap.txid()) + ": " +
                                                        describe_bad_object(b, source_));
  };
  if (auto known = bad_.find(file); known && known->unavoidable) throw corrupt(*known);
  const bool first = bad_.add(bad);
  auto alt = same_state_without(snap, file.key);
  bool unavoidable = !alt;
  // The current snapshot moves to a chain without it too, at its own TXID (never back).
  const auto cur = current();
  if (cur->uses(file.key)) {
    auto moved = alt && same_state(*cur, *alt) ? alt : same_state_without(*cur, file.key);
    if (moved) {
      publish(moved, true);
    } else {
      unavoidable = true;
    }
  }
  if (unavoidable) {
    // Plans keep it: dropping it would take the replica back to an older TXID, or nowhere.
    bad_.mark_unavoidable(file);
    bad.unavoidable = true;
  }
  if (first || unavoidable) {
    log(base::LogSeverity::kWarn, "replica: " + describe_bad_object(bad, source_));
  }
  if (!alt) throw corrupt(bad);
  return alt;
}

}  // namespace ltxvfs::replica
