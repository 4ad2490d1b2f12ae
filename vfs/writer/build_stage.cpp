#include "vfs/writer/build_stage.h"

#include <cassert>
#include <utility>

#include "base/time_spec.h"

namespace ltxvfs::writer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Upper bound of what one queued commit adds to the spool: its WAL frames, uncompressed.
uint64_t frame_bytes_of(const CommitNotice& n) {
  return uint64_t{n.frame_count()} * n.after.page_size;  // read_wal_index_header: 65536, not 1
}

}  // namespace

BuildStage::BuildStage(const Config& config, LtxBuilder& builder, Spool& spool, ErrorNote& errors,
                       base::LogSink log, AfterBatch after_batch)
    : config_(config),
      spool_(spool),
      errors_(errors),
      log_(std::move(log)),
      after_batch_(std::move(after_batch)),
      builder_(builder) {}

BuildStage::~BuildStage() {
  stop();
}

void BuildStage::start(std::optional<LocalState> recorded, std::string recorded_problem,
                       uint64_t txid) {
  recorded_ = std::move(recorded);
  recorded_problem_ = std::move(recorded_problem);
  {
    base::MutexLock lock(mu_);
    stats_.txid = txid;
  }
  task_.start();
  // The first commit (into an empty WAL, or a restart) waits for this first run: it starts while
  // the open goes on, before other databases' queued runs.
  task_.hurry();
}

void BuildStage::stop() {
  {
    base::MutexLock lock(mu_);
    stop_ = true;
    retry_at_.reset();
    wake_builder();  // a last run builds what is queued
  }
  task_.notify();  // also when a retry is put off (wake_builder() then only signals work_cv_)
  task_.stop();
}

void BuildStage::wake_builder() {
  if (idle_) {
    idle_ = false;  // the run notify() promises sees everything set so far
    task_.notify();
  } else {
    work_cv_.notify_all();
  }
}

void BuildStage::log(base::LogSeverity severity, const std::string& message) const {
  if (log_) log_(severity, message);
}

void BuildStage::note_write_outside_wal() {
  base::MutexLock lock(mu_);
  written_outside_wal_ = true;
}

uint64_t BuildStage::commit(CommitNotice notice) {
  base::MutexLock lock(mu_);
  notice.seq = next_seq_++;
  notice.database_written_outside_wal = std::exchange(written_outside_wal_, false);
  notice.time_ms = base::now_ms();
  if (!notice.restart_only()) ++stats_.commits;
  const uint64_t frames = notice.frame_count();
  queue_.push_back(std::move(notice));
  queued_frames_ += frames;
  // A busy builder takes it with the next batch. A gathering one looks at the queue by itself
  // while commits come fast (BatchPacing: waking it here would cost this thread a futex call per
  // batch), and is woken by the commit that fills the batch while they come slowly; one
  // gathering far more than a batch (a burst of large transactions) is woken at once.
  const size_t scale = pace_.scale;
  const bool filled = BatchPacing::full(queue_.size(), queued_frames_, scale) &&
                      !BatchPacing::full(queue_.size() - 1, queued_frames_ - frames, scale);
  const bool overfull = queued_frames_ >= BatchPacing::kWakeFrames &&
                        queued_frames_ - frames < BatchPacing::kWakeFrames;
  if (idle_) {
    wake_builder();
  } else if (napping_ && (overfull || (pace_.wake_when_full && filled))) {
    work_cv_.notify_one();
  }
  return queue_.back().seq;
}

void BuildStage::wait_until_built(base::MutexLock& lock, uint64_t seq) {
  if (initial_sync_done_ && processed_seq_ >= seq) return;
  ++built_waiters_;
  if (napping_) work_cv_.notify_all();  // someone waits: build now
  task_.hurry();                        // ... before other databases' queued runs
  lock.wait(built_cv_, [&]() REQUIRES(mu_) { return initial_sync_done_ && processed_seq_ >= seq; });
  --built_waiters_;
}

uint64_t BuildStage::wait_built(uint64_t seq) {
  base::MutexLock lock(mu_);
  wait_until_built(lock, seq);
  return seq_txid_;
}

