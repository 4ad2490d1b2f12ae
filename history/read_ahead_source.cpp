#include "history/read_ahead_source.h"

#include <algorithm>
#include <cstring>

#include "base/named_thread.h"

namespace ltxvfs::history {

ReadAheadSource::ReadAheadSource(storage::ObjectStore& store, std::string key, uint64_t size,
                                 unsigned parallelism, uint64_t chunk)
    : store_(store),
      key_(std::move(key)),
      size_(size),
      chunk_(std::max<uint64_t>(chunk, 4096)),
      count_(static_cast<size_t>((size + chunk_ - 1) / chunk_)),
      workers_(std::max(1u, std::min<unsigned>(parallelism, static_cast<unsigned>(count_)))) {
  try {
    for (unsigned t = 0; t < workers_ && count_ > 0; ++t) {
      threads_.push_back(base::start_named_thread("ltx-restore-ra", [this] { work(); }));
    }
  } catch (...) {
    stop_and_join();
    throw;
  }
}

ReadAheadSource::~ReadAheadSource() {
  stop_and_join();
}

std::pair<ReadAheadSource::Chunk, std::string> ReadAheadSource::fetch(size_t c) const {
  const uint64_t offset = c * chunk_;
  auto bytes = std::make_shared<std::vector<uint8_t>>(std::min(chunk_, size_ - offset));
  // RemoteSource checks the object's size and the length the store returned.
  RemoteSource one(store_, key_, size_, bytes->size());
  one.read_at(offset, *bytes);
  return {std::move(bytes), one.etag()};
}

void ReadAheadSource::work() {
  for (;;) {
    size_t c;
    {
      base::MutexLock lock(mu_);
      lock.wait(cv_, [&]() REQUIRES(mu_) {
        return stop_ || failure_ || next_fetch_ >= count_ || next_fetch_ <= low_ + workers_;
      });
      if (stop_ || failure_ || next_fetch_ >= count_) return;
      c = next_fetch_++;
    }
    try {
      auto [bytes, etag] = fetch(c);
      base::MutexLock lock(mu_);
      if (etag_.empty()) etag_ = etag;
      if (!etag.empty() && etag != etag_) {
        object_replaced(key_, "another etag");
      }
      bytes_ += bytes->size();
      if (c >= low_) ready_.emplace(c, std::move(bytes));
    } catch (...) {
      base::MutexLock lock(mu_);
      if (!failure_) failure_ = std::current_exception();
    }
    cv_.notify_all();
  }
}

ReadAheadSource::Chunk ReadAheadSource::wait_for(size_t c) const {
  base::MutexLock lock(mu_);
  if (c < low_) return nullptr;
  if (c > low_) {
    // The reader moved on: what lies behind is dropped, and the window slides.
    ready_.erase(ready_.begin(), ready_.lower_bound(c));
    low_ = c;
    cv_.notify_all();
  }
  lock.wait(cv_, [&]() REQUIRES(mu_) { return failure_ || ready_.count(c) != 0; });
  if (failure_) std::rethrow_exception(failure_);
  return ready_.at(c);
}

void ReadAheadSource::read_at(uint64_t offset, std::span<uint8_t> out) const {
  check_within_object(key_, size_, offset, out.size());
  while (!out.empty()) {
    const size_t c = static_cast<size_t>(offset / chunk_);
    Chunk chunk = wait_for(c);
    if (!chunk) {  // behind the reader: fetched again, not kept
      chunk = fetch(c).first;
      base::MutexLock lock(mu_);
      bytes_ += chunk->size();
    }
    const uint64_t at = offset - c * chunk_;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), chunk->size() - at));
    std::memcpy(out.data(), chunk->data() + at, n);
    out = out.subspan(n);
    offset += n;
  }
}

uint64_t ReadAheadSource::bytes() const {
  base::MutexLock lock(mu_);
  return bytes_;
}

std::string ReadAheadSource::etag() const {
  base::MutexLock lock(mu_);
  return etag_;
}

void ReadAheadSource::stop_and_join() {
  {
    base::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

}  // namespace ltxvfs::history
