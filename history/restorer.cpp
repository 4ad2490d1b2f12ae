#include "history/restorer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <condition_variable>
#include <exception>
#include <map>
#include <optional>
#include <thread>

#include "base/mutex.h"
#include "base/named_thread.h"
#include "base/posix_file.h"
#include "base/time_spec.h"
#include "history/read_ahead_source.h"
#include "ltx/applier.h"
#include "ltx/decoded_file.h"
#include "ltx/error.h"
#include "ltx/header.h"
#include "ltx/source.h"

namespace ltxvfs::history {
namespace {

// Files larger than this are streamed in chunks (ReadAheadSource: up to `parallelism` ranged GETs
// ahead of the decoder) instead of downloaded whole ahead of applying.
constexpr uint64_t kStreamAbove = 16u << 20;
// A file downloaded ahead is decoded ahead too unless its pages exceed this (zero pages compress
// ~200:1 in zstd, so a 16 MiB object can stand for GBs of pages): then the applier decodes it.
// Bounds the memory of the window at parallelism x (kStreamAbove + kDecodeAheadBytes).
constexpr size_t kDecodeAheadBytes = 64u << 20;

// File i of the plan, as the applier gets it.
struct Fetched {
  std::optional<ltx::DecodedFile> decoded;   // decoded and verified by a worker
  std::optional<std::vector<uint8_t>> body;  // or the raw bytes (too many pages to decode ahead)
  std::exception_ptr bad;                    // or why decoding it failed (the file is bad)
  // None of them: a large file, which the applier streams.
};

// The downloads of a restore: up to `parallelism` threads (ltx-restore-get) fetch the plan's files
// in plan order, at most that many files ahead of the applier, and decode and verify each one
// (decompression and CRCs: nearly all of a restore's CPU, which a single thread could do at only
// ~300 MB/s of objects), while the caller's thread applies them in order. Large files (a snapshot
// of a big database) are not downloaded ahead: the applier streams them in chunks, so memory stays
// bounded by parallelism x kStreamAbove.
//
// Not base::parallel_for: this is a pipeline, not a fan-out. The caller consumes file i while
// later files download, and a download waits for the applier to free a slot; parallel_for returns
// only once every item is done, so it would hold every body at once or serialise the two.
//
// Threads: the workers (work()) and the applying thread (take(), applied(), bytes_downloaded());
// the destructor stops the workers and joins them.
class Downloads {
 public:
  Downloads(storage::ObjectStore& store, const std::vector<RemoteFile>& plan,
            const RestoreOptions& options)
      : store_(store),
        plan_(plan),
        options_(options),
        workers_(std::max(
            1u, std::min<unsigned>(options.parallelism, static_cast<unsigned>(plan.size())))) {
    progress_.files_total = plan.size();
    for (const auto& f : plan) progress_.bytes_total += f.size;
    try {
      for (unsigned t = 0; t < workers_; ++t) {
        threads_.push_back(base::start_named_thread("ltx-restore-get", [this] { work(); }));
      }
    } catch (...) {
      stop_and_join();
      throw;
    }
  }
  ~Downloads() { stop_and_join(); }
  Downloads(const Downloads&) = delete;
  Downloads& operator=(const Downloads&) = delete;

  // Waits for file i and hands it over; rethrows a download's error. A file that failed to decode
  // comes back with `bad` set, so that errors surface in chain order as they did when the
  // applier decoded. Called with i = 0, 1, 2, ... in order.
  Fetched take(size_t i) EXCLUDES(mu_) {
    base::MutexLock lock(mu_);
    assert(i == next_apply_);
    lock.wait(cv_, [&]() REQUIRES(mu_) { return failure_ || ready_.count(i) != 0; });
    if (failure_) std::rethrow_exception(failure_);
    auto body = std::move(ready_.at(i));
    ready_.erase(i);
    return body;
  }

  // File i is applied (`streamed` bytes were read while applying it): frees its slot for a
  // download and reports progress.
  void applied(size_t i, uint64_t streamed) EXCLUDES(mu_) {
    {
      base::MutexLock lock(mu_);
      progress_.bytes_downloaded += streamed;
      next_apply_ = i + 1;
      progress_.files_done = i + 1;
      if (options_.progress) options_.progress(progress_);
    }
    cv_.notify_all();
  }

  uint64_t bytes_downloaded() const EXCLUDES(mu_) {
    base::MutexLock lock(mu_);
    return progress_.bytes_downloaded;
  }

