#include "vfs/writer/sync_stage.h"

#include <cassert>

namespace ltxvfs::writer {

SyncStage::SyncStage(Spool& spool, ErrorNote& errors, base::LogSink log,
                     std::function<void()> on_synced)
    : spool_(spool), errors_(errors), log_(std::move(log)), on_synced_(std::move(on_synced)) {}

SyncStage::~SyncStage() {
  stop();
}

void SyncStage::start() {
  task_.start();
}

void SyncStage::stop() {
  {
    base::MutexLock lock(mu_);
    stop_ = true;
  }
  task_.stop();  // serves the requests made so far
  served_cv_.notify_all();
}

uint64_t SyncStage::request() {
  base::MutexLock lock(mu_);
  const uint64_t ticket = ++requested_;
  if (idle_) {
    idle_ = false;  // the run that notify() promises takes this request
    task_.notify();
  }
  return ticket;
}

void SyncStage::wait(uint64_t ticket) {
  base::MutexLock lock(mu_);
  while (served_ < ticket && !stop_) {
    if (!syncing_) {
      // The run may be queued behind this very thread's run: sync here.
      syncing_ = true;
      const uint64_t serving = requested_;
      lock.unlock();
      sync(serving);
      lock.lock();
      continue;
    }
    lock.wait(served_cv_, [&]() REQUIRES(mu_) { return served_ >= ticket || stop_ || !syncing_; });
  }
}

uint64_t SyncStage::syncs() const {
  base::MutexLock lock(mu_);
  return syncs_;
}

void SyncStage::run() {
  base::MutexLock lock(mu_);
  for (;;) {
    if (requested_ == served_) {
      idle_ = true;  // the next request notifies
      return;
    }
    idle_ = false;
    if (syncing_) {
      // A waiter syncs: it is going on (not queued), so this wait ends.
      lock.wait(served_cv_, [&]() REQUIRES(mu_) { return !syncing_; });
      continue;
    }
    syncing_ = true;
    const uint64_t serving = requested_;
    lock.unlock();
    sync(serving);
    lock.lock();
  }
}

void SyncStage::sync(uint64_t serving) {
  try {
    spool_.make_durable();
  } catch (const std::exception& e) {
    // Waiters are released anyway (SQLite must not hang on a broken disk); the records stay
    // undurable, so they are not uploaded, and the WAL or a full file makes up for them.
    const std::string error = std::string("making the spool durable: ") + e.what();
    if (errors_.set(error) && log_) log_(base::LogSeverity::kWarn, error);
  }
  {
    base::MutexLock lock(mu_);
    ++syncs_;
    assert(serving >= served_);
    served_ = serving;
    syncing_ = false;
  }
  served_cv_.notify_all();  // waiters, and a run waiting for this sync
  if (on_synced_) on_synced_();
}

}  // namespace ltxvfs::writer
