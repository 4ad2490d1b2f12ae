#include "vfs/core/replicator.h"

#include "vfs/core/restore_plan.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

namespace ltxvfs::core {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void warn(const std::string& message) {
  std::fprintf(stderr, "ltxvfs warning: %s\n", message.c_str());
}

}  // namespace

Replicator::Replicator(Config config, std::unique_ptr<FileAccess> files, storage::OpenedStore store,
                       std::unique_ptr<storage::ObjectStore> probe)
    : config_(std::move(config)),
      files_(std::move(files)),
      store_(std::move(store.store)),
      layout_(store.layout),
      store_stats_(store.stats ? store.stats : std::make_shared<storage::StoreStats>()),
      lock_(config_.sidecar_dir + "/lock"),
      spool_(config_.sidecar_dir + "/spool"),
      builder_(*files_, spool_, config_.sidecar_dir + "/state.json", config_.format),
      uploader_(spool_, *store_, layout_, config_.format) {
  check_remote_at_open(probe ? *probe : *store_);
  builder_thread_ = std::thread([this] { builder_loop(); });
  uploader_thread_ = std::thread([this] { uploader_loop(); });
}

Replicator::~Replicator() {
  {
    std::lock_guard lock(mu_);
    stop_builder_ = true;
  }
  work_cv_.notify_all();
  builder_thread_.join();
  {
    std::lock_guard lock(mu_);
    stop_uploader_ = true;
  }
  upload_cv_.notify_all();
  uploader_thread_.join();
  try {
    std::lock_guard build(build_mu_);
    builder_.make_durable();
  } catch (const std::exception& e) {
    warn(std::string("closing: ") + e.what());
  }
}

