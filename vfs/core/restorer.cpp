#include "vfs/core/restorer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "ltx/applier.h"
#include "ltx/header.h"
#include "ltx/source.h"
#include "vfs/core/posix_file.h"

namespace ltxvfs::core {

RestoreResult restore(storage::ObjectStore& store, const std::vector<RemoteFile>& plan,
                      const std::string& output_path, const RestoreOptions& options) {
  if (plan.empty()) throw RestoreError("nothing to restore: the replica has no files");
  struct stat st {};
  if (!options.overwrite && ::stat(output_path.c_str(), &st) == 0) {
    throw RestoreError(output_path + " already exists; choose another output or pass --force");
  }
  const std::string temp = output_path + ".ltxvfs-restore.tmp";
  Fd fd(::open(temp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) throw_errno("create", temp);
  struct TempGuard {
    const std::string& path;
    bool keep = false;
    ~TempGuard() {
      if (!keep) ::unlink(path.c_str());
    }
  } guard{temp};

  // Downloads run ahead of the applier by at most `parallelism` files, in plan order.
  std::mutex mu;
  std::condition_variable cv;
  std::map<size_t, std::vector<uint8_t>> ready;
  size_t next_download = 0, next_apply = 0;
  std::exception_ptr failure;
  RestoreProgress progress;
  progress.files_total = plan.size();
  for (const auto& f : plan) progress.bytes_total += f.size;
  const unsigned workers =
      std::max(1u, std::min<unsigned>(options.parallelism, static_cast<unsigned>(plan.size())));
  auto worker = [&] {
    for (;;) {
      size_t i;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] {
          return failure || next_download >= plan.size() || next_download < next_apply + workers;
        });
        if (failure || next_download >= plan.size()) return;
        i = next_download++;
      }
      try {
        auto got = store.get(plan[i].key);
        std::lock_guard lock(mu);
        progress.bytes_downloaded += got.body.size();
        ready.emplace(i, std::move(got.body));
      } catch (...) {
        std::lock_guard lock(mu);
        if (!failure) failure = std::current_exception();
      }
      cv.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < workers; ++t) threads.emplace_back(worker);

  ltx::FdPageWriter writer(fd.get(), temp);
  ltx::ChainApplier applier(writer);
  try {
    for (size_t i = 0; i < plan.size(); ++i) {
      std::vector<uint8_t> body;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return failure || ready.count(i) != 0; });
        if (failure) std::rethrow_exception(failure);
        body = std::move(ready.at(i));
        ready.erase(i);
      }
      ltx::MemorySource source(body);
      applier.apply(source, plan[i].key);
      {
        std::lock_guard lock(mu);
        next_apply = i + 1;
        progress.files_done = i + 1;
        if (options.progress) options.progress(progress);
      }
      cv.notify_all();
    }
  } catch (...) {
    {
      std::lock_guard lock(mu);
      if (!failure) failure = std::current_exception();
    }
    cv.notify_all();
    for (auto& t : threads) t.join();
    throw;
  }
  for (auto& t : threads) t.join();

  if (::fsync(fd.get()) != 0) throw_errno("fsync", temp);
  if (::rename(temp.c_str(), output_path.c_str()) != 0)
    throw_errno("rename to " + output_path, temp);
  guard.keep = true;
  fsync_path(directory_of(output_path));
  const auto& s = applier.state();
  return {s.txid, s.page_size, s.commit, progress.bytes_downloaded};
}

uint64_t txid_at_time(storage::ObjectStore& store, const std::vector<RemoteFile>& files,
                      int64_t timestamp_ms) {
  // Candidate end points: the max TXID of each file, each with a file ending there.
  std::map<uint64_t, const RemoteFile*> ends;
  for (const auto& f : files) {
    auto& slot = ends[f.max_txid];
    if (slot == nullptr || f.level < slot->level) slot = &f;  // L0 ends are the most precise
  }
  std::vector<std::pair<uint64_t, const RemoteFile*>> points(ends.begin(), ends.end());
  auto time_of = [&](const RemoteFile& f) {
    auto got = store.get(f.key, storage::ByteRange::at(0, ltx::kHeaderSize));
    return ltx::Header::decode(got.body, f.key).timestamp_ms;
  };
  // Commit times grow with TXIDs: binary search for the last end point at or before the time.
  size_t lo = 0, hi = points.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (time_of(*points[mid].second) <= timestamp_ms) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) {
    throw RestoreError("every transaction in the replica is newer than the requested time");
  }
  return points[lo - 1].first;
}

}  // namespace ltxvfs::core
