#include "vfs/replica/replica.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <set>

#include "base/time_spec.h"
#include "history/restorer.h"
#include "ltx/error.h"
#include "ltx/lock_page.h"
#include "storage/store_factory.h"
#include "vfs/replica/btree_page.h"

namespace ltxvfs::replica {

using base::format_rfc3339_ms;
using base::kTimeSpecHelp;
using base::now_ms;
using base::parse_time_target;

std::string Position::describe() const {
  switch (kind) {
    case Kind::kTxid:
      return "txid " + std::to_string(txid);
    case Kind::kTime:
      return "time " + base::format_rfc3339_ms(time_ms) + " (TXID " + std::to_string(txid) + ")";
    default:
      return "latest";
  }
}

storage::StoreSettings replica_store_settings() {
  storage::StoreSettings settings;
  // A reader must not invent an empty replica directory: a typo should fail loudly.
  settings.create_if_missing = false;
  // Short retry budget: a read that cannot be served should fail the statement within seconds,
  // not hold the application; the poller simply tries again next time.
  settings.retry.max_attempts = 3;
  settings.retry.max_total = std::chrono::milliseconds(10000);
  settings.http.connect_timeout_ms = 3000;
  return settings;
}

Replica::Replica(ReplicaOptions options, storage::OpenedStore opened, ReplicaLog logger)
    : options_(std::move(options)), log_(std::move(logger)) {
  source_ = opened.url.to_string();
  store_ = std::move(opened.store);
  layout_ = opened.layout;
  store_stats_ = opened.stats;
  indexes_ = std::make_unique<IndexCache>(*store_);
  cache_ = std::make_unique<PageCache>(options_.cache_bytes);
  FetcherSettings fetch;
  fetch.prefetch_pages = options_.prefetch_pages;
  fetcher_ = std::make_unique<PageFetcher>(*store_, *cache_, fetch,
                                           [this](const std::string& key) { on_lost(key); });

  Position pos;
  if (options_.txid) {
    pos.kind = Position::Kind::kTxid;
    pos.txid = *options_.txid;
  } else if (options_.time) {
    auto t = base::parse_time_target(*options_.time, now_ms());
    if (t && !t->latest) {
      pos.kind = Position::Kind::kTime;
      pos.time_ms = t->ms;
    }
  }
  auto snap = plan(pos, 0);
  position_ = pos;
  current_ = snap;
  snapshots_ = 1;
  if (options_.hydrate) {
    hydrator_ = std::make_unique<Hydrator>(*store_, options_.local_path, source_, log_);
    hydrator_->start(snap);
  }
  {
    base::MutexLock plan_lock(plan_mu_);
    head_ = std::make_unique<HeadWatch>(*store_, layout_);
  }
  poller_ = std::make_unique<Poller>(std::chrono::milliseconds(options_.poll_ms),
                                     [this] { return poll(); });
  log(base::LogSeverity::kInfo, "replica of " + source_ + " open at TXID " +
                                    std::to_string(snap->txid()) + " (" + pos.describe() + ", " +
                                    std::to_string(snap->files().size()) + " files, " +
                                    std::to_string(snap->size_bytes()) + " bytes)");
}

Replica::~Replica() {
  // Prefetch workers may report lost objects to the poller: stop them first.
  fetcher_.reset();
  poller_.reset();
  hydrator_.reset();
}

void Replica::log(base::LogSeverity severity, const std::string& message) const {
  if (log_) log_(severity, message);
}

std::shared_ptr<const Snapshot> Replica::current() const {
  base::MutexLock lock(mu_);
  assert(current_);
  return current_;
}

Position Replica::position() const {
  base::MutexLock lock(mu_);
  return position_;
}

std::shared_ptr<const Snapshot> Replica::plan(Position& pos, uint64_t epoch) {
  const std::vector<history::RemoteFile> listed = history::list_ltx_files(*store_, layout_);
  if (listed.empty()) {
    throw ReplicaError(ReplicaErrorKind::kEmpty,
                       "the replica " + source_ +
                           " holds no LTX files: nothing has been replicated there yet (is the "
                           "primary running, and is the replica URL right?)");
  }
  bad_.forget_unlisted(listed);
  // A bad object in the chain is set aside and the plan made again without it (issue 16, item
  // 7): a junk object at the next TXID or a corrupt snapshot must not stop the replica.
  constexpr int kMaxBadPerPlan = 16;
  for (int round = 0;; ++round) {
    std::vector<history::RemoteFile> files = listed;
    bad_.remove_from(files);
    try {
      return plan_chain(pos, epoch, listed, files);
    } catch (const history::BadFileError& e) {
      if (round == kMaxBadPerPlan) {
        throw ReplicaError(ReplicaErrorKind::kCorrupt, source_ + ": " + e.what() + bad_note());
      }
      set_aside(listed, e);
    }
  }
}

std::shared_ptr<const Snapshot> Replica::plan_chain(Position& pos, uint64_t epoch,
                                                    const std::vector<history::RemoteFile>& listed,
                                                    const std::vector<history::RemoteFile>& files) {
  uint64_t target = 0;
  switch (pos.kind) {
    case Position::Kind::kLatest:
      target = history::RestoreGraph(files).newest();
      hold(hold_at(target, listed, bad_.all(), source_));
      break;
    case Position::Kind::kTxid:
      target = pos.txid;
      break;
    case Position::Kind::kTime:
      try {
        target = history::txid_at_time(*store_, files, pos.time_ms);
      } catch (const history::RestoreError& e) {
        throw ReplicaError(
            ReplicaErrorKind::kUnreachable,
            "time " + base::format_rfc3339_ms(pos.time_ms) + " in " + source_ + ": " + e.what());
      }
      pos.txid = target;
      break;
  }
  if (target == 0) {
    throw ReplicaError(ReplicaErrorKind::kEmpty,
                       "the replica " + source_ +
                           " has no snapshot (a file starting at TXID 1) to start from" +
                           bad_note());
  }
  std::vector<history::RemoteFile> chain;
  try {
    chain = history::plan_restore(files, target);
  } catch (const history::RestoreError& e) {
    throw ReplicaError(ReplicaErrorKind::kUnreachable, source_ + ": " + e.what() + bad_note());
  }
  auto indexes = indexes_->load(chain);
  const ltx::Header newest = indexes_->header(*indexes.back());
  return build_snapshot(std::move(indexes), newest, epoch);
}

void Replica::publish(std::shared_ptr<const Snapshot> snap, bool rebuilt) {
  assert(snap);  // current_ is never null
  {
    base::MutexLock lock(mu_);
    current_ = snap;
    ++snapshots_;
    if (rebuilt) ++replans_;
    lost_ = false;
    if (waiting_after_ != 0 && snap->txid() > waiting_after_) {
      waiting_after_ = 0;
      waiting_reason_.clear();
    }
  }
  published_cv_.notify_all();
  if (hydrator_) hydrator_->offer(snap);
  if (rebuilt) {
    // Indexes of objects the new chain does not use are dropped (pinned snapshots keep theirs).
    std::set<std::string> keep;
    for (const auto& f : snap->files()) keep.insert(f->file.key);
    indexes_->retain_only(keep);
  }
}

std::shared_ptr<const Snapshot> Replica::extend(const std::shared_ptr<const Snapshot>& cur,
                                                const std::vector<history::RemoteFile>& newer) {
  std::vector<std::shared_ptr<const FileIndex>> indexes;
  ltx::Header newest;
  try {
    indexes = indexes_->load(newer);
    newest = indexes_->header(*indexes.back());
  } catch (const history::BadFileError& e) {
    set_aside(newer, e);
    throw;  // poll() polls again at once, without it
  }
  // Native files chain their checksums: a file that does not start from the state shown now
  // belongs to another history (the replica was replaced). Litestream files carry none.
  uint64_t prev = cur->post_apply_checksum();
  for (const auto& f : indexes) {
    if (f->header && f->header->has_checksums() && prev != 0 &&
        f->header->pre_apply_checksum != prev) {
      log(base::LogSeverity::kWarn, f->file.key + " does not continue the state at TXID " +
                                        std::to_string(f->file.min_txid - 1) +
                                        " (pre-apply checksum differs): the replica's history was "
                                        "replaced; re-planning from scratch");
      return nullptr;
    }
    prev = f->trailer.post_apply_checksum;
  }
  return extend_snapshot(*cur, std::move(indexes), newest);
}

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
    Position pos = position();
    snap = plan(pos, ++epoch_);
    publish(std::move(snap), true);
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
    Position pos = position();
    auto snap = plan(pos, ++epoch_);
    publish(std::move(snap), true);
    return;
  }
  if (newest == cur->txid()) return;
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
    Position pos = position();
    publish(plan(pos, ++epoch_), true);
    return;
  }
  publish(std::move(snap), false);
}

