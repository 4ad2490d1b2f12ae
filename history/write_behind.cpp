#include "history/write_behind.h"

#include "base/named_thread.h"

namespace ltxvfs::history {

WriteBehind::WriteBehind(ltx::PageWriter& target, uint64_t max_queued_bytes)
    : target_(target), max_queued_bytes_(max_queued_bytes) {
  thread_ = base::start_named_thread("ltx-restore-wb", [this] { work(); });
}

WriteBehind::~WriteBehind() {
  {
    base::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WriteBehind::write_pages(uint32_t first_pgno, std::span<const uint8_t> pages,
                              uint32_t page_size) {
  base::MutexLock lock(mu_);
  // Room for this run, unless nothing is queued (a run larger than the bound goes alone).
  lock.wait(cv_, [&]() REQUIRES(mu_) {
    return error_ || queued_bytes_ == 0 || queued_bytes_ + pages.size() <= max_queued_bytes_;
  });
  if (error_) std::rethrow_exception(error_);
  Run run{first_pgno, page_size, {}};
  if (!spare_.empty()) {
    run.bytes = std::move(spare_.back());
    spare_.pop_back();
  }
  run.bytes.assign(pages.begin(), pages.end());
  queued_bytes_ += pages.size();
  queue_.push_back(std::move(run));
  cv_.notify_all();
}

void WriteBehind::drain() {
  base::MutexLock lock(mu_);
  lock.wait(cv_, [&]() REQUIRES(mu_) { return error_ || (queue_.empty() && !writing_); });
  if (error_) std::rethrow_exception(error_);
}

void WriteBehind::truncate(uint32_t commit, uint32_t page_size) {
  drain();
  target_.truncate(commit, page_size);
}

void WriteBehind::work() {
  for (;;) {
    Run run;
    {
      base::MutexLock lock(mu_);
      lock.wait(cv_, [&]() REQUIRES(mu_) { return stop_ || (!queue_.empty() && !error_); });
      if (stop_) return;
      run = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
    }
    std::exception_ptr failed;
    try {
      target_.write_pages(run.first, run.bytes, run.page_size);
    } catch (...) {
      failed = std::current_exception();
    }
    {
      base::MutexLock lock(mu_);
      writing_ = false;
      queued_bytes_ -= run.bytes.size();
      if (failed && !error_) error_ = failed;
      spare_.push_back(std::move(run.bytes));
    }
    cv_.notify_all();
  }
}

}  // namespace ltxvfs::history