int64_t Replicator::now_ms() const {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Replicator::check_remote_at_open(storage::ObjectStore& probe) {
  // The newest TXID this database is known to have written: the recorded state or the spool.
  uint64_t local = spool_.max_txid();
  if (auto recorded = read_local_state(config_.sidecar_dir + "/state.json")) {
    local = std::max(local, recorded->txid);
  }
  std::optional<uint64_t> remote;
  try {
    uint64_t max = 0;
    for (const auto& f : list_ltx_files(probe, layout_)) max = std::max(max, f.max_txid);
    remote = max;
  } catch (const storage::StoreError& e) {
    if (!e.retriable()) throw std::runtime_error(e.what());
    // Unreachable store: open anyway; the uploader re-checks before its first upload.
    warn(std::string("cannot reach the replica at open, will keep trying: ") + e.what());
    return;
  }
  stats_.uploaded_txid = *remote;  // what the store already holds is acknowledged
  if (*remote > local) {
    throw std::runtime_error(
        store_->describe() + " already holds a replica at TXID " + std::to_string(*remote) +
        (local == 0 ? std::string(" that this database did not write")
                    : ", ahead of this database (TXID " + std::to_string(local) + ")") +
        ". Refusing to replicate over it: to read it, open with mode=ro; to continue it, restore "
        "it "
        "with `ltxvfs restore`; or point replica= at an empty location");
  }
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
  queue_.push_back(notice);
  work_cv_.notify_one();
  return notice.seq;
}

uint64_t Replicator::wait_built(uint64_t seq) {
  std::unique_lock lock(mu_);
  built_cv_.wait(lock, [&] { return initial_sync_done_ && processed_seq_ >= seq; });
  return seq_txid_;
}

uint64_t Replicator::flush_txid() {
  uint64_t seq = 0;
  {
    std::lock_guard lock(mu_);
    seq = next_seq_ - 1;
  }
  wait_built(seq);
  std::lock_guard lock(mu_);
  return stats_.txid;
}

void Replicator::wait_uploaded(uint64_t seq) {
  const uint64_t txid = wait_built(seq);
  std::unique_lock lock(mu_);
  ++durability_waiters_;
  upload_cv_.notify_all();
  uploaded_cv_.wait(lock, [&] {
    return stats_.uploaded_txid >= txid || !stats_.conflict.empty() || stop_uploader_;
  });
  --durability_waiters_;
  if (stats_.uploaded_txid < txid) {
    throw std::runtime_error("remote durability: TXID " + std::to_string(txid) +
                             " was not acknowledged by the store: " +
                             (stats_.conflict.empty() ? "replication stopped" : stats_.conflict));
  }
}

void Replicator::before_wal_discard() {
  drain_and_make_durable(/*after_initial_sync=*/true);
}

void Replicator::before_close_checkpoint() {
  drain_and_make_durable(/*after_initial_sync=*/false);
}

void Replicator::drain_and_make_durable(bool after_initial_sync) {
  {
    std::unique_lock lock(mu_);
    built_cv_.wait(lock, [&] {
      return (initial_sync_done_ || !after_initial_sync) && queue_.empty() && !building_;
    });
  }
  std::lock_guard build(build_mu_);
  builder_.make_durable();
}

ReplicatorStats Replicator::stats() const {
  std::lock_guard lock(mu_);
  ReplicatorStats s = stats_;
  s.spool_files = spool_.entries().size();
  s.spool_bytes = spool_.bytes();
  return s;
}

void Replicator::builder_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    // The spool drained below half its limit after an overflow: time to bridge the gap.
    auto may_resume = [&] {
      return builder_.overflowed() && spool_.bytes() <= config_.spool_limit_bytes / 2;
    };
    work_cv_.wait(lock, [&] {
      return stop_builder_ || !queue_.empty() || snapshot_requested_ || !builder_.synced() ||
             may_resume();
    });
    if (builder_.synced() && !builder_.overflowed() && !queue_.empty() &&
        spool_.bytes() > config_.spool_limit_bytes) {
      builder_.set_overflow();
      ++stats_.spool_overflows;
      warn("the spool (" + spool_.dir() + ") reached its limit of " +
           std::to_string(config_.spool_limit_bytes >> 20) +
           " MiB while the store is unreachable: commits are no longer spooled one by one; when "
           "the store is back the whole database is uploaded at the next TXID");
    }
    const bool resume = builder_.synced() && may_resume();
    if (stop_builder_ && (!builder_.synced() || (queue_.empty() && !snapshot_requested_))) break;
    std::optional<CommitNotice> notice;
    if (builder_.synced() && !queue_.empty()) {
      notice = queue_.front();
      queue_.pop_front();
    }
    const bool snapshot = builder_.synced() && !notice && !resume && snapshot_requested_;
    building_ = true;
    // The first run reads the database as it is now: writes outside the WAL before it (the switch
    // to WAL mode itself) are in what it reads.
    if (!builder_.synced()) written_outside_wal_ = false;
    lock.unlock();
    std::string error;
    bool deferred = false;
    {
      std::lock_guard build(build_mu_);
      try {
        if (!builder_.synced()) {
          deferred = !builder_.initial_sync(now_ms());
        } else if (resume) {
          builder_.resume_after_overflow(now_ms());
          if (notice) builder_.on_commit(*notice);
        } else if (notice) {
          builder_.on_commit(*notice);
        } else if (snapshot) {
          builder_.write_snapshot(now_ms(), "the store lacks the history before the spool");
        }
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    lock.lock();
    building_ = false;
    if (deferred) {
      // The database is being switched to WAL mode by the opening connection.
      work_cv_.wait_for(lock, milliseconds(20), [&] { return stop_builder_; });
      continue;
    }
    if (snapshot) snapshot_requested_ = false;
    if (!error.empty()) {
      // Start over from the recorded state at the next opportunity: it decides between
      // continuing and a full-database file, so nothing half-built is ever trusted.
      stats_.last_error = "building LTX: " + error;
      warn(stats_.last_error);
      const bool sync_failed = !builder_.synced();
      builder_.reset();
      if (sync_failed && !stop_builder_) {
        // Do not spin on a persistent error (an unreadable database, a full disk).
        work_cv_.wait_for(lock, milliseconds(1000), [&] { return stop_builder_; });
      }
      if (stop_builder_ && queue_.empty()) {
        // Do not spin on a persistent error while closing: the WAL still holds the commits.
        processed_seq_ = next_seq_ - 1;
        initial_sync_done_ = true;
        built_cv_.notify_all();
        break;
      }
    }
    for (const auto& ev : builder_.take_events()) {
      if (ev.kind != BuildEvent::Kind::kIncremental) ++stats_.full_files;
    }
    stats_.txid = builder_.txid();
    initial_sync_done_ = true;  // even after a failure: waiters must not hang on a broken disk
    if (notice) processed_seq_ = notice->seq;
    if (builder_.synced() && queue_.empty()) processed_seq_ = next_seq_ - 1;
    seq_txid_ = stats_.txid;
    built_cv_.notify_all();
    upload_cv_.notify_all();
  }
}

void Replicator::uploader_loop() {
  const auto interval = config_.durability == Durability::kRemote
                            ? milliseconds(0)
                            : milliseconds(config_.upload_interval_ms);
  auto backoff = milliseconds(100);
  std::optional<Clock::time_point> close_deadline;
  std::unique_lock lock(mu_);
  auto closing_expired = [&] {
    if (!stop_uploader_) return false;
    if (!close_deadline) close_deadline = Clock::now() + milliseconds(config_.close_timeout_ms);
    return Clock::now() >= *close_deadline;
  };
  // Spooled files the builder has recorded (see Uploader::step).
  auto uploadable = [&] {
    const auto entries = spool_.entries();
    return !entries.empty() && entries.front().max_txid <= stats_.txid;
  };
  for (;;) {
    // 1. Wait for something to upload.
    upload_cv_.wait(lock, [&] { return stop_uploader_ || uploadable(); });
    if (!stats_.conflict.empty()) {
      // Uploading is unsafe: stay stopped (waiters have been told) until the replicator closes.
      if (stop_uploader_) break;
      upload_cv_.wait(lock, [&] { return stop_uploader_; });
      continue;
    }
    if (stop_uploader_ && !uploadable()) break;
    // 2. The batching window: commits spooled meanwhile go up together as one object. Skipped
    //    when a commit waits for remote durability or the replicator is closing.
    if (!stop_uploader_ && durability_waiters_ == 0 && interval.count() > 0) {
      upload_cv_.wait_for(lock, interval,
                          [&] { return stop_uploader_ || durability_waiters_ > 0; });
    }
    if (closing_expired()) break;
    // 3. Upload until nothing is left. First record the position: the store must never be ahead
    //    of the state file (after a crash it would look like another writer's history).
    const uint64_t local_txid = stats_.txid;
    lock.unlock();
    try {
      std::lock_guard build(build_mu_);
      builder_.persist();
    } catch (const std::exception& e) {
      warn(std::string("cannot record the replication state, not uploading: ") + e.what());
      lock.lock();
      upload_cv_.wait_for(lock, backoff, [&] { return stop_uploader_ && closing_expired(); });
      continue;
    }
    bool needs_snapshot = false;
    std::string error, conflict;
    try {
      for (;;) {
        const auto outcome = uploader_.step(local_txid);
        std::lock_guard l(mu_);
        if (uploader_.remote_txid()) {
          stats_.uploaded_txid = std::max(stats_.uploaded_txid, *uploader_.remote_txid());
        }
        stats_.objects_uploaded = uploader_.objects_uploaded();
        stats_.bytes_uploaded = uploader_.bytes_uploaded();
        uploaded_cv_.notify_all();
        work_cv_.notify_all();  // the builder may be waiting for the spool to drain
        if (outcome != Uploader::Outcome::kUploaded) {
          needs_snapshot = outcome == Uploader::Outcome::kNeedsSnapshot;
          break;
        }
        stats_.last_upload_ms = now_ms();
        stats_.last_error.clear();
      }
    } catch (const RemoteConflict& e) {
      conflict = e.what();
    } catch (const std::exception& e) {
      error = e.what();
    }
    lock.lock();
    if (!conflict.empty()) {
      stats_.conflict = conflict;
      stats_.last_error = conflict;
      std::fprintf(stderr, "ltxvfs error: replication stopped: %s\n", conflict.c_str());
      uploaded_cv_.notify_all();
      continue;
    }
    if (!error.empty()) {
      // Retry for as long as it takes (with backoff); the application keeps committing and the
      // spool keeps everything meanwhile.
      ++stats_.upload_failures;
      if (stats_.last_error != error) warn("upload failed, will retry: " + error);
      stats_.last_error = error;
      if (closing_expired()) break;
      upload_cv_.wait_for(lock, backoff, [&] { return stop_uploader_ && closing_expired(); });
      backoff = std::min(backoff * 2, milliseconds(30000));
      continue;
    }
    backoff = milliseconds(100);
    if (needs_snapshot) {
      snapshot_requested_ = true;
      work_cv_.notify_all();
      built_cv_.wait(lock, [&] { return !snapshot_requested_ || stop_builder_; });
      if (stop_builder_ && snapshot_requested_) break;
    }
  }
}

}  // namespace ltxvfs::core