void Replica::replan_lost() {
  Position pos = position();
  auto snap = plan(pos, ++epoch_);
  log(base::LogSeverity::kInfo, "replica of " + source_ + " re-planned at TXID " +
                                    std::to_string(snap->txid()) + " after losing an object");
  publish(std::move(snap), true);
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
  return changed;
}

void Replica::saw_newest(uint64_t txid) {
  base::MutexLock lock(mu_);
  newest_seen_ = std::max(newest_seen_, txid);
  if (newest_seen_ > current_->txid() && behind_since_ms_ < 0) behind_since_ms_ = now_ms();
}

void Replica::on_lost(const std::string& key) {
  bool first = false;
  uint64_t txid = 0;
  {
    base::MutexLock lock(mu_);
    ++lost_count_;
    if (current_ && current_->uses(key) && !lost_) {
      lost_ = true;
      first = true;
      txid = current_->txid();
    }
  }
  if (first) {
    log(base::LogSeverity::kWarn, "replica snapshot at TXID " + std::to_string(txid) +
                                      " lost object " + key + "; the next transaction re-plans");
    if (poller_) poller_->wake();
  }
}

std::shared_ptr<const Snapshot> Replica::pin() {
  {
    base::MutexLock lock(mu_);
    if (!lost_) return current_;
  }
  base::MutexLock plan_lock(plan_mu_);
  {
    base::MutexLock lock(mu_);
    if (!lost_) return current_;  // the poller re-planned meanwhile
  }
  replan_lost();
  return current();
}

