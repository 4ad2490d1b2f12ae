// RestoreDownloads: the downloads of a restore. Up to `parallelism` threads (ltx-restore-get)
// fetch the plan's files in plan order, at most that many files ahead of the applier; as many
// threads (ltx-restore-dec) decode and verify each file while its bytes arrive (StreamedSource:
// decompression and CRCs are nearly all of a restore's CPU, which one thread could do at only
// ~460 MB/s of objects here) and write its pages (RestoreOutput); the caller's thread applies the
// files in order: checks and accounts for them.
//
// Large files (a snapshot of a big database) are not downloaded ahead: the applier streams them in
// chunks (ReadAheadSource). A file downloaded ahead holds its bytes while it downloads and decodes
// (RestoreOptions::held_bytes for all of them at most), then 12 bytes a page until it is applied.
//
// Not base::parallel_for: this is a pipeline, not a fan-out. The caller consumes file i while
// later files download, and a download waits for the applier to free a slot; parallel_for returns
// only once every item is done, so it would hold every body at once or serialise the two.
//
// Threads: the workers (download(), decode()) and the applying thread (take(), applied(),
// bytes_downloaded()); the destructor stops the workers and joins them (after the downloads in
// flight end).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "history/restore_output.h"
#include "history/restore_plan.h"
#include "history/restorer.h"
#include "history/streamed_source.h"
#include "ltx/decoded_file.h"
#include "storage/object_store.h"

namespace ltxvfs::history {

// How many files downloads may run ahead of the applier, per download thread. A decoded file waits
// for the applier as its page numbers and checksums only (its pages are written).
// With one file per thread, a slow download held back every thread's next one (W5: waves of 8
// downloads, each as long as its slowest); 4 let them go on while it ends.
inline constexpr unsigned kWindowPerWorker = 4;

// File i of the plan, as the applier gets it.
struct Fetched {
  // Decoded, verified and written by a worker: what ChainApplier::apply(DecodedFile) checks.
  std::optional<ltx::DecodedFile> decoded;
  std::exception_ptr bad;  // or why decoding it failed (the file is bad)
  std::string etag;        // of the object downloaded (empty when the store gives none)
  // Neither: a large file, which the applier streams.
};

class RestoreDownloads {
 public:
  // Decoded files are written to `output` by the threads that decode them.
  RestoreDownloads(storage::ObjectStore& store, const std::vector<RemoteFile>& plan,
                   const RestoreOptions& options, RestoreOutput& output);
  ~RestoreDownloads();
  RestoreDownloads(const RestoreDownloads&) = delete;
  RestoreDownloads& operator=(const RestoreDownloads&) = delete;

  // Waits for file i and hands it over; rethrows a download's error. A file that failed to decode
  // comes back with `bad` set, so that errors surface in chain order as they did when the
  // applier decoded. Called with i = 0, 1, 2, ... in order.
  Fetched take(size_t i) EXCLUDES(mu_);
  // File i is applied (`streamed` bytes were read while applying it): frees its slot for a
  // download and reports progress.
  void applied(size_t i, uint64_t streamed) EXCLUDES(mu_);
  uint64_t bytes_downloaded() const EXCLUDES(mu_);

 private:
  void download() EXCLUDES(mu_);
  void decode() EXCLUDES(mu_);
  void stop_and_join() EXCLUDES(mu_);

  // Constant after construction.
  storage::ObjectStore& store_;
  const std::vector<RemoteFile>& plan_;
  const RestoreOptions& options_;
  RestoreOutput& output_;
  const unsigned workers_;
  const size_t window_;
  const uint64_t held_bound_;  // options.held_bytes, at least options.stream_above

  // Protected by mu_.
  mutable base::Mutex mu_;
  std::condition_variable cv_;  // a file arrived or was decoded or applied, or stop
  // Files downloading, oldest first, until a decoding thread takes them.
  std::deque<std::pair<size_t, std::shared_ptr<StreamedSource>>> arriving_ GUARDED_BY(mu_);
  std::map<size_t, Fetched> ready_ GUARDED_BY(mu_);  // by plan index
  size_t next_download_ GUARDED_BY(mu_) = 0;
  uint64_t held_ GUARDED_BY(mu_) = 0;  // bytes of the files downloading or waiting to be decoded
  size_t next_apply_ GUARDED_BY(mu_) = 0;
  std::exception_ptr failure_ GUARDED_BY(mu_);  // the first download that failed
  bool stop_ GUARDED_BY(mu_) = false;
  RestoreProgress progress_ GUARDED_BY(mu_);

  std::vector<std::thread> threads_;  // started last, in the constructor's body
};

}  // namespace ltxvfs::history
