#include "vfs/replica/hydrator.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>

#include "base/named_thread.h"
#include "base/parallel_for.h"
#include "base/posix_file.h"
#include "vfs/replica/btree_page.h"
#include "vfs/replica/coalesce.h"
#include "vfs/replica/frame_stream.h"

namespace ltxvfs::replica {
namespace {

constexpr uint64_t kHydrateRequestBytes = uint64_t{8} << 20;
// GETs in flight, as a restore's default (--jobs 8): enough to fill a link whose every request
// waits ~20 ms before its first byte.
constexpr unsigned kHydrateParallelism = 8;
// The largest pwrite of consecutive pages (a range's pages are written as they decode).
constexpr size_t kHydrateWriteBytes = size_t{1} << 20;
// Frames of one object with a hole of up to this between them (frames a later file replaced) come
// in one GET: the hole costs ~4 ms at 64 MiB/s, a GET of its own ~20 ms before its first byte.
// W5 (121 MiB, 29 level-0 files): 61 -> 109 MB/s with 256 KiB.
constexpr uint64_t kHydrateMaxGap = uint64_t{256} << 10;

bool same_frame(const std::optional<FrameRef>& a, const std::optional<FrameRef>& b) {
  if (!a || !b) return !a && !b;
  return a->file->serial == b->file->serial && a->offset == b->offset;
}

}  // namespace

Hydrator::Hydrator(storage::ObjectStore& store, std::string path, std::string source,
                   ReplicaLog log)
    : store_(store),
      path_(std::move(path)),
      marker_(path_ + "-ltx-hydrated"),
      source_(std::move(source)),
      log_(std::move(log)) {
  struct stat st {};
  const bool exists = ::stat(path_.c_str(), &st) == 0;
  const bool ours = ::stat(marker_.c_str(), &st) == 0;
  if (exists && !ours) {
    throw ReplicaError(ReplicaErrorKind::kInvalidArgument,
                       "hydrate=1 would overwrite " + path_ +
                           ", which a replica hydration did not write; open the replica under "
                           "another file name or remove that file");
  }
  // The marker first: a crash mid-download leaves a file that is recognisably ours, and not done.
  write_marker("hydrating", /*durable=*/true);
  fd_ = base::Fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd_) base::throw_errno("open for hydration", path_);
}

void Hydrator::write_marker(const std::string& state, bool durable) {
  const std::string text = source_ + "\n" + state + "\n";
  base::write_file_atomically(
      marker_, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), durable);
}

Hydrator::~Hydrator() {
  stop();
}