PageBytes Replica::page(const Snapshot& snap, uint32_t pgno, ReadTracker* tracker) {
  auto frame = snap.locate(pgno);
  if (!frame) {
    if (pgno == ltx::lock_page(snap.page_size())) return nullptr;  // never stored: zeros
    throw ReplicaError(ReplicaErrorKind::kCorrupt, "page " + std::to_string(pgno) +
                                                       " is in no file of the chain at TXID " +
                                                       std::to_string(snap.txid()));
  }
  if (hydrator_) {
    if (PageBytes local = hydrator_->read(snap, pgno)) return local;
  }
  std::vector<FrameRef> along, if_miss;
  if (tracker != nullptr) {
    for (uint32_t p : tracker->readahead(pgno, snap.commit())) {
      if (auto f = snap.locate(p)) along.push_back(*f);
    }
    for (uint32_t p : tracker->window(pgno, snap.commit())) {
      if (auto f = snap.locate(p)) if_miss.push_back(*f);
    }
  }
  PageBytes bytes;
  std::shared_ptr<const Snapshot> around;  // serves the page when snap's object is damaged
  for (int round = 0;; ++round) {
    try {
      bytes = fetcher_->get(*frame, along, if_miss);
      break;
    } catch (const ReplicaError& e) {
      if (e.kind() != ReplicaErrorKind::kSnapshotLost) throw;
      throw ReplicaError(ReplicaErrorKind::kSnapshotLost,
                         "replica snapshot at TXID " + std::to_string(snap.txid()) + ": " +
                             e.what() + "; retry the transaction (the next one re-plans)");
    } catch (const ltx::LtxError& e) {
      // The frame does not decode: the same page of the same TXID from a chain without it.
      if (e.kind() == ltx::LtxErrorKind::kIo || round == 3) throw;
      around = around_damaged(around ? *around : snap, frame->file->file, e.what());
      frame = around->locate(pgno);
      if (!frame) throw;
      along.clear();
      if_miss.clear();
    }
  }
  if (tracker != nullptr) {
    std::vector<FrameRef> kids;
    for (uint32_t p : tracker->after_read(pgno, *bytes)) {
      if (auto f = snap.locate(p)) kids.push_back(*f);
    }
    if (!kids.empty()) fetcher_->prefetch(kids);
  }
  return bytes;
}

