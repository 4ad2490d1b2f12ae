#include "vfs/replica/replica.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <set>

#include "base/time_spec.h"
#include "history/committed_history.h"
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
    : Replica(options, std::make_shared<Location>(std::move(opened), options.cache_bytes),
              std::move(logger)) {}

Replica::Replica(ReplicaOptions options, std::shared_ptr<Location> location, ReplicaLog logger)
    : options_(std::move(options)),
      log_(std::move(logger)),
      location_(std::move(location)),
      source_(location_->source()),
      store_(&location_->store()),
      layout_(location_->layout()),
      indexes_(&location_->indexes()),
      cache_(&location_->cache()) {
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
  HintedBytes hinted;
  std::shared_ptr<const Snapshot> snap;
  try {
    snap = plan(pos, 0, &hinted);
  } catch (...) {
    if (hydrator_) hydrator_->discard();  // begun by plan_chain: a failed open leaves nothing
    throw;
  }
  seed_hinted(*snap, hinted);
  position_ = pos;
  current_ = snap;
  snapshots_ = 1;
  if (options_.hydrate) {
    // plan_chain began the download (hinted is the open's).
    assert(hydrator_);
    hydrator_->start(snap);
  }
  {
    base::MutexLock plan_lock(plan_mu_);
    head_ = std::make_unique<HeadWatch>(*store_, layout_);
  }
  poller_ = std::make_unique<Poller>(std::chrono::milliseconds(options_.poll_ms),
                                     [this] { return poll(); });
  // The rest of the long indexes the open did not read: at once, not a poll_ms later, so that a
  // scan or a query right after the open waits for a part at most for its first pages.
  if (options_.load_indexes_after_open && !snap->lazy_complete()) poller_->wake();
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

std::shared_ptr<const Snapshot> Replica::plan(Position& pos, uint64_t epoch, HintedBytes* hinted) {
  // The head and the listing side by side: an open costs one round trip here, then one more for
  // the chain's page indexes (IndexCache::load).
  const history::History history = history::read_history_side_by_side(*store_, layout_);
  const std::vector<history::RemoteFile>& listed = history.files;
  const history::HeadRecord* head = history.head ? &*history.head : nullptr;
  if (listed.empty()) {
    // Nothing replicated yet: the newest state is the empty database, followed from there (a
    // replica deployed before its primary, issue 19 item 9). A TXID or a time cannot be.
    if (pos.kind == Position::Kind::kLatest && !options_.hydrate) return empty_snapshot(epoch);
    throw ReplicaError(ReplicaErrorKind::kEmpty,
                       "the replica " + source_ +
                           " holds no LTX files: nothing has been replicated there yet (is the "
                           "primary running, and is the replica URL right?)" +
                           (options_.hydrate ? "; hydrate=1 needs the primary's first upload: "
                                               "open without it until then"
                                             : ""));
  }
  bad_.forget_unlisted(listed);
  // A bad object in the chain is set aside and the plan made again without it (issue 16, item
  // 7): a junk object at the next TXID or a corrupt snapshot must not stop the replica.
  constexpr int kMaxBadPerPlan = 16;
  for (int round = 0;; ++round) {
    std::vector<history::RemoteFile> files = listed;
    bad_.remove_from(files);
    try {
      return plan_chain(pos, epoch, listed, files, head, hinted);
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
                                                    const std::vector<history::RemoteFile>& files,
                                                    const history::HeadRecord* head,
                                                    HintedBytes* hinted) {
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
  if (hinted != nullptr && options_.hydrate && !hydrator_) {
    hydrator_ = std::make_unique<Hydrator>(*store_, options_.local_path, source_, log_);
    // The open's chain: its download starts now, beside the indexes' reads (hydrator.h), also
    // for files without checksums (Litestream's), which their etags tie to the snapshot.
    hydrator_->begin(chain);
  }
  auto indexes = indexes_->load(chain, head, hinted);
  const ltx::Header newest = indexes_->header(*indexes.back());
  return build_snapshot(std::move(indexes), newest, epoch);
}

void Replica::seed_hinted(const Snapshot& snap, const HintedBytes& got) {
  if (got.pieces.empty()) return;
  // The bytes of the version of `pgno` the plan takes, when they were read (else empty: the hint
  // named another version of the page, or another object).
  const auto bytes_of = [&](const FrameRef& frame) {
    return got.find(frame.file->file.key, frame.file->etag, frame.offset, frame.size);
  };
  std::set<uint32_t> offered;
  PageBytes page1;
  // Only what the plan locates without a request: the open reads no part of a long index.
  for (uint32_t pgno : got.pages) {
    const auto held = snap.locate_held(pgno);
    const auto frame = held ? *held : prove_hinted(snap, got, pgno);
    if (!frame) continue;
    const auto bytes = bytes_of(*frame);
    if (bytes.empty()) continue;
    PageBytes page = fetcher_->offer(*frame, bytes);
    if (!page) continue;
    offered.insert(pgno);
    if (pgno == 1) page1 = std::move(page);
  }
  if (!page1 || options_.hydrate) return;  // hydration reads the roots in its own order
  // The roots the schema names that the hints did not name: from the same bytes when they hold
  // them (a head written before the roots hint read the frames after page 1 with it), else
  // fetched now.
  std::vector<FrameRef> roots;
  for (uint32_t pgno : schema_roots(*page1, kMaxSchemaRoots)) {
    if (offered.count(pgno) != 0) continue;
    const auto held = snap.locate_held(pgno);
    if (!held || !*held) continue;
    const auto& f = *held;
    const auto bytes = bytes_of(*f);
    if (bytes.empty() || !fetcher_->offer(*f, bytes)) roots.push_back(*f);
  }
  fetcher_->prefetch(roots);
}

std::optional<FrameRef> Replica::prove_hinted(const Snapshot& snap, const HintedBytes& got,
                                              uint32_t pgno) {
  for (const auto& claim : got.claims) {
    if (claim.pgno != pgno || claim.size > UINT32_MAX) continue;
    for (const auto& f : snap.files()) {
      if (f->file.key != claim.key || !f->lazy) continue;
      const FrameRef frame{f,
                           pgno,
                           claim.offset,
                           static_cast<uint32_t>(claim.size),
                           snap.page_size(),
                           snap.database_id()};
      const auto bytes = got.find(claim.key, f->etag, claim.offset, claim.size);
      if (bytes.empty() || !fetcher_->offer(frame, bytes)) return std::nullopt;
      f->lazy->prove({pgno, claim.offset, claim.size});
      const auto held = snap.locate_held(pgno);
      return held ? *held : std::nullopt;
    }
  }
  return std::nullopt;
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

std::optional<FrameRef> Replica::locate(const Snapshot& snap, uint32_t pgno) {
  try {
    return snap.locate(pgno);
  } catch (const IndexPartError& e) {
    if (e.gone()) {
      on_lost(e.file().key);
      throw ReplicaError(ReplicaErrorKind::kSnapshotLost,
                         "replica snapshot at TXID " + std::to_string(snap.txid()) + ": " +
                             e.what() + "; retry the transaction (the next one re-plans)");
    }
    return around_damaged(snap, e.file(), e.what())->locate(pgno);
  }
}

std::optional<FrameRef> Replica::locate_for_advice(const Snapshot& snap, uint32_t pgno) noexcept {
  try {
    return snap.locate(pgno);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void Replica::load_lazy_indexes() {
  const auto snap = current();
  if (snap->lazy_files() == 0) return;
  try {
    snap->load_lazy(4);
    // The same state looked up in a page map alone: a lookup through a long index costs a lock
    // and two binary searches, and a scan's read-ahead makes several per page (a local scan of
    // 1 GiB took 2.0 s against 1.6 s).
    auto whole = resolve_snapshot(*snap);
    base::MutexLock plan_lock(plan_mu_);
    {
      base::MutexLock lock(mu_);
      if (current_ != snap || lost_) return;  // another plan came first: the next poll
    }
    publish(std::move(whole), /*rebuilt=*/false);
  } catch (const std::exception& e) {
    // A read that needs a part reads it and meets the problem itself; the next poll tries again,
    // and says so once, not every poll.
    const std::string message =
        std::string("reading the rest of the replica's page indexes: ") + e.what();
    {
      base::MutexLock lock(mu_);
      if (message == last_error_) return;
      last_error_ = message;
    }
    log(base::LogSeverity::kWarn, message + " (the next poll tries again)");
  }
}

PageBytes Replica::page(const Snapshot& snap, uint32_t pgno, ReadTracker* tracker) {
  auto frame = locate(snap, pgno);
  if (!frame) {
    if (pgno == ltx::lock_page(snap.page_size())) return nullptr;  // never stored: zeros
    throw ReplicaError(ReplicaErrorKind::kCorrupt, "page " + std::to_string(pgno) +
                                                       " is in no file of the chain at TXID " +
                                                       std::to_string(snap.txid()));
  }
  if (hydrator_) {
    if (PageBytes local = hydrator_->read(snap, pgno)) return local;
  }
  std::vector<FrameRef> along;
  PageFetcher::MissWindow if_miss;
  if (tracker != nullptr) {
    for (uint32_t p : tracker->readahead(pgno, snap.commit())) {
      if (auto f = locate_for_advice(snap, p)) along.push_back(*f);
    }
    // Asked only on a miss, before the tracker hears of another read.
    if_miss = [&snap, tracker, pgno] {
      const ReadTracker::Window window = tracker->window(pgno, snap.commit());
      PageFetcher::Window frames;
      frames.frames.reserve(window.pages.size());
      for (uint32_t p : window.pages) {
        if (auto f = locate_for_advice(snap, p)) frames.frames.push_back(*f);
      }
      // A lookup's siblings are worth only what joins the target's request.
      frames.join_only = window.along_only;
      return frames;
    };
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
      if_miss = nullptr;
    }
  }
  if (tracker != nullptr) {
    std::vector<FrameRef> kids;
    for (uint32_t p : tracker->after_read(pgno, *bytes)) {
      if (auto f = locate_for_advice(snap, p)) kids.push_back(*f);
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
  s.store = location_->store_stats()->snapshot();
  s.cache = cache_->stats();
  s.fetch = fetcher_->stats();
  s.index = indexes_->stats();
  if (hydrator_) s.hydration = hydrator_->stats();
  return s;
}

}  // namespace ltxvfs::replica
