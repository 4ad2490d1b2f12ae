#include "history/restore_downloads.h"

#include <algorithm>
#include <cassert>

#include "base/named_thread.h"
#include "ltx/error.h"

namespace ltxvfs::history {

RestoreDownloads::RestoreDownloads(storage::ObjectStore& store, const std::vector<RemoteFile>& plan,
                                   const RestoreOptions& options, RestoreOutput& output)
    : store_(store),
      plan_(plan),
      options_(options),
      output_(output),
      workers_(std::max(
          1u, std::min<unsigned>(options.parallelism, static_cast<unsigned>(plan.size())))),
      window_(size_t{kWindowPerWorker} * workers_),
      held_bound_(std::max(options.held_bytes, options.stream_above)) {
  progress_.files_total = plan.size();
  for (const auto& f : plan) progress_.bytes_total += f.size;
  try {
    for (unsigned t = 0; t < workers_; ++t) {
      threads_.push_back(base::start_named_thread("ltx-restore-get", [this] { download(); }));
      threads_.push_back(base::start_named_thread("ltx-restore-dec", [this] { decode(); }));
    }
  } catch (...) {
    stop_and_join();
    throw;
  }
}

RestoreDownloads::~RestoreDownloads() {
  stop_and_join();
}

Fetched RestoreDownloads::take(size_t i) {
  base::MutexLock lock(mu_);
  assert(i == next_apply_);
  lock.wait(cv_, [&]() REQUIRES(mu_) { return failure_ || ready_.count(i) != 0; });
  if (failure_) std::rethrow_exception(failure_);
  auto file = std::move(ready_.at(i));
  ready_.erase(i);
  return file;
}

void RestoreDownloads::applied(size_t i, uint64_t streamed) {
  {
    base::MutexLock lock(mu_);
    progress_.bytes_downloaded += streamed;
    next_apply_ = i + 1;
    progress_.files_done = i + 1;
    if (options_.progress) options_.progress(progress_);
  }
  cv_.notify_all();
}

uint64_t RestoreDownloads::bytes_downloaded() const {
  base::MutexLock lock(mu_);
  return progress_.bytes_downloaded;
}

void RestoreDownloads::download() {
  for (;;) {
    size_t i;
    std::shared_ptr<StreamedSource> source;
    {
      base::MutexLock lock(mu_);
      // The window: downloads run at most window_ files ahead of the applier, and hold at most
      // held_bound_ bytes.
      lock.wait(cv_, [&]() REQUIRES(mu_) {
        if (stop_ || failure_ || next_download_ >= plan_.size()) return true;
        const uint64_t size = plan_[next_download_].size;
        return next_download_ < next_apply_ + window_ &&
               (options_.streams(plan_, next_download_) || held_ + size <= held_bound_);
      });
      if (stop_ || failure_ || next_download_ >= plan_.size()) return;
      i = next_download_++;
      if (options_.streams(plan_, i)) {
        ready_.emplace(i, Fetched{});
      } else {
        source = std::make_shared<StreamedSource>(plan_[i].key, plan_[i].size);
        arriving_.emplace_back(i, source);
        held_ += plan_[i].size;
      }
    }
    cv_.notify_all();
    if (source) source->fetch(store_);  // its outcome goes to the thread decoding it
  }
}

void RestoreDownloads::decode() {
  ltx::PageDecompressor decompressor;  // a context per thread: they are costly to create
  for (;;) {
    size_t i;
    std::shared_ptr<StreamedSource> source;
    {
      base::MutexLock lock(mu_);
      lock.wait(cv_, [&]() REQUIRES(mu_) { return stop_ || failure_ || !arriving_.empty(); });
      if (stop_ || failure_) return;
      std::tie(i, source) = std::move(arriving_.front());
      arriving_.pop_front();
    }
    Fetched f;
    std::exception_ptr failed;  // the store's error (from the download), or the output's (a write)
    try {
      try {
        // Written as it is decoded: if the file turns out bad, so does this restore, whose output
        // is then removed.
        RestoreOutput::FileWriter writer(output_);
        writer.set_file(i);
        f.decoded = ltx::decode_file(*source, plan_[i].key, decompressor, writer);
        f.etag = source->etag();
      } catch (const ltx::LtxError&) {
        f.bad = std::current_exception();  // the bytes are bad, or not the object listed
      }
    } catch (...) {
      failed = std::current_exception();
    }
    source.reset();  // its bytes are no longer needed
    {
      base::MutexLock lock(mu_);
      held_ -= plan_[i].size;
      if (failed) {
        if (!failure_) failure_ = failed;
      } else {
        progress_.bytes_downloaded += plan_[i].size;
        ready_.emplace(i, std::move(f));
        // Only files inside the window wait here: memory is bounded by it.
        assert(ready_.size() <= window_);
      }
    }
    cv_.notify_all();
  }
}

void RestoreDownloads::stop_and_join() {
  {
    base::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

}  // namespace ltxvfs::history