bool Replica::read(const Snapshot& snap, uint64_t offset, std::span<uint8_t> out,
                   ReadTracker* tracker) {
  const uint32_t ps = snap.page_size();
  const uint64_t size = snap.size_bytes();
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t pos = offset + done;
    if (pos >= size) {
      std::memset(out.data() + done, 0, out.size() - done);
      return false;
    }
    const auto pgno = static_cast<uint32_t>(pos / ps + 1);
    const size_t in_page = pos % ps;
    const size_t n = std::min<size_t>(out.size() - done, ps - in_page);
    const bool whole = in_page == 0 && n == ps;
    PageBytes bytes = page(snap, pgno, whole ? tracker : nullptr);
    if (bytes) {
      std::memcpy(out.data() + done, bytes->data() + in_page, n);
    } else {
      std::memset(out.data() + done, 0, n);
    }
    if (pgno == 1) present_header(out.subspan(done, n), pos, snap.change_counter(), snap.commit());
    done += n;
  }
  return true;
}

uint64_t Replica::wait_for(uint64_t txid, std::chrono::milliseconds timeout) {
  Position pos = position();
  if (pos.kind != Position::Kind::kLatest) {
    const uint64_t now = current()->txid();
    if (now >= txid) return now;
    throw ReplicaError(ReplicaErrorKind::kPinned,
                       "the replica is held at " + pos.describe() + " (time travel), below TXID " +
                           std::to_string(txid) + "; PRAGMA ltx_time = 'latest' follows again");
  }
  {
    base::MutexLock lock(mu_);
    if (current_->txid() >= txid) return current_->txid();
  }
  // A waiter is worth one full listing: the next TXIDs may be inside a compacted file already.
  polls_since_full_ = kFullCheckEvery;
  poller_->set_fast(true);
  struct Slow {
    Poller& p;
    ~Slow() { p.set_fast(false); }
  } slow{*poller_};
  base::MutexLock lock(mu_);
  if (lock.wait_for(published_cv_, timeout,
                    [&]() REQUIRES(mu_) { return current_->txid() >= txid; })) {
    return current_->txid();
  }
  std::string why = last_error_.empty() ? "" : " (last poll error: " + last_error_ + ")";
  if (waiting_after_ != 0) {
    why += " (it waits at TXID " + std::to_string(waiting_after_) + ": " + waiting_reason_ + ")";
  }
  throw ReplicaError(ReplicaErrorKind::kTimeout,
                     "the replica is at TXID " + std::to_string(current_->txid()) +
                         " and did not reach TXID " + std::to_string(txid) + " within " +
                         std::to_string(timeout.count()) + " ms" + why);
}

std::shared_ptr<const Snapshot> Replica::move_to(const Position& target) {
  base::MutexLock plan_lock(plan_mu_);
  Position pos = target;
  auto snap = plan(pos, epoch_);
  {
    base::MutexLock lock(mu_);
    position_ = pos;
  }
  polls_since_full_ = 0;
  publish(snap, true);
  return snap;
}

ReplicaStats Replica::stats() const {
  ReplicaStats s;
  s.source = source_;
  {
    base::MutexLock lock(mu_);
    s.position = position_;
    s.txid = current_->txid();
    s.page_size = current_->page_size();
    s.commit = current_->commit();
    s.files = current_->files().size();
    s.epoch = current_->epoch();
    s.txid_time_ms = current_->timestamp_ms();
    s.polls = polls_;
    s.poll_errors = poll_errors_;
    s.snapshots = snapshots_;
    s.replans = replans_;
    s.lost = lost_count_;
    s.waiting_after = waiting_after_;
    s.waiting_reason = waiting_reason_;
    s.last_error = last_error_;
    const int64_t now = now_ms();
    s.commit_age_ms = std::max<int64_t>(0, now - s.txid_time_ms);
    s.lag_txids = newest_seen_ > s.txid ? newest_seen_ - s.txid : 0;
    s.lag_ms = s.lag_txids > 0 && behind_since_ms_ >= 0 ? now - behind_since_ms_ : 0;
    s.since_poll_ms = last_poll_ok_ms_ < 0 ? -1 : now - last_poll_ok_ms_;
  }
  s.bad_objects = bad_.all();
  s.store = store_stats_->snapshot();
  s.cache = cache_->stats();
  s.fetch = fetcher_->stats();
  s.index = indexes_->stats();
  if (hydrator_) s.hydration = hydrator_->stats();
  return s;
}

}  // namespace ltxvfs::replica
