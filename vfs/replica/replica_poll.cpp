// The replica following its primary: the poller's task (vfs/replica/replica.h, "poller").
// Split from replica.cpp, which keeps opening, planning, reads and time travel.
#include <algorithm>
#include <set>

#include "base/time_spec.h"
#include "vfs/replica/replica.h"

namespace ltxvfs::replica {

using base::now_ms;

bool Replica::poll_level0(const std::shared_ptr<const Snapshot>& cur) {
  const uint64_t txid = cur->txid();
  // The head first: unchanged means nothing was committed since the last poll, and no listing is
  // needed (issue 18: one LIST per poll was ~86,000 a day for an idle replica).
  const HeadWatch::Seen seen = head_->look();
  if (seen == HeadWatch::Seen::kUnchanged) return false;
  if (const auto head_txid = head_->txid()) {
    saw_newest(*head_txid);
    if (*head_txid <= txid) return true;
  }
  // Keys sort by min TXID (fixed-width hex): everything after "<txid>-ffff…" starts later.
  const auto listed = store_->list(storage::level_prefix(layout_, 0),
                                   storage::ltx_key(layout_, 0, txid, UINT64_MAX));
  std::vector<history::RemoteFile> found, bad;
  for (const auto& obj : listed) {
    auto k = storage::parse_ltx_key(layout_, obj.key);
    if (!k || k->level != 0 || k->min_txid <= txid) continue;
    const history::RemoteFile f{0,       k->min_txid, k->max_txid,
                                obj.key, obj.size,    obj.last_modified_ms};
    (bad_.find(f) ? bad : found).push_back(f);
  }
  // Only what the head commits: a file past it, or a fenced-out writer's stray, is no history.
  found = head_->committed(std::move(found));
  if (!head_->txid()) {
    for (const auto& f : found) saw_newest(f.max_txid);
  }
  // A bad object where the chain ends holds the replica there; a full listing (every
  // kFullCheckEvery polls) looks for another way on.
  auto hold_at_bad = [&](uint64_t end) {
    if (std::any_of(bad.begin(), bad.end(), [&](const auto& f) { return f.min_txid == end + 1; }))
      hold(hold_at(end, bad, bad_.all(), source_));
  };
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.min_txid != b.min_txid ? a.min_txid < b.min_txid : a.max_txid > b.max_txid;
  });
  if (txid == 0 && !found.empty()) {
    // The empty database of a replica opened before its primary's first upload: plan anew from
    // the snapshot (the page size is the primary's, not the empty database's default).
    replan();
    return true;
  }
  std::vector<history::RemoteFile> chain;
  uint64_t next = txid + 1;
  for (const auto& f : found) {
    if (f.min_txid == next) {
      chain.push_back(f);
      next = f.max_txid + 1;
    }
  }
  if (chain.empty()) {
    // Files exist but none continues our TXID: a gap, or compaction moved the next ones to a
    // higher level. Only a full listing can tell.
    if (!found.empty()) {
      full_check(cur);
    } else {
      hold_at_bad(txid);
    }
    return true;
  }
  auto snap = extend(cur, chain);
  if (!snap) {
    replan();
    return true;
  }
  const uint64_t end = snap->txid();
  publish(std::move(snap), false);
  hold_at_bad(end);
  return true;
}

