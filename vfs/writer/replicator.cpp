#include "vfs/writer/replicator.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "base/time_util.h"
#include "history/restore_plan.h"
#include "ltx/header.h"

namespace ltxvfs::writer {
namespace {

using std::chrono::milliseconds;

// zstd level of the write path, chosen by measurement (bench/RESULTS.md): level 1 compresses
// SQLite pages within a few percent of level 3 at about twice the speed, and compression is the
// builder's largest cost.
constexpr int kWriteZstdLevel = 1;

uint64_t micros_since(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

// Names the calling thread (15 characters at most), so `top -H`, `perf` and debuggers show which
// of ltx's threads does what in the host process.
void name_this_thread(const char* name) {
  pthread_setname_np(pthread_self(), name);
}

std::string state_path(const Config& c) {
  return c.sidecar_dir + "/state.json";
}

}  // namespace

Replicator::Replicator(Config config, std::unique_ptr<FileAccess> files, ReplicatorStores stores,
                       base::LogSink sink)
    : config_(std::move(config)),
      log_(std::move(sink)),
      files_(std::move(files)),
      store_(std::move(stores.main.store)),
      quick_(std::move(stores.quick)),
      cancel_(std::move(stores.cancel)),
      layout_(stores.main.layout),
      store_stats_(stores.main.stats ? stores.main.stats : std::make_shared<storage::StoreStats>()),
      lock_(config_.sidecar_dir + "/lock", config_.file_mode, milliseconds(config_.lease_wait_ms)),
      spool_(config_.sidecar_dir + "/spool", config_.file_mode),
      builder_(*files_, spool_, config_.format, kWriteZstdLevel),
      uploader_(spool_, *store_, layout_, config_.format, config_.sidecar_dir + "/upload.tmp",
                config_.file_mode) {
  // Where this database stands: the newest of the state file (written at close) and the spool's
  // newest record (written with every batch).
  std::optional<LocalState> from_file;
  try {
    from_file = read_local_state(state_path(config_));
  } catch (const std::exception& e) {
    recorded_problem_ = e.what();
  }
  const std::optional<LocalState> from_spool = spool_.newest_state();
  if (from_file && (!from_spool || from_file->txid >= from_spool->txid)) {
    recorded_ = from_file;
  } else {
    recorded_ = from_spool;
  }
  if (recorded_) recorded_problem_.clear();  // the spool knows the position: nothing is lost
  if (!recorded_problem_.empty()) {
    log(base::LogSeverity::kWarn, recorded_problem_ + "; the next file will be a new snapshot");
  }
  if (!quick_) throw std::logic_error("Replicator: no quick store");
  history::WriterLeaseOptions lease_options;
  // The previous writer of this database on this host has exited (this process holds the local
  // lock now): a lease it left behind is stale and need not be waited out.
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string this_host = host;
  const long previous = lock_.previous_holder();
  lease_options.holder_is_gone = [this_host, previous](const history::LeaseRecord& holder) {
    const auto owner = history::parse_lease_owner(holder.owner);
    return previous != 0 && owner && owner->host == this_host && owner->pid == previous;
  };
  lease_ = std::make_unique<history::WriterLease>(*quick_, layout_, std::move(lease_options));
  acquire_lease_at_open();
  note_lease_locked();  // no other thread yet
  check_remote_at_open(*quick_);
  stats_.txid = recorded_ ? recorded_->txid : 0;
  history::CompactionWork work;
  work.temp_dir = config_.sidecar_dir;  // room for the largest output (a snapshot)
  work.stop_requested = [this] { return closing_.load(); };
  history_ = std::make_unique<history::HistoryEngine>(*store_, layout_, config_.format,
                                                      config_.history, std::move(work));
  const auto start = [this](const char* name, void (Replicator::*loop)()) {
    return std::thread([this, name, loop] {
      name_this_thread(name);
      (this->*loop)();
    });
  };
  builder_thread_ = start("ltx-build", &Replicator::builder_loop);
  syncer_thread_ = start("ltx-sync", &Replicator::syncer_loop);
  uploader_thread_ = start("ltx-upload", &Replicator::uploader_loop);
  history_thread_ = start("ltx-history", &Replicator::history_loop);
}

Replicator::~Replicator() {
  // The history is maintenance: it stops first, at once (nothing it leaves half-done is ever
  // published), so it never holds the close.
  closing_ = true;
  {
    std::lock_guard lock(mu_);
    stop_history_ = true;
  }
  history_cv_.notify_all();
  history_thread_.join();
  {
    std::lock_guard lock(mu_);
    stop_builder_ = true;
  }
  work_cv_.notify_all();
  builder_thread_.join();
  // From here on the store gets close_timeout_ms: then whatever it is still doing is cancelled
  // (a store that is down or silent cannot hold the close).
  const auto deadline = Clock::now() + milliseconds(config_.close_timeout_ms);
  std::mutex canceller_mu;
  std::condition_variable canceller_cv;
  bool closed = false;
  std::thread canceller([&] {
    std::unique_lock lock(canceller_mu);
    if (!canceller_cv.wait_until(lock, deadline, [&] { return closed; })) cancel_->cancel();
  });
  {
    std::lock_guard lock(mu_);
    stop_uploader_ = true;
  }
  upload_cv_.notify_all();
  uploader_thread_.join();
  {
    std::lock_guard lock(mu_);
    stop_syncer_ = true;
  }
  sync_cv_.notify_all();
  syncer_thread_.join();
  try {
    spool_.make_durable();
    if (builder_.synced()) {
      write_local_state(state_path(config_), builder_.state(), /*durable=*/true, config_.file_mode);
    }
  } catch (const std::exception& e) {
    log(base::LogSeverity::kWarn, std::string("closing: ") + e.what());
  }
  try {
    lease_->release();  // the next writer need not wait for it to expire
  } catch (const std::exception& e) {
    log(base::LogSeverity::kInfo,
        std::string("closing: the writer lease was not released (it expires by itself): ") +
            e.what());
  }
  {
    std::lock_guard lock(canceller_mu);
    closed = true;
  }
  canceller_cv.notify_all();
  canceller.join();
}

void Replicator::acquire_lease_at_open() {
  const auto deadline = Clock::now() + milliseconds(config_.lease_wait_ms);
  for (;;) {
    history::LeaseAttempt attempt;
    try {
      attempt = lease_->try_acquire();
    } catch (const storage::StoreError& e) {
      if (!e.retriable()) {
        throw std::runtime_error(std::string("cannot take the writer lease: ") + e.what());
      }
      // Unreachable store: open anyway; the uploader takes the lease before its first upload.
      log(base::LogSeverity::kWarn,
          std::string("cannot reach the replica at open to take the writer lease, will keep "
                      "trying: ") +
              e.what());
      return;
    }
    if (attempt.acquired) return;
    if (Clock::now() >= deadline) {
      throw std::runtime_error(
          store_->describe() + " is being replicated by another writer (its lease is " +
          attempt.holder +
          "); one writer per replica location. Close the other writer, "
          "wait for it longer (lease_wait_ms=" +
          std::to_string(config_.lease_wait_ms) + " now), or point replica= elsewhere");
    }
    std::this_thread::sleep_until(std::min(deadline, Clock::now() + milliseconds(250)));
  }
}

void Replicator::ensure_lease() {
  if (!lease_->held()) {
    const auto attempt = lease_->try_acquire();
    if (!attempt.acquired) {
      throw RemoteConflict(store_->describe() +
                           " is being replicated by another writer (its lease is " +
                           attempt.holder +
                           "): this process stopped uploading. Close it; the other writer "
                           "continues the replica");
    }
    return;
  }
  if (lease_->needs_renewal(history::WallClock::now())) {
    try {
      lease_->renew();
    } catch (const history::LeaseLost& e) {
      throw RemoteConflict(e.what());
    }
  }
  if (history::WallClock::now() >= lease_->expires_at()) {
    // Could not renew in time: another writer may hold it by now. Uploading waits until a
    // renewal succeeds (or shows the lease was taken).
    throw storage::StoreError(storage::StoreErrorKind::kUnavailable,
                              "the writer lease expired before it could be renewed");
  }
}

void Replicator::note_lease_locked() {
  // The lease's own lock is held during its store calls: callers of stats() must not wait on it,
  // so its state is copied here by the only thread that changes it.
  lease_held_ = lease_->held();
  lease_expires_ = lease_->expires_at();
  const int64_t until_ms =
      std::chrono::duration_cast<milliseconds>(lease_expires_.time_since_epoch()).count();
  stats_.lease = lease_held_ ? "held (generation " + std::to_string(lease_->generation()) +
                                   ", until " + base::format_rfc3339_ms(until_ms) + ")"
                             : "not held";
}

Replicator::Clock::time_point Replicator::next_lease_renewal() const {
  if (!lease_held_) return Clock::now() + milliseconds(1000);
  const auto left = lease_expires_ - history::WallClock::now();
  // Renewals are due every TTL/3; waking at half the time left keeps them on time.
  const auto wait = std::clamp<history::WallClock::duration>(left / 2, milliseconds(100),
                                                             std::chrono::seconds(10));
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(wait);
}

void Replicator::log(base::LogSeverity severity, const std::string& message) const {
  if (log_) log_(severity, message);
}

int64_t Replicator::now_ms() const {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Replicator::check_remote_at_open(storage::ObjectStore& probe) {
  // The newest TXID this database is known to have written: the recorded state or the spool.
  const uint64_t local = std::max(spool_.max_txid(), recorded_ ? recorded_->txid : 0);
  std::vector<history::RemoteFile> files;
  try {
    files = history::list_ltx_files(probe, layout_);
  } catch (const storage::StoreError& e) {
    if (!e.retriable()) throw std::runtime_error(e.what());
    // Unreachable store: open anyway; the uploader re-checks before its first upload.
    log(base::LogSeverity::kWarn,
        std::string("cannot reach the replica at open, will keep trying: ") + e.what());
    return;
  }
  uint64_t remote = 0;
  for (const auto& f : files) remote = std::max(remote, f.max_txid);
  stats_.uploaded_txid = remote;  // what the store already holds is acknowledged
  if (remote <= local) return;
  if (local == 0) {
    // No history beside the database (or an unreadable one), a history in the store: a database
    // restored from it (or copied from its writer) continues it when its content is the store's
    // newest state.
    const std::string why = continue_remote_history(probe, files);
    if (why.empty()) {
      recorded_problem_.clear();
      return;
    }
    throw std::runtime_error(store_->describe() + " already holds a replica at TXID " +
                             std::to_string(remote) + " that this database did not write (" + why +
                             (recorded_problem_.empty() ? "" : "; " + recorded_problem_) +
                             "). To read it, open it with mode=ro; to continue it, restore it "
                             "with `ltxvfs restore` and open the restored file; or point "
                             "replica= at an empty location");
  }
  throw std::runtime_error(store_->describe() + " already holds a replica at TXID " +
                           std::to_string(remote) + ", ahead of this database (TXID " +
                           std::to_string(local) +
                           "): another writer replicates there, or this database is older than "
                           "its replica. To read it, open it with mode=ro; to continue it, "
                           "restore it with `ltxvfs restore` and open the restored file; or point "
                           "replica= at an empty location");
}

std::string Replicator::continue_remote_history(storage::ObjectStore& probe,
                                                const std::vector<history::RemoteFile>& files) {
  uint64_t gap_after = 0;
  const uint64_t newest = newest_restorable_txid(files, &gap_after);
  if (newest == 0) return "it holds no restorable state";
  const auto chain = plan_restore(files, newest);
  const history::RemoteFile& last = chain.back();
  const auto head = probe.get(last.key, storage::ByteRange::at(0, ltx::kHeaderSize));
  const ltx::Header header = ltx::Header::decode(head.body, last.key);
  const auto tail = probe.get(last.key, storage::ByteRange::last(ltx::kTrailerSize));
  if (tail.body.size() != ltx::kTrailerSize) return last.key + " is too short";
  const ltx::Trailer trailer =
      ltx::Trailer::decode(std::span<const uint8_t, ltx::kTrailerSize>(tail.body.data(), 16));
  if (trailer.post_apply_checksum == 0) {
    return "its files carry no database checksums (format=litestream), so ltx cannot tell "
           "whether this database is its newest state";
  }
  const std::optional<LocalState> here = builder_.describe_current(now_ms());
  if (!here || here->page_size != header.page_size || here->commit != header.commit ||
      here->checksum != trailer.post_apply_checksum) {
    return "this database's content differs from the replica's newest state, TXID " +
           std::to_string(newest);
  }
  LocalState adopted = *here;
  adopted.txid = newest;
  write_local_state(state_path(config_), adopted, /*durable=*/true, config_.file_mode);
  recorded_ = adopted;
  log(base::LogSeverity::kInfo, config_.db_path + " is the newest state of " + store_->describe() +
                                    " (TXID " + std::to_string(newest) +
                                    "): continuing its history");
  return {};
}

void Replicator::note_write_outside_wal() {
  std::lock_guard lock(mu_);
  written_outside_wal_ = true;
}

uint64_t Replicator::commit(CommitNotice notice) {
  std::lock_guard lock(mu_);
  notice.seq = next_seq_++;
  notice.database_written_outside_wal = std::exchange(written_outside_wal_, false);
  notice.time_ms = now_ms();
  ++stats_.commits;
  const uint64_t frames = notice.frame_count();
  queue_.push_back(std::move(notice));
  queued_frames_ += frames;
  // A busy builder takes it with the next batch. A gathering one looks at the queue by itself
  // while commits come fast (BatchPacing: waking it here would cost this thread a futex call per
  // batch), and is woken by the commit that fills the batch while they come slowly; one
  // gathering far more than a batch (a burst of large transactions) is woken at once.
  const size_t scale = builder_pace_.scale;
  const bool filled = BatchPacing::full(queue_.size(), queued_frames_, scale) &&
                      !BatchPacing::full(queue_.size() - 1, queued_frames_ - frames, scale);
  const bool overfull = queued_frames_ >= BatchPacing::kWakeFrames &&
                        queued_frames_ - frames < BatchPacing::kWakeFrames;
  const bool wake =
      builder_idle_ || (builder_napping_ && (overfull || (builder_pace_.wake_when_full && filled)));
  if (wake) work_cv_.notify_one();
  return notice.seq;
}

void Replicator::wait_until_built_locked(std::unique_lock<std::mutex>& lock) {
  const uint64_t target = next_seq_ - 1;
  if (initial_sync_done_ && processed_seq_ >= target) return;
  ++built_waiters_;
  if (builder_napping_) work_cv_.notify_all();  // someone waits: build now
  built_cv_.wait(lock, [&] { return initial_sync_done_ && processed_seq_ >= target; });
  --built_waiters_;
}

uint64_t Replicator::wait_built(uint64_t seq) {
  std::unique_lock lock(mu_);
  if (!(initial_sync_done_ && processed_seq_ >= seq)) {
    ++built_waiters_;
    if (builder_napping_) work_cv_.notify_all();
    built_cv_.wait(lock, [&] { return initial_sync_done_ && processed_seq_ >= seq; });
    --built_waiters_;
  }
  return seq_txid_;
}

uint64_t Replicator::flush_txid() {
  std::unique_lock lock(mu_);
  wait_until_built_locked(lock);
  return stats_.txid;
}

uint64_t Replicator::request_sync_locked() {
  ++sync_requested_;
  if (syncer_idle_) sync_cv_.notify_one();
  return sync_requested_;
}

void Replicator::before_checkpoint() {
  const auto start = Clock::now();
  std::unique_lock lock(mu_);
  wait_until_built_locked(lock);
  ++stats_.checkpoint_waits;
  stats_.checkpoint_wait_us += micros_since(start);
  // The WAL restart that usually follows a checkpoint needs the spool durable: start the sync
  // now, so it runs while SQLite syncs the WAL and the database for the checkpoint.
  if (spool_.durable_txid() < stats_.txid) request_sync_locked();
}

void Replicator::before_wal_overwrite() {
  const auto start = Clock::now();
  std::unique_lock lock(mu_);
  wait_until_built_locked(lock);
  if (spool_.durable_txid() < stats_.txid) {
    const uint64_t target = request_sync_locked();
    ++durable_waiters_;
    synced_cv_.wait(lock, [&] { return sync_done_ >= target || stop_syncer_; });
    --durable_waiters_;
  }
  ++stats_.overwrite_waits;
  stats_.overwrite_wait_us += micros_since(start);
}

bool Replicator::wait_uploaded(uint64_t seq) {
  const uint64_t txid = wait_built(seq);
  std::unique_lock lock(mu_);
  const auto deadline = Clock::now() + milliseconds(config_.remote_timeout_ms);
  ++durability_waiters_;
  upload_cv_.notify_all();  // ends the uploader's batching window
  uploaded_cv_.wait_until(lock, deadline, [&] {
    return stats_.uploaded_txid >= txid || !stats_.conflict.empty() || stop_uploader_;
  });
  --durability_waiters_;
  if (stats_.uploaded_txid >= txid) return true;
  const std::string why =
      !stats_.conflict.empty()
          ? stats_.conflict
          : (stats_.last_error.empty()
                 ? std::string("no acknowledgement within ") +
                       std::to_string(config_.remote_timeout_ms) + " ms (remote_timeout_ms)"
                 : stats_.last_error);
  remote_failure_txid_ = std::max(remote_failure_txid_.load(), txid);
  stats_.remote_failure = "TXID " + std::to_string(txid) +
                          " is committed locally but the store has not acknowledged it: " + why;
  log(base::LogSeverity::kError, "durability=remote: " + stats_.remote_failure);
  return false;
}

std::string Replicator::write_refusal() {
  // The common case without the mutex the builder thread also takes: a failure recorded before
  // this call is seen, one recorded at the same moment may or may not be (as with the mutex).
  if (remote_failure_txid_.load() == 0) return {};
  std::lock_guard lock(mu_);
  if (remote_failure_txid_ == 0) return {};
  if (stats_.uploaded_txid >= remote_failure_txid_) {
    remote_failure_txid_ = 0;
    stats_.remote_failure.clear();
    return {};
  }
  return "durability=remote: writes are refused until the store has acknowledged earlier "
         "commits (" +
         stats_.remote_failure + "). They resume by themselves once it has; ltx_stats() shows " +
         "the upload's progress";
}

ReplicatorStats Replicator::stats() const {
  std::lock_guard lock(mu_);
  ReplicatorStats s = stats_;
  s.spool_files = spool_.count();
  s.spool_bytes = spool_.bytes();
  s.durable_txid = spool_.durable_txid();
  return s;
}

std::optional<LocalState> Replicator::position_to_resume() const {
  // After a failed build: whatever the spool holds is built; the recorded state covers the rest.
  const std::optional<LocalState> spooled = spool_.newest_state();
  if (spooled && (!recorded_ || spooled->txid >= recorded_->txid)) return spooled;
  return recorded_;
}

namespace {
// Upper bound of what one queued commit adds to the spool: its WAL frames, uncompressed.
uint64_t frame_bytes_of(const CommitNotice& n) {
  return uint64_t{n.frame_count()} * n.after.page_size;  // read_wal_index_header: 65536, not 1
}
}  // namespace

void Replicator::take_batch_within_spool_limit(std::vector<CommitNotice>& batch) {
  // One batch is one spool record, so a batch drained whole could cross the spool limit by the
  // whole backlog. Near the limit, take only what fits (always at least one commit), so the
  // overflow check before the next batch bounds the spool at the limit plus one transaction.
  if (builder_.overflowed()) {
    batch.swap(queue_);  // not spooled one by one anyway
    queued_frames_ = 0;
    return;
  }
  uint64_t budget =
      config_.spool_limit_bytes > spool_.bytes() ? config_.spool_limit_bytes - spool_.bytes() : 0;
  size_t n = 0;
  while (n < queue_.size()) {
    const uint64_t bytes = frame_bytes_of(queue_[n]);
    if (n > 0 && bytes > budget) break;
    budget = bytes > budget ? 0 : budget - bytes;
    ++n;
  }
  if (n == queue_.size()) {
    batch.swap(queue_);
  } else {
    batch.assign(std::make_move_iterator(queue_.begin()),
                 std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  queued_frames_ = 0;
  for (const CommitNotice& left : queue_) queued_frames_ += left.frame_count();
}

void Replicator::builder_loop() {
  std::unique_lock lock(mu_);
  std::vector<CommitNotice> batch;
  BatchPacing::LastBatch last_batch;
  for (;;) {
    // The spool drained below half its limit after an overflow: time to bridge the gap.
    auto may_resume = [&] {
      return builder_.overflowed() && spool_.bytes() <= config_.spool_limit_bytes / 2;
    };
    builder_idle_ = true;
    work_cv_.wait(lock, [&] {
      return stop_builder_ || !queue_.empty() || snapshot_requested_ || !builder_.synced() ||
             may_resume();
    });
    builder_idle_ = false;
    if (builder_.synced() && !builder_.overflowed() && !queue_.empty() &&
        spool_.bytes() > config_.spool_limit_bytes) {
      builder_.set_overflow();
      ++stats_.spool_overflows;
      log(base::LogSeverity::kWarn,
          "the spool (" + spool_.dir() + ") reached its limit of " +
              std::to_string(config_.spool_limit_bytes >> 20) +
              " MiB while the store is unreachable: commits are no longer spooled one by one; "
              "when the store is back the whole database is uploaded at the next TXID");
    }
    const bool first = !builder_.synced();
    const bool resume = !first && may_resume();
    if (stop_builder_ && !first && queue_.empty() && !snapshot_requested_) break;
    batch.clear();
    if (!first) take_batch_within_spool_limit(batch);
    const bool snapshot = !first && batch.empty() && !resume && snapshot_requested_;
    // The first run reads the database as it is now: writes outside the WAL before it are in
    // what it reads.
    if (first) written_outside_wal_ = false;
    const std::optional<LocalState> recorded = first ? position_to_resume() : std::nullopt;
    lock.unlock();
    std::string error;
    try {
      if (first) {
        builder_.initial_sync(recorded, recorded_problem_, now_ms());
      } else if (resume) {
        builder_.resume_after_overflow(now_ms());
        builder_.build(batch);
      } else if (!batch.empty()) {
        builder_.build(batch);
      } else if (snapshot) {
        builder_.write_snapshot(now_ms(), "the store lacks the history before the spool");
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    lock.lock();
    if (snapshot) snapshot_requested_ = false;
    for (const auto& ev : builder_.take_events()) {
      ++stats_.batches;
      if (ev.kind != BuildEvent::Kind::kIncremental) {
        ++stats_.full_files;
        log(base::LogSeverity::kInfo, "TXID " + std::to_string(ev.max_txid) + ": full file (" +
                                          std::to_string(ev.pages) + " pages), " + ev.reason);
      }
    }
    if (!error.empty()) {
      // Start over from the recorded position at the next opportunity: it decides between
      // continuing and a full-database file, so nothing half-built is ever trusted. The WAL still
      // holds what this run failed to build.
      stats_.last_error = "building LTX: " + error;
      log(base::LogSeverity::kWarn, stats_.last_error);
      builder_.reset();
      recorded_problem_.clear();
      if (first && !stop_builder_) {
        // Do not spin on a persistent error (an unreadable database, a full disk).
        work_cv_.wait_for(lock, milliseconds(1000), [&] { return stop_builder_; });
      }
      if (stop_builder_ && queue_.empty()) {
        processed_seq_ = next_seq_ - 1;
        initial_sync_done_ = true;
        built_cv_.notify_all();
        break;
      }
    } else {
      recorded_problem_.clear();
    }
    stats_.txid = builder_.txid();
    stats_.wal_scans = builder_.wal_scans();
    // Even after a failure: waiters must not hang on a broken disk (the WAL keeps the commits,
    // and the next run ships them, as a full file if their frames are gone by then).
    initial_sync_done_ = true;
    if (!batch.empty()) processed_seq_ = batch.back().seq;
    if (queue_.empty()) processed_seq_ = next_seq_ - 1;
    seq_txid_ = stats_.txid;
    if (built_waiters_ > 0) built_cv_.notify_all();
    // Remote durability and upload_interval_ms=0 ship at once: make the batch durable now.
    const bool eager = config_.durability == Durability::kRemote || config_.upload_interval_ms == 0;
    if (eager && error.empty() && (!batch.empty() || first || resume || snapshot)) {
      request_sync_locked();
    }
    if (uploader_idle_) upload_cv_.notify_one();
    if (!eager && !batch.empty() && error.empty()) {
      // Commits keep coming: let the next ones gather into a batch (BatchPacing) instead of
      // building them one or two at a time, looking at the queue every kPoll while commits come
      // fast, or woken by the commit that fills a larger batch while they come slowly (as the
      // last gathering measured). Anyone waiting for the build (a checkpoint, a WAL restart, a
      // flush) ends the gathering at once.
      builder_napping_ = true;
      builder_pace_ = BatchPacing::next_pace(last_batch);
      const Clock::time_point start = Clock::now();
      const Clock::time_point end = start + BatchPacing::kMaxGather;
      const auto waited_for = [&] {
        return stop_builder_ || built_waiters_ > 0 || snapshot_requested_;
      };
      const auto batch_full = [&] {
        return BatchPacing::full(queue_.size(), queued_frames_, builder_pace_.scale);
      };
      Clock::time_point now = start;
      for (; !(waited_for() || batch_full()) && now < end; now = Clock::now()) {
        work_cv_.wait_until(
            lock, builder_pace_.wake_when_full ? end : BatchPacing::next_look(start, now));
      }
      // How long a whole batch took to gather (unknown when someone cut it short).
      if (batch_full() || now >= end) {
        last_batch = {std::chrono::duration_cast<std::chrono::microseconds>(now - start),
                      queue_.size(), queued_frames_, builder_pace_.scale};
      }
      builder_napping_ = false;
    }
  }
}

void Replicator::history_loop() {
  std::unique_lock lock(mu_);
  auto backoff = milliseconds(1000);
  auto next = Clock::now();
  while (!stop_history_) {
    // Only the lease holder shapes the remote history (the uploader keeps the lease fresh).
    history_cv_.wait_until(lock, next, [&] { return stop_history_; });
    if (stop_history_) break;
    if (!lease_held_ || !stats_.conflict.empty()) {
      next = Clock::now() + milliseconds(1000);
      continue;
    }
    lock.unlock();
    history::HistoryRunReport report;
    std::string error;
    bool stopped_for_good = false;
    try {
      report = history_->run_due(now_ms());
    } catch (const history::WorkStopped&) {
      break;  // closing (the lock is not held here)
    } catch (const history::HistoryConflict& e) {
      error = e.what();
      stopped_for_good = true;
    } catch (const std::exception& e) {
      error = e.what();
    }
    lock.lock();
    for (const auto& written : report.written) {
      if (written.file.level == storage::kSnapshotLevel) {
        ++stats_.snapshots;
      } else {
        ++stats_.compactions;
      }
    }
    stats_.deleted_files += report.deleted.size();
    if (!error.empty()) {
      if (stats_.history_error != error) {
        log(stopped_for_good ? base::LogSeverity::kError : base::LogSeverity::kWarn,
            std::string("remote history ") +
                (stopped_for_good ? "stopped: " : "failed, will retry: ") + error);
      }
      stats_.history_error = error;
      if (stopped_for_good) break;
      next = Clock::now() + backoff;
      backoff = std::min(backoff * 2, milliseconds(60000));
      continue;
    }
    stats_.history_error.clear();
    backoff = milliseconds(1000);
    // When something is due next (wall clock), at least a second from now.
    const int64_t wait_ms = std::clamp<int64_t>(report.next_due_ms - now_ms(), 1000, 3'600'000);
    next = Clock::now() + milliseconds(wait_ms);
  }
}

void Replicator::syncer_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    syncer_idle_ = true;
    sync_cv_.wait(lock, [&] { return stop_syncer_ || sync_requested_ > sync_done_; });
    syncer_idle_ = false;
    if (sync_requested_ == sync_done_) break;  // stopping, nothing asked
    const uint64_t serving = sync_requested_;
    lock.unlock();
    std::string error;
    try {
      spool_.make_durable();
    } catch (const std::exception& e) {
      error = e.what();
    }
    lock.lock();
    ++stats_.syncs;
    if (!error.empty()) {
      // Waiters are released anyway (SQLite must not hang on a broken disk); the records stay
      // undurable, so they are not uploaded, and the WAL or a full file makes up for them.
      stats_.last_error = "making the spool durable: " + error;
      log(base::LogSeverity::kWarn, stats_.last_error);
    }
    sync_done_ = serving;
    if (durable_waiters_ > 0) synced_cv_.notify_all();
    if (uploader_idle_) upload_cv_.notify_one();
  }
}

void Replicator::uploader_loop() {
  const auto interval = config_.durability == Durability::kRemote
                            ? milliseconds(0)
                            : milliseconds(config_.upload_interval_ms);
  auto backoff = milliseconds(100);
  uint64_t failure_streak = 0;
  Clock::time_point last_failure_log;
  std::optional<Clock::time_point> close_deadline;
  std::unique_lock lock(mu_);
  auto closing_expired = [&] {
    if (!stop_uploader_) return false;
    if (!close_deadline) close_deadline = Clock::now() + milliseconds(config_.close_timeout_ms);
    return Clock::now() >= *close_deadline;
  };
  auto pending = [&] { return spool_.count() != 0; };
  for (;;) {
    // 1. Wait for something to upload, keeping the writer lease fresh meanwhile. (Only an idle
    //    uploader is told about new records: in its window it would wake for nothing.)
    uploader_idle_ = true;
    while (!upload_cv_.wait_until(lock, next_lease_renewal(),
                                  [&] { return stop_uploader_ || pending(); })) {
      if (!stats_.conflict.empty()) continue;
      lock.unlock();
      std::string problem;
      try {
        ensure_lease();
      } catch (const RemoteConflict& e) {
        problem = e.what();
      } catch (const std::exception&) {
        // Retried at the next wake-up; uploads report store failures themselves.
      }
      lock.lock();
      note_lease_locked();
      if (!problem.empty()) {
        stats_.conflict = problem;
        log(base::LogSeverity::kError, "replication stopped: " + problem);
        uploaded_cv_.notify_all();
      }
    }
    uploader_idle_ = false;
    if (!stats_.conflict.empty()) {
      // Uploading is unsafe: stay stopped (waiters have been told) until the replicator closes.
      if (stop_uploader_) break;
      upload_cv_.wait(lock, [&] { return stop_uploader_; });
      continue;
    }
    if (stop_uploader_ && !pending()) break;
    // 2. The batching window: what is spooled meanwhile goes up together as one object. Skipped
    //    when a commit waits for remote durability or the replicator is closing.
    if (!stop_uploader_ && durability_waiters_ == 0 && interval.count() > 0) {
      upload_cv_.wait_for(lock, interval,
                          [&] { return stop_uploader_ || durability_waiters_ > 0; });
    }
    if (closing_expired()) break;
    // 3. Only durable records go up: make what is spooled durable.
    if (spool_.durable_txid() < spool_.max_txid()) {
      const uint64_t target = request_sync_locked();
      ++durable_waiters_;
      synced_cv_.wait(lock, [&] { return sync_done_ >= target || stop_syncer_; });
      --durable_waiters_;
    }
    // 4. Upload what is durable now. Not what becomes durable meanwhile (checkpoints make more
    //    durable all the time under a high commit rate): that waits for the next window, or the
    //    uploads would follow each other back to back, one PUT per upload's duration.
    const uint64_t pass_target = spool_.durable_txid();
    lock.unlock();
    bool needs_snapshot = false;
    std::string error, conflict;
    try {
      ensure_lease();
      for (;;) {
        const auto outcome = uploader_.step();
        std::lock_guard l(mu_);
        if (uploader_.remote_txid()) {
          stats_.uploaded_txid = std::max(stats_.uploaded_txid, *uploader_.remote_txid());
        }
        stats_.objects_uploaded = uploader_.objects_uploaded();
        stats_.bytes_uploaded = uploader_.bytes_uploaded();
        if (remote_failure_txid_ != 0 && stats_.uploaded_txid >= remote_failure_txid_) {
          remote_failure_txid_ = 0;
          stats_.remote_failure.clear();
        }
        if (durability_waiters_ > 0) uploaded_cv_.notify_all();
        // An idle builder may be waiting for the spool to drain after an overflow: it looks
        // again (only its own thread reads LtxBuilder's state, which is not guarded by mu_).
        if (builder_idle_) work_cv_.notify_all();
        if (outcome != Uploader::Outcome::kUploaded) {
          needs_snapshot = outcome == Uploader::Outcome::kNeedsSnapshot;
          break;
        }
        stats_.last_upload_ms = now_ms();
        stats_.last_error.clear();
        if (uploader_.remote_txid().value_or(0) >= pass_target) break;
      }
    } catch (const RemoteConflict& e) {
      conflict = e.what();
    } catch (const std::exception& e) {
      error = e.what();
    }
    lock.lock();
    note_lease_locked();
    if (!conflict.empty()) {
      stats_.conflict = conflict;
      stats_.last_error = conflict;
      log(base::LogSeverity::kError, "replication stopped: " + conflict);
      uploaded_cv_.notify_all();
      continue;
    }
    if (!error.empty()) {
      // Retry for as long as it takes (with backoff); the application keeps committing and the
      // spool keeps everything meanwhile.
      ++stats_.upload_failures;
      if (stats_.last_error != error)
        log(base::LogSeverity::kWarn, "upload failed, will retry: " + error);
      stats_.last_error = error;
      if (closing_expired()) break;
      upload_cv_.wait_for(lock, backoff, [&] { return stop_uploader_ && closing_expired(); });
      backoff = std::min(backoff * 2, milliseconds(30000));
      continue;
    }
    backoff = milliseconds(100);
    if (failure_streak > 0) {
      log(base::LogSeverity::kInfo,
          "uploading again after " + std::to_string(failure_streak) + " failed attempts");
      failure_streak = 0;
    }
    if (needs_snapshot) {
      snapshot_requested_ = true;
      work_cv_.notify_all();
      ++built_waiters_;
      built_cv_.wait(lock, [&] { return !snapshot_requested_ || stop_builder_; });
      --built_waiters_;
      if (stop_builder_ && snapshot_requested_) break;
    }
  }
}

}  // namespace ltxvfs::writer