uint64_t BuildStage::wait_all_built() {
  // SQLite's thread blocks here (a WAL overwrite): its core is free for a second compressing
  // thread meanwhile (page_feeder.h).
  struct Hurry {
    LtxBuilder& builder;
    explicit Hurry(LtxBuilder& b) : builder(b) { builder.hurry(true); }
    ~Hurry() { builder.hurry(false); }
  } hurry(builder_);
  base::MutexLock lock(mu_);
  wait_until_built(lock, next_seq_ - 1);
  return stats_.txid;
}

void BuildStage::wait_first_run() {
  base::MutexLock lock(mu_);
  wait_until_built(lock, 0);  // no commit: only the first run
}

bool BuildStage::request_snapshot() {
  base::MutexLock lock(mu_);
  // Once stop_ is set, the last run may have looked already: nobody would build it.
  if (stop_) return false;
  snapshot_requested_ = true;
  wake_builder();
  if (napping_) work_cv_.notify_all();  // ends a gathering
  return true;
}

bool BuildStage::snapshot_pending() const {
  base::MutexLock lock(mu_);
  return snapshot_requested_;
}

void BuildStage::wake() {
  base::MutexLock lock(mu_);
  if (idle_) wake_builder();
}

BuildStats BuildStage::stats() const {
  base::MutexLock lock(mu_);
  return stats_;
}

std::optional<LocalState> BuildStage::position_to_resume() const {
  // After a failed build: whatever the spool holds is built; the recorded state covers the rest.
  const std::optional<LocalState> spooled = spool_.newest_state();
  if (spooled && (!recorded_ || spooled->txid >= recorded_->txid)) return spooled;
  return recorded_;
}

