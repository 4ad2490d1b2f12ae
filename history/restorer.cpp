#include "history/restorer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "base/posix_file.h"
#include "base/time_spec.h"
#include "history/remote_source.h"
#include "ltx/applier.h"
#include "ltx/header.h"
#include "ltx/source.h"

namespace ltxvfs::history {
namespace {

// Files larger than this are streamed in chunks instead of downloaded whole ahead of applying.
constexpr uint64_t kStreamAbove = 16u << 20;

}  // namespace

std::vector<std::string> sqlite_sidecar_paths(const std::string& db_path) {
  return {db_path + "-wal", db_path + "-shm", db_path + "-journal"};
}

RestoreResult restore(storage::ObjectStore& store, const std::vector<RemoteFile>& plan,
                      const std::string& output_path, const RestoreOptions& options) {
  if (plan.empty()) throw RestoreError("nothing to restore: the replica has no files");
  struct stat st {};
  if (!options.overwrite) {
    if (::stat(output_path.c_str(), &st) == 0) {
      throw RestoreError(output_path + " already exists; choose another output or pass --force");
    }
    // Left by a database that used to be here: SQLite would apply a WAL or a hot journal to the
    // restored file the first time it opens it, silently mixing in the old database.
    for (const auto& path : sqlite_sidecar_paths(output_path)) {
      if (::lstat(path.c_str(), &st) == 0) {
        throw RestoreError(path +
                           " exists (left by an earlier database of that name): SQLite "
                           "would apply it to the restored database. Remove it, choose "
                           "another output, or pass --force to remove it");
      }
    }
  }
  const std::string temp = output_path + ".ltxvfs-restore.tmp";
  base::Fd fd(::open(temp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) base::throw_errno("create", temp);
  struct TempGuard {
    const std::string& path;
    bool keep = false;
    ~TempGuard() {
      if (!keep) ::unlink(path.c_str());
    }
  } guard{temp};

  // Downloads run ahead of the applier by at most `parallelism` files, in plan order. Large
  // files (a snapshot of a big database) are not downloaded ahead: the applier streams them in
  // chunks, so memory stays bounded by parallelism x kStreamAbove.
  std::mutex mu;
  std::condition_variable cv;
  std::map<size_t, std::optional<std::vector<uint8_t>>> ready;  // nullopt: stream it
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
        if (plan[i].size > kStreamAbove) {
          std::lock_guard lock(mu);
          ready.emplace(i, std::nullopt);
        } else {
          auto got = store.get(plan[i].key);
          std::lock_guard lock(mu);
          progress.bytes_downloaded += got.body.size();
          ready.emplace(i, std::move(got.body));
        }
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
      std::optional<std::vector<uint8_t>> body;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return failure || ready.count(i) != 0; });
        if (failure) std::rethrow_exception(failure);
        body = std::move(ready.at(i));
        ready.erase(i);
      }
      uint64_t streamed = 0;
      if (body) {
        ltx::MemorySource source(*body);
        applier.apply(source, plan[i].key);
      } else {
        RemoteSource source(store, plan[i].key, plan[i].size);
        applier.apply(source, plan[i].key);
        streamed = source.stats().bytes;
      }
      {
        std::lock_guard lock(mu);
        progress.bytes_downloaded += streamed;
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

  if (::fsync(fd.get()) != 0) base::throw_errno("fsync", temp);
  if (options.verify) options.verify(temp);
  // The old database's WAL, shared memory and journal go before the new file takes its name; a
  // crash in between leaves the old database without them, which --force asked to replace.
  if (options.overwrite) {
    for (const auto& path : sqlite_sidecar_paths(output_path)) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) base::throw_errno("remove", path);
    }
  }
  if (::rename(temp.c_str(), output_path.c_str()) != 0)
    base::throw_errno("rename to " + output_path, temp);
  guard.keep = true;
  base::fsync_path(base::directory_of(output_path));
  const auto& s = applier.state();
  return {s.txid, s.page_size, s.commit, progress.bytes_downloaded};
}

uint64_t txid_at_time(storage::ObjectStore& store, const std::vector<RemoteFile>& files,
                      int64_t timestamp_ms) {
  // Candidate points: the TXIDs a chain restores, each with the files ending there. Level 0 files
  // come first (they record the exact commit time); a file that vanished meanwhile (compaction
  // and retention run while we read) is replaced by another one ending at the same TXID.
  const RestoreGraph graph(files);
  std::map<uint64_t, std::vector<const RemoteFile*>> ends;
  for (const auto& f : files) {
    if (graph.restorable(f.max_txid)) ends[f.max_txid].push_back(&f);
  }
  if (ends.empty()) throw RestoreError("the replica holds no restorable TXID");
  std::vector<std::pair<uint64_t, std::vector<const RemoteFile*>>> points(ends.begin(), ends.end());
  for (auto& [txid, candidates] : points) {
    std::sort(candidates.begin(), candidates.end(),
              [](const RemoteFile* a, const RemoteFile* b) { return a->level < b->level; });
  }
  auto time_of = [&](const std::vector<const RemoteFile*>& candidates) {
    for (size_t i = 0;; ++i) {
      try {
        auto got = store.get(candidates[i]->key, storage::ByteRange::at(0, ltx::kHeaderSize));
        return ltx::Header::decode(got.body, candidates[i]->key).timestamp_ms;
      } catch (const storage::StoreError& e) {
        if (e.kind() != storage::StoreErrorKind::kNotFound || i + 1 == candidates.size()) throw;
      }
    }
  };
  // Commit times grow with TXIDs: binary search for the last point at or before the time.
  size_t lo = 0, hi = points.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (time_of(points[mid].second) <= timestamp_ms) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) {
    throw RestoreError(
        "every restorable transaction in the replica is newer than the requested "
        "time: the oldest restorable TXID is " +
        std::to_string(points.front().first) + ", committed at " +
        base::format_rfc3339_ms(time_of(points.front().second)));
  }
  return points[lo - 1].first;
}

}  // namespace ltxvfs::history
