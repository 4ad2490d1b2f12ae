#include "history/restorer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <map>
#include <thread>

#include "base/posix_file.h"
#include "base/time_spec.h"
#include "history/read_ahead_source.h"
#include "history/restore_downloads.h"
#include "history/write_behind.h"
#include "ltx/applier.h"
#include "ltx/decoded_file.h"
#include "ltx/error.h"
#include "ltx/header.h"
#include "ltx/parallel_decode.h"
#include "ltx/source.h"

namespace ltxvfs::history {
namespace {

// Pages of a streamed file waiting for the write-behind thread at most: 16 runs of 1 MiB.
constexpr uint64_t kWriteBehindBytes = uint64_t{16} << 20;

// Threads decoding a streamed file: every core (the applier walks the file beside them).
unsigned decode_threads() {
  return std::max(2u, std::thread::hardware_concurrency());
}

void throw_if_cancelled(const RestoreOptions& options) {
  if (options.cancelled && options.cancelled()) throw RestoreCancelled("the restore was cancelled");
}

// A large file as the applier streams it, stopping at its next read once the restore is
// cancelled: such a file may be a whole database's snapshot, gigabytes long.
class CancellableSource final : public ltx::Source {
 public:
  CancellableSource(const ltx::Source& inner, const RestoreOptions& options)
      : inner_(inner), options_(options) {}
  uint64_t size() const override { return inner_.size(); }
  void read_at(uint64_t offset, std::span<uint8_t> out) const override {
    throw_if_cancelled(options_);
    inner_.read_at(offset, out);
  }

 private:
  const ltx::Source& inner_;
  const RestoreOptions& options_;
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

  const RestoreResult result = restore_into(store, plan, fd.get(), temp, options);
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
  return result;
}

RestoreResult restore_into(storage::ObjectStore& store, const std::vector<RemoteFile>& plan, int fd,
                           const std::string& name, const RestoreOptions& options) {
  if (plan.empty()) throw RestoreError("nothing to restore: the replica has no files");
  RestoreOutput output(fd, name);
  RestoreOutput::FileWriter writer(output);  // the applying thread's, for streamed files
  ltx::ChainApplier applier(writer);
  uint64_t bytes_downloaded = 0;
  std::vector<std::string> etags(plan.size());
  {
    // Stops and joins its threads however we leave.
    RestoreDownloads downloads(store, plan, options, output);
    for (size_t i = 0; i < plan.size(); ++i) {
      throw_if_cancelled(options);
      Fetched file = downloads.take(i);
      uint64_t streamed = 0;
      try {
        if (file.bad) std::rethrow_exception(file.bad);
        writer.set_file(i);
        if (file.decoded) {
          applier.apply(*file.decoded, plan[i].key);
          etags[i] = std::move(file.etag);
        } else {
          // Decoded on every core as it streams in (ltx/parallel_decode.h), its pages written
          // in runs of up to 1 MiB (not one pwrite per page) by a thread of its own
          // (write_behind.h): restoring a 405 MiB snapshot from a directory into tmpfs took
          // 1.16-1.33 s, 1.02-1.11 s with runs, and 0.83-0.91 s with runs written behind, all
          // on one decoding thread.
          ReadAheadSource source(store, plan[i].key, plan[i].size, options.parallelism);
          WriteBehind behind(writer, kWriteBehindBytes);
          const ltx::DecodedFile decoded = ltx::decode_file_parallel(
              CancellableSource(source, options), plan[i].key, decode_threads(), behind);
          behind.drain();  // before the next file's set_file()
          applier.apply(decoded, plan[i].key);
          streamed = source.bytes();
          etags[i] = source.etag();
        }
      } catch (const ltx::LtxError& e) {
        if (e.kind() == ltx::LtxErrorKind::kIo) throw;  // ours (the output), not the file's
        throw BadFileError(plan[i].key, e.what());
      }
      downloads.applied(i, streamed);
    }
    bytes_downloaded = downloads.bytes_downloaded();
  }
  const auto& s = applier.state();
  output.finish(s.commit, s.page_size);
  return {s.txid,      s.page_size, s.commit,        bytes_downloaded,
          plan.size(), s.checksum,  std::move(etags)};
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