void BuildStage::take_batch_within_spool_limit(std::vector<CommitNotice>& batch) {
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

void BuildStage::gather(base::MutexLock& lock, BatchPacing::LastBatch& last_batch) {
  // Commits keep coming: let the next ones gather into a batch instead of building them one or
  // two at a time, looking at the queue every kPoll while commits come fast, or woken by the
  // commit that fills a larger batch while they come slowly (as the last gathering measured).
  // Anyone waiting for the build (a checkpoint, a WAL restart, a flush) ends it at once.
  napping_ = true;
  pace_ = BatchPacing::next_pace(last_batch);
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + BatchPacing::kMaxGather;
  const auto waited_for = [&]() REQUIRES(mu_) {
    return stop_ || built_waiters_ > 0 || snapshot_requested_;
  };
  const auto batch_full = [&]() REQUIRES(mu_) {
    return BatchPacing::full(queue_.size(), queued_frames_, pace_.scale);
  };
  Clock::time_point now = start;
  for (; !(waited_for() || batch_full()) && now < end; now = Clock::now()) {
    lock.wait_until(work_cv_, pace_.wake_when_full ? end : BatchPacing::next_look(start, now));
  }
  // How long a whole batch took to gather (unknown when someone cut it short).
  if (batch_full() || now >= end) {
    last_batch = {std::chrono::duration_cast<std::chrono::microseconds>(now - start), queue_.size(),
                  queued_frames_, pace_.scale};
  }
  napping_ = false;
}

std::string BuildStage::build_unlocked(Run kind, const std::vector<CommitNotice>& batch,
                                       const std::optional<LocalState>& recorded) {
  std::string error;
  try {
    switch (kind) {
      case Run::kFirst:
        builder_.initial_sync(recorded, recorded_problem_, base::now_ms());
        break;
      case Run::kResume:
        builder_.resume_after_overflow(base::now_ms());
        builder_.build(batch);
        break;
      case Run::kBatch:
        if (!batch.empty()) builder_.build(batch);
        break;
      case Run::kSnapshot:
        builder_.write_snapshot(base::now_ms(), "the store lacks the history before the spool");
        break;
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  recorded_problem_.clear();
  if (error.empty()) return error;
  // Start over from the recorded position at the next opportunity: it decides between continuing
  // and a full-database file, so nothing half-built is ever trusted. The WAL still holds what this
  // run failed to build.
  error = "building LTX: " + error;
  errors_.set(error);
  log(base::LogSeverity::kWarn, error);
  builder_.reset();
  return error;
}

void BuildStage::note_events(const std::vector<BuildEvent>& events) {
  for (const auto& ev : events) {
    ++stats_.batches;
    if (ev.kind != BuildEvent::Kind::kIncremental) {
      ++stats_.full_files;
      log(base::LogSeverity::kInfo, "TXID " + std::to_string(ev.max_txid) + ": full file (" +
                                        std::to_string(ev.pages) + " pages), " + ev.reason);
    }
  }
}

bool BuildStage::after_failure(bool first) {
  if (first) {
    // The next first run reads the database and the WAL as they are then and ships them as a
    // full file from the recorded position: whatever is queued now is in it. Nobody may wait for
    // these commits meanwhile, or a checkpoint would hang for as long as the error lasts (a full
    // disk under <db>-ltx held COMMIT for as long as it stayed full).
    queue_.clear();
    queued_frames_ = 0;
    release_waiters();
    // Do not spin on a persistent error (an unreadable database, a full disk): the next run
    // comes in a second (run() asks for it then), or at stop().
    if (!stop_) retry_at_ = Clock::now() + milliseconds(1000);
  }
  if (stop_ && queue_.empty()) {
    release_waiters();
    return false;
  }
  return true;
}

void BuildStage::release_waiters() {
  processed_seq_ = next_seq_ - 1;
  initial_sync_done_ = true;
  if (built_waiters_ > 0) built_cv_.notify_all();
}

void BuildStage::run() {
  base::MutexLock lock(mu_);
  std::vector<CommitNotice> batch;
  // The spool drained below half its limit after an overflow: time to bridge the gap.
  auto may_resume = [&] {
    return builder_.overflowed() && spool_.bytes() <= config_.spool_limit_bytes / 2;
  };
  if (!(stop_ || !queue_.empty() || snapshot_requested_ || !builder_.synced() || may_resume())) {
    idle_ = true;  // the next commit, snapshot request or wake() asks for a run
    return;
  }
  idle_ = false;
  if (retry_at_ && Clock::now() < *retry_at_) {
    task_.notify_at(*retry_at_);  // commits meanwhile queue (idle_ is false: no run per commit)
    return;
  }
  retry_at_.reset();
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
  if (stop_ && !first && queue_.empty() && !snapshot_requested_) return;
  if (!first) take_batch_within_spool_limit(batch);
  // Commits are taken in the order they were queued, none skipped or taken twice.
  assert(batch.empty() || batch.front().seq == processed_seq_ + 1);
  assert(batch.empty() || batch.back().seq == batch.front().seq + batch.size() - 1);
  const bool snapshot = !first && batch.empty() && !resume && snapshot_requested_;
  const Run kind = first      ? Run::kFirst
                   : resume   ? Run::kResume
                   : snapshot ? Run::kSnapshot
                              : Run::kBatch;
  // The first run reads the database as it is now: writes outside the WAL before it are in
  // what it reads.
  if (first) written_outside_wal_ = false;
  const std::optional<LocalState> recorded = first ? position_to_resume() : std::nullopt;
  lock.unlock();
  const std::string error = build_unlocked(kind, batch, recorded);
  const auto events = builder_.take_events();
  lock.lock();
  if (snapshot) snapshot_requested_ = false;
  note_events(events);
  if (!error.empty() && !after_failure(first)) return;
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
  const bool spooled = error.empty() && (!batch.empty() || first || resume || snapshot);
  if (after_batch_) {
    lock.unlock();
    after_batch_(eager && spooled);
    lock.lock();
  }
  if (!eager && !batch.empty() && error.empty()) gather(lock, last_batch_);
  // One batch per run: the next run, which builds what is queued by then (or finds nothing and
  // ends), comes after the other databases' queued runs, unless someone waits for it.
  task_.notify();
  if (built_waiters_ > 0) task_.hurry();
}

}  // namespace ltxvfs::writer