void Replica::full_check(const std::shared_ptr<const Snapshot>& cur) {
  head_->recheck();  // a location that had no head may have one now
  // Caught up with a head that has not moved, nothing set aside, nothing waited for: the listing
  // could only say what the head says (an idle replica's one LIST every 30 polls, issue 18).
  // Objects compacted away under the snapshot are found by the reads that need them (lost_).
  if (head_->look() == HeadWatch::Seen::kUnchanged && head_->txid() == cur->txid() &&
      bad_.all().empty()) {
    return;
  }
  const auto listed = head_->committed(history::list_all_ltx_files(*store_, layout_));
  bad_.forget_unlisted(listed);
  auto files = listed;
  bad_.remove_from(files);
  const uint64_t newest = history::RestoreGraph(files).newest();
  saw_newest(head_->txid().value_or(newest));
  hold(hold_at(newest, listed, bad_.all(), source_));
  std::set<std::string> present;
  for (const auto& f : files) present.insert(f.key);
  const bool intact = std::all_of(cur->files().begin(), cur->files().end(),
                                  [&](const auto& f) { return present.count(f->file.key) != 0; });
  if (newest < cur->txid() || !intact) {
    if (newest < cur->txid()) {
      log(base::LogSeverity::kWarn,
          "the replica " + source_ + " went back from TXID " + std::to_string(cur->txid()) +
              " to " + std::to_string(newest) + " (history replaced?); following the new history");
    }
    if (newest == 0) return;  // nothing restorable: keep serving what we have
    replan();
    return;
  }
  if (newest == cur->txid()) return;
  if (cur->txid() == 0) {  // the empty database (poll_level0 says why)
    replan();
    return;
  }
  // Continue from our TXID through any level: a stand-in "snapshot" ending at our TXID lets the
  // restore planner pick the shortest continuation (compacted files included).
  std::vector<history::RemoteFile> after;
  for (const auto& f : files) {
    if (f.min_txid > cur->txid()) after.push_back(f);
  }
  history::RemoteFile here;
  here.min_txid = 1;
  here.max_txid = cur->txid();
  after.push_back(here);
  std::vector<history::RemoteFile> chain;
  try {
    chain = history::plan_restore(after, newest);
    chain.erase(chain.begin());
  } catch (const history::RestoreError&) {
    // Only files starting before our TXID lead on (a compaction spanning it): start over.
    chain.clear();
  }
  auto snap = chain.empty() ? nullptr : extend(cur, chain);
  if (!snap) {
    replan();
    return;
  }
  publish(std::move(snap), false);
}

uint64_t Replica::replan() {
  Position pos = position();
  auto snap = plan(pos, ++epoch_);
  const uint64_t txid = snap->txid();
  publish(std::move(snap), true);
  return txid;
}

void Replica::replan_lost() {
  const uint64_t txid = replan();
  log(base::LogSeverity::kInfo, "replica of " + source_ + " re-planned at TXID " +
                                    std::to_string(txid) + " after losing an object");
}

bool Replica::poll() {
  bool changed = true;
  try {
    base::MutexLock plan_lock(plan_mu_);
    bool lost;
    Position pos;
    std::shared_ptr<const Snapshot> cur;
    {
      base::MutexLock lock(mu_);
      lost = lost_;
      pos = position_;
      cur = current_;
      ++polls_;
    }
    for (int round = 0;; ++round) {
      try {
        if (lost) {
          replan_lost();
        } else if (pos.kind == Position::Kind::kLatest) {
          if (++polls_since_full_ >= kFullCheckEvery) {
            polls_since_full_ = 0;
            full_check(cur);
            changed = current() != cur;  // a routine look that found nothing is no change
          } else {
            changed = poll_level0(cur);
          }
        }
        break;
      } catch (const history::BadFileError&) {
        // Set aside (extend() did): poll again without it, a full listing first.
        if (round == 3) throw;
      }
    }
    base::MutexLock lock(mu_);
    last_poll_ok_ms_ = now_ms();
  } catch (const std::exception& e) {
    base::MutexLock lock(mu_);
    ++poll_errors_;
    // The next poll lists everything: whatever went wrong may have been a file compacted away.
    polls_since_full_ = kFullCheckEvery;
    if (last_error_ != e.what()) {
      log(base::LogSeverity::kWarn, "replica " + source_ + ": poll failed: " + e.what() +
                                        " (still serving TXID " +
                                        std::to_string(current_ ? current_->txid() : 0) + ")");
    }
    last_error_ = e.what();
  }
  load_lazy_indexes();
  return changed;
}

void Replica::saw_newest(uint64_t txid) {
  base::MutexLock lock(mu_);
  newest_seen_ = std::max(newest_seen_, txid);
  if (newest_seen_ > current_->txid() && behind_since_ms_ < 0) behind_since_ms_ = now_ms();
}

}  // namespace ltxvfs::replica