void Hydrator::stop() {
  {
    base::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Hydrator::discard() {
  stop();
  ::unlink(path_.c_str());
  ::unlink(marker_.c_str());
}

void Hydrator::begin(std::vector<history::RemoteFile> chain) {
  assert(!thread_.joinable());
  first_chain_ = std::move(chain);
  {
    base::MutexLock lock(mu_);
    stats_.state = "running";
  }
  thread_ = base::start_named_thread("ltx-hydrate", [this] { run(); });
}

void Hydrator::start(std::shared_ptr<const Snapshot> snapshot) {
  {
    base::MutexLock lock(mu_);
    first_ = snapshot;
    wanted_ = std::move(snapshot);
    stats_.state = "running";
  }
  cv_.notify_all();
  if (!thread_.joinable()) thread_ = base::start_named_thread("ltx-hydrate", [this] { run(); });
}

std::optional<history::RestoreResult> Hydrator::restore_first() {
  history::RestoreOptions options;
  options.parallelism = kHydrateParallelism;
  // What the page-by-page pass holds at most (8 GETs of up to 8 MiB), not a restore's 256 MiB: a
  // replica process lives on after its hydration.
  options.held_bytes = kHydrateParallelism * kHydrateRequestBytes;
  options.progress = [this](const history::RestoreProgress& p) {
    base::MutexLock lock(mu_);
    stats_.bytes = p.bytes_downloaded;
  };
  // The replica is closing: the restore stops before its next file, or its next chunk (256 KiB)
  // of a large one, and joins its threads.
  options.cancelled = [this] {
    base::MutexLock lock(mu_);
    return stop_;
  };
  try {
    return history::restore_into(store_, first_chain_, fd_.get(), path_, options);
  } catch (const history::RestoreCancelled&) {
  } catch (const std::exception& e) {
    if (log_) {
      log_(base::LogSeverity::kInfo,
           "hydration of " + path_ + ": downloading the " + std::to_string(first_chain_.size()) +
               " files of the chain failed (" + e.what() + "); hydrating page by page instead");
    }
  }
  return std::nullopt;
}

std::string Hydrator::why_not(const history::RestoreResult& restored,
                              const std::vector<history::RemoteFile>& chain, const Snapshot& snap) {
  if (restored.txid != snap.txid() || restored.commit != snap.commit() ||
      restored.page_size != snap.page_size()) {
    return "the chain downloaded (TXID " + std::to_string(restored.txid) +
           ") is not the snapshot opened (TXID " + std::to_string(snap.txid()) + ")";
  }
  // The post-apply checksum of the newest file as the replica read it from that file's tail: 0
  // when the files carry no checksums (then only their etags tie the download to the snapshot).
  const uint64_t indexed =
      snap.files().empty() ? 0 : snap.files().back()->trailer.post_apply_checksum;
  if (indexed != 0) {
    return indexed == restored.checksum ? ""
                                        : "the pages downloaded do not have the checksum the "
                                          "snapshot opened names";
  }
  // No checksums: the very objects the replica indexed, each by key and etag.
  const auto& files = snap.files();
  bool same = files.size() == chain.size() && restored.etags.size() == chain.size();
  for (size_t i = 0; same && i < chain.size(); ++i) {
    same = chain[i].key == files[i]->file.key && !files[i]->etag.empty() &&
           restored.etags[i] == files[i]->etag;
  }
  return same ? ""
              : "the files carry no checksums, and the objects downloaded are not known to be "
                "those the replica indexed (another etag, or none)";
}

void Hydrator::present_page1(const Snapshot& snap) {
  std::vector<uint8_t> page(snap.page_size());
  if (base::pread_full(fd_.get(), 0, page, path_) != page.size()) {
    throw std::runtime_error(path_ + ": page 1 is missing after the restore");
  }
  present_header(page, 0, snap.change_counter(), snap.commit());
  base::pwrite_all(fd_.get(), 0, page, path_);
}

void Hydrator::offer(std::shared_ptr<const Snapshot> newer) {
  {
    base::MutexLock lock(mu_);
    if (stats_.state == "failed") return;
    wanted_ = std::move(newer);
  }
  cv_.notify_all();
}

void Hydrator::write_pages(const Snapshot& snap, const std::vector<uint32_t>& pages) {
  std::vector<FrameRef> frames;
  for (uint32_t pgno : pages) {
    if (auto f = snap.locate(pgno)) frames.push_back(*f);
  }
  const auto ranges = coalesce(std::move(frames), kHydrateMaxGap, kHydrateRequestBytes);
  // Ranges are independent (distinct pages, so distinct offsets of the file): each is fetched,
  // decoded and written on one of kHydrateParallelism threads. One range after another left the
  // link idle while a thread decompressed (~300 MB/s of objects on one core) and the CPU idle
  // during each GET.
  base::parallel_for(ranges.size(), kHydrateParallelism, "ltx-hydrate-get",
                     [&](size_t i) { write_range(snap, ranges[i]); });
}

void Hydrator::write_range(const Snapshot& snap, const FetchRange& range) {
  {
    base::MutexLock lock(mu_);
    if (stop_) return;
  }
  const uint32_t ps = snap.page_size();
  // Pages are decoded as the range's bytes arrive (FrameStream), beside the transfer, and
  // consecutive ones are written with one pwrite of up to kHydrateWriteBytes.
  std::vector<uint8_t> run;
  uint32_t first = 0;
  auto flush = [&] {
    if (run.empty()) return;
    const uint64_t offset = uint64_t{first - 1} * ps;
    base::pwrite_all(fd_.get(), offset, run, path_);
    // On its way to the disk now, not all at the pass's fsync: 50-60 ms of W5's hydration went to
    // that fsync, ~2 ms with writeback started every 4 MiB.
    writeback_.wrote(fd_.get(), run.size());
    run.clear();
  };
  FrameStream stream(range, [&](size_t i, PageBytes page) {
    const uint32_t pgno = range.frames[i].pgno;
    if (!run.empty() && (pgno != first + run.size() / ps || run.size() >= kHydrateWriteBytes)) {
      flush();
    }
    if (run.empty()) first = pgno;
    run.insert(run.end(), page->begin(), page->end());
    if (pgno == 1) present_header(std::span(run).last(ps), 0, snap.change_counter(), snap.commit());
  });
  stream.finish(stream.fetch(store_));  // replaced, short, or a frame that did not decode
  flush();
  base::MutexLock lock(mu_);
  stats_.pages_done += range.frames.size();
  stats_.bytes += stream.received();
}

void Hydrator::run() {
  std::optional<history::RestoreResult> restored;
  if (!first_chain_.empty()) restored = restore_first();
  try {
    if (restored) adopt_restored(*restored);
    for (;;) {
      std::shared_ptr<const Snapshot> target, base;
      {
        base::MutexLock lock(mu_);
        lock.wait(cv_, [&]() REQUIRES(mu_) { return stop_ || (wanted_ && wanted_ != hydrated_); });
        if (stop_) return;
        target = wanted_;
        base = hydrated_;
      }
      // Long indexes read part by part at the open are read whole now: every page is looked up.
      target->load_lazy(kHydrateParallelism);
      if (base) base->load_lazy(kHydrateParallelism);
      std::vector<uint32_t> pages;
      for (uint32_t pgno = 1; pgno <= target->commit(); ++pgno) {
        // Page 1 always: its header carries the TXID.
        if (!base || pgno == 1 || !same_frame(base->locate(pgno), target->locate(pgno))) {
          pages.push_back(pgno);
        }
      }
      {
        base::MutexLock lock(mu_);
        assert(dirty_.empty());  // a pass ends by clearing it (or the thread stops)
        dirty_.insert(pages.begin(), pages.end());
        stats_.pages_done = 0;
        stats_.pages_total = pages.size();
      }
      if (marker_done_) {  // the file stops being a usable database until this pass is done
        write_marker("hydrating", /*durable=*/true);
        marker_done_ = false;
      }
      write_pages(*target, pages);
      {
        base::MutexLock lock(mu_);
        if (stop_) return;
      }
      publish(target, !base);
    }
  } catch (const std::exception& e) {
    base::MutexLock lock(mu_);
    // Stop serving locally: the file may be half-rewritten. Reads keep working from the store.
    hydrated_.reset();
    ++version_;
    stats_.state = "failed";
    stats_.error = e.what();
    if (log_) {
      log_(base::LogSeverity::kWarn, "hydration of " + path_ + " stopped: " +
                                         std::string(e.what()) + "; reads continue from the store");
    }
  }
}

void Hydrator::adopt_restored(const history::RestoreResult& restored) {
  // The snapshot the open built from the same chain (start()): newer ones offered meanwhile are
  // caught up with by the usual pass, from this one.
  std::shared_ptr<const Snapshot> first;
  {
    base::MutexLock lock(mu_);
    lock.wait(cv_, [&]() REQUIRES(mu_) { return stop_ || first_ != nullptr; });
    if (stop_) return;
    first = first_;
  }
  if (const std::string why = why_not(restored, first_chain_, *first); !why.empty()) {
    if (log_) {
      log_(base::LogSeverity::kInfo,
           "hydration of " + path_ + ": " + why + "; hydrating page by page instead");
    }
    return;
  }
  {
    base::MutexLock lock(mu_);
    stats_.pages_done = stats_.pages_total = first->commit();
  }
  present_page1(*first);  // the only page the replica presents otherwise than stored
  publish(first, true);
}

void Hydrator::publish(const std::shared_ptr<const Snapshot>& target, bool first) {
  if (::ftruncate(fd_.get(), static_cast<off_t>(target->size_bytes())) != 0) {
    base::throw_errno("truncate", path_);
  }
  if (::fsync(fd_.get()) != 0) base::throw_errno("fsync", path_);
  write_marker("done " + std::to_string(target->txid()), /*durable=*/true);
  marker_done_ = true;
  {
    base::MutexLock lock(mu_);
    hydrated_ = target;
    dirty_.clear();
    ++version_;
    stats_.state = "done";
    stats_.txid = target->txid();
  }
  if (first && log_) {
    log_(base::LogSeverity::kInfo, "hydrated " + path_ + " from " + source_ + " at TXID " +
                                       std::to_string(target->txid()) + "; reads are local now");
  }
}

PageBytes Hydrator::read(const Snapshot& snap, uint32_t pgno) {
  std::shared_ptr<const Snapshot> h;
  uint64_t version;
  {
    base::MutexLock lock(mu_);
    if (!hydrated_ || dirty_.count(pgno) != 0) return nullptr;
    h = hydrated_;
    version = version_;
  }
  if (!same_frame(h->locate(pgno), snap.locate(pgno)) || h->page_size() != snap.page_size()) {
    return nullptr;
  }
  auto page = std::make_shared<std::vector<uint8_t>>(snap.page_size());
  const uint64_t at = uint64_t{pgno - 1} * snap.page_size();
  try {
    if (base::pread_full(fd_.get(), at, *page, path_) != page->size()) return nullptr;
  } catch (const std::exception&) {
    return nullptr;  // the store still has it
  }
  {
    // A rewrite that started after our first check invalidates what we read.
    base::MutexLock lock(mu_);
    if (version_ != version || dirty_.count(pgno) != 0) return nullptr;
  }
  local_reads_.fetch_add(1, std::memory_order_relaxed);
  return page;
}

HydrationStats Hydrator::stats() const {
  base::MutexLock lock(mu_);
  HydrationStats s = stats_;
  s.local_reads = local_reads_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ltxvfs::replica