 private:
  void work() EXCLUDES(mu_) {
    ltx::PageDecompressor decompressor;  // a context per thread: they are costly to create
    for (;;) {
      size_t i;
      {
        base::MutexLock lock(mu_);
        lock.wait(cv_, [&]() REQUIRES(mu_) {
          return stop_ || failure_ || next_download_ >= plan_.size() ||
                 next_download_ < next_apply_ + workers_;
        });
        if (stop_ || failure_ || next_download_ >= plan_.size()) return;
        i = next_download_++;
        // The window: downloads run at most workers_ files ahead of the applier.
        assert(next_download_ <= next_apply_ + workers_);
      }
      try {
        if (plan_[i].size > kStreamAbove) {
          base::MutexLock lock(mu_);
          ready_.emplace(i, Fetched{});
        } else {
          auto got = store_.get(plan_[i].key);
          const uint64_t size = got.body.size();
          Fetched f = decode(plan_[i].key, std::move(got.body), decompressor);
          base::MutexLock lock(mu_);
          progress_.bytes_downloaded += size;
          ready_.emplace(i, std::move(f));
          // Only files inside the window wait here: memory is bounded by it.
          assert(ready_.size() <= workers_);
        }
      } catch (...) {
        base::MutexLock lock(mu_);
        if (!failure_) failure_ = std::current_exception();
      }
      cv_.notify_all();
    }
  }

  static Fetched decode(const std::string& key, std::vector<uint8_t> body,
                        ltx::PageDecompressor& decompressor) {
    Fetched f;
    try {
      f.decoded = ltx::decode_file(ltx::MemorySource(body), key, decompressor, kDecodeAheadBytes);
      if (!f.decoded) f.body = std::move(body);
    } catch (const ltx::LtxError&) {
      f.bad = std::current_exception();
    }
    return f;
  }

  void stop_and_join() EXCLUDES(mu_) {
    {
      base::MutexLock lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  // Constant after construction.
  storage::ObjectStore& store_;
  const std::vector<RemoteFile>& plan_;
  const RestoreOptions& options_;
  const unsigned workers_;

  // Protected by mu_.
  mutable base::Mutex mu_;
  std::condition_variable cv_;  // a download ended, a file was applied, or stop
  std::map<size_t, Fetched> ready_ GUARDED_BY(mu_);  // by plan index
  size_t next_download_ GUARDED_BY(mu_) = 0;
  size_t next_apply_ GUARDED_BY(mu_) = 0;
  std::exception_ptr failure_ GUARDED_BY(mu_);  // the first download that failed
  bool stop_ GUARDED_BY(mu_) = false;
  RestoreProgress progress_ GUARDED_BY(mu_);

  std::vector<std::thread> threads_;  // started last, in the constructor's body
};

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

  // The pages start going to the disk as they are written, so that the fsync at the end does not
  // wait for the whole database: W5's 123 MB took 50-74 ms to sync after the writes, 1-3 ms so.
  ltx::FdPageWriter writer(fd.get(), temp, base::kWritebackEvery);
  ltx::ChainApplier applier(writer);
  uint64_t bytes_downloaded = 0;
  {
    Downloads downloads(store, plan, options);  // stops and joins its threads however we leave
    for (size_t i = 0; i < plan.size(); ++i) {
      Fetched file = downloads.take(i);
      uint64_t streamed = 0;
      try {
        if (file.bad) std::rethrow_exception(file.bad);
        if (file.decoded) {
          applier.apply(*file.decoded, plan[i].key);
        } else if (file.body) {
          ltx::MemorySource source(*file.body);
          applier.apply(source, plan[i].key);
        } else {
          ReadAheadSource source(store, plan[i].key, plan[i].size, options.parallelism);
          applier.apply(source, plan[i].key);
          streamed = source.bytes();
        }
      } catch (const ltx::LtxError& e) {
        if (e.kind() == ltx::LtxErrorKind::kIo) throw;  // ours (the output), not the file's
        throw BadFileError(plan[i].key, e.what());
      }
      downloads.applied(i, streamed);
    }
    bytes_downloaded = downloads.bytes_downloaded();
  }

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
  return {s.txid, s.page_size, s.commit, bytes_downloaded, plan.size()};
}

RestoreResult restore_around_bad_files(
    storage::ObjectStore& store, std::vector<RemoteFile> files, uint64_t txid,
    const std::string& output_path, const RestoreOptions& options,
    const std::function<void(const std::string& key, const std::string& why)>& set_aside) {
  std::string aside;  // for the final error
  for (;;) {
    const RestoreGraph graph(files);
    if (!graph.restorable(txid) && !aside.empty()) {
      throw RestoreError("TXID " + std::to_string(txid) +
                         " cannot be restored: no chain to it verifies without the files set "
                         "aside (" +
                         aside + ")");
    }
    const auto plan = graph.plan(txid);  // throws RestoreError saying why it cannot be reached
    try {
      return restore(store, plan, output_path, options);
    } catch (const BadFileError& e) {
      // Nothing was written at output_path; plan again without the file.
      if (set_aside) set_aside(e.key, e.what());
      aside += (aside.empty() ? "" : "; ") + e.key + ": " + e.what();
      std::erase_if(files, [&](const RemoteFile& f) { return f.key == e.key; });
    }
  }
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
