#include "vfs/writer/replicator.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "base/time_spec.h"
#include "history/junk_object.h"
#include "history/open_listing.h"
#include "history/restore_plan.h"
#include "ltx/header.h"
#include "vfs/writer/database_id.h"

namespace ltxvfs::writer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// zstd level of the write path, chosen by measurement (bench/RESULTS.md): level 1 compresses
// SQLite pages within a few percent of level 3 at about twice the speed, and compression is the
// builder's largest cost.
constexpr int kWriteZstdLevel = 1;
// A lease release is one conditional PUT of ~100 bytes: a round trip (20-100 ms to S3) and a
// retry or two fit.
constexpr std::chrono::milliseconds kReleaseBudget{500};

uint64_t micros_since(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

std::string state_path(const Config& c) {
  return c.sidecar_dir + "/state.json";
}

// The uploader's scratch file (a group of spool records compacted into one object).
std::string upload_work_path(const Config& c) {
  return c.sidecar_dir + "/upload.tmp";
}

}  // namespace

Replicator::Replicator(Config config, std::unique_ptr<FileAccess> files, ReplicatorStores stores,
                       base::LogSink sink, base::Scheduler& scheduler)
    : config_(std::move(config)),
      log_(std::move(sink)),
      scheduler_(scheduler),
      files_(std::move(files)),
      store_(std::move(stores.main.store)),
      quick_(std::move(stores.quick)),
      cancel_(std::move(stores.cancel)),
      layout_(stores.main.layout),
      store_stats_(stores.main.stats ? stores.main.stats : std::make_shared<storage::StoreStats>()),
      lock_(config_.sidecar_dir + "/lock", config_.file_mode, milliseconds(config_.lease_wait_ms),
            [this](const std::string& why) { log(base::LogSeverity::kWarn, why); }),
      spool_(config_.sidecar_dir + "/spool", config_.file_mode),
      builder_(*files_, spool_, config_.format, kWriteZstdLevel, config_.encryption_key, &gate_),
      // The lease is asked only when the head is written, by then it is built.
      head_(*store_, layout_, [this] { return lease_.identity(); }),
      uploader_(spool_, *store_, layout_, head_, config_.format, upload_work_path(config_),
                config_.file_mode, {}, config_.encryption_key),
      lease_(
          make_lease(), store_->describe(), log_,
          [this](const std::string& why) { upload_.stop_for_conflict(why); },
          IdleLease{milliseconds(config_.lease_idle_ttl_ms), kIdleAfter, {}}),
      sync_(spool_, errors_, log_, [this] { upload_.notify(); }),
      build_(config_, builder_, spool_, errors_, log_,
             [this](bool eager) {
               if (eager || sync_after_build_.exchange(false)) sync_.request();
               upload_.notify();
             }),
      upload_(config_, uploader_, spool_, sync_, lease_, errors_, log_, upload_hooks()) {
  // Where this database stands: the newest of the state file (written at close) and the spool's
  // newest record (written with every batch).
  std::optional<LocalState> from_file;
  try {
    from_file = read_local_state(state_path(config_));
  } catch (const std::exception& e) {
    recorded_problem_ = e.what();
  }
  const std::optional<LocalState> from_spool = spool_.newest_state();
  if (from_file && (!from_spool || from_file->txid >= from_spool->txid)) {
    recorded_ = from_file;
  } else {
    recorded_ = from_spool;
  }
  if (recorded_) recorded_problem_.clear();  // the spool knows the position: nothing is lost
  if (!recorded_problem_.empty()) {
    log(base::LogSeverity::kWarn, recorded_problem_ + "; the next file will be a new snapshot");
  }
  lease_.acquire_at_open(milliseconds(config_.lease_wait_ms));
  RemoteAtOpen remote = check_remote_at_open(*quick_);
  history::CompactionWork work;
  bind_database(remote.history, *quick_, work);
  work.temp_dir = config_.sidecar_dir;  // room for the largest output (a snapshot)
  work.stop_requested = [this] { return stopping_.load(); };
  work.closing = [this] { return closing_.load(); };
  work.confirm_owner = [this] { lease_.confirm_owner(); };
  work.encryption_key = config_.encryption_key;
  work.written = [this](const history::WrittenFile& w) { head_.note_tail(w.file, w.hints); };
  work.hinted_pages = [this] { return head_.root_pgnos(); };
  history_ = std::make_unique<HistoryStage>(
      std::make_unique<history::HistoryEngine>(*store_, layout_, config_.format, config_.history,
                                               std::move(work)),
      log_, [this] { return lease_.may_run_history() && upload_.stats().conflict.empty(); },
      // Uploads counted once committed (the head advanced): runs read the store only after one,
      // or when something is due (issue 18). Then the hints no upload may carry (when idle).
      [this] { return upload_.stats().objects_uploaded; }, [this] { head_.publish_noted(); },
      scheduler_);
  // From here on the stages own the state: the open-time reads above are done.
  lease_.start_renewing(scheduler_);
  sync_.start();
  // The first sync makes the spool's directories durable (Spool::make_durable): done now, in the
  // background, rather than by the first upload or a close soon after the open, which wait.
  sync_.request();
  build_.start(recorded_, recorded_problem_, recorded_ ? recorded_->txid : 0);
  upload_.start(remote.txid);
  history_->start(std::move(remote.history));
}

Replicator::~Replicator() {
  // The history run in progress is not thrown away (issue 16, item 10: connections that lived a
  // few milliseconds each never let one finish, and level 0 grew to 11,514 files): it goes on
  // beside the uploads, a snapshot larger than history::kCloseSnapshotBytes aside, and a run
  // starts now if the connection closed before a history run could begin.
  closing_ = true;
  history_->finish();
  build_.stop();
  // From here on the store gets close_timeout_ms: then whatever it is still doing is cancelled
  // (a store that is down or silent cannot hold the close). The closing thread itself is the
  // canceller: it waits for the upload stage, then for the history, until the deadline.
  const auto deadline = Clock::now() + milliseconds(config_.close_timeout_ms);
  upload_.request_stop();
  // While the last upload goes on (on a worker), the spool and the state file are made durable
  // here, beside it: they record where the builder stands (where the next open resumes), which
  // does not depend on the upload. Their 3 fsyncs came after the upload's: overlapped, the
  // median close of a database just written on a directory replica went from 5.0-5.6 to
  // 4.7-5.5 ms here (3 rounds of 21, the two builds interleaved).
  record_position_at_close();
  if (!upload_.wait_stopped_until(deadline)) cancel_->cancel();
  upload_.stop();
  if (!history_->wait_finished_until(deadline)) {
    stopping_ = true;  // nothing it leaves half done is ever published
    cancel_->cancel();
    log(base::LogSeverity::kInfo,
        "closing: the remote history's upkeep was stopped at close_timeout_ms (" +
            std::to_string(config_.close_timeout_ms) + " ms); the next open carries on");
  }
  history_->stop();
  sync_.stop();
  // The uploader's scratch file holds nothing once it stopped (what was not uploaded is still in
  // the spool): a closed database leaves no temporary file beside it.
  ::unlink(upload_work_path(config_).c_str());
  try {
    spool_.make_durable();  // no fdatasync left to do: it deletes the logs the upload emptied
  } catch (const std::exception& e) {
    log(base::LogSeverity::kWarn, std::string("closing: ") + e.what());
  }
  // A renewal in progress (on the process's scheduler) is a store call too.
  if (!lease_.stop_renewing(deadline)) {
    cancel_->cancel();
    lease_.stop_renewing();
  }
  // The release is a store call too, with a bound of its own. A close that ran out of
  // close_timeout_ms cancelled its store above, and a lease left held made the next writer (a
  // deploy's new process, `ltxvfs compact`) wait out its TTL: a 1 GiB load's close, behind the
  // history's run in progress, left it held for 30 s. Every stage has stopped by now, so no
  // call of this database is in flight: the store is un-cancelled for this one PUT, which gets
  // at least kReleaseBudget (then it is cancelled by a job on the process's scheduler, whose own
  // jobs for this database have ended). Fencing does not rest on it: the head decides which
  // uploads count, and a fenced writer's late PUT never commits (history/head_record.h).
  if (cancel_->cancelled()) cancel_->reset();
  const uint64_t canceller =
      scheduler_.add(std::max<Clock::time_point>(deadline, Clock::now() + kReleaseBudget), [this] {
        cancel_->cancel();
        return base::Scheduler::Clock::time_point::max();
      });
  lease_.release();
  scheduler_.cancel(canceller);
  // A word at close on where replication stands (issue 19): what the store holds, and what waits
  // in the spool for the next open.
  const UploadStats up = upload_.stats();
  const uint64_t spooled = spool_.max_txid();
  log(base::LogSeverity::kInfo,
      "closed " + config_.db_path + ": " + store_->describe() + " holds TXID " +
          std::to_string(up.uploaded_txid) + " (" + std::to_string(up.objects_uploaded) +
          (up.objects_uploaded == 1 ? " object, " : " objects, ") +
          std::to_string(up.bytes_uploaded) + " bytes uploaded by this writer)" +
          (spooled > up.uploaded_txid
               ? "; TXIDs " + std::to_string(up.uploaded_txid + 1) + "-" + std::to_string(spooled) +
                     " wait in the spool and upload at the next open"
               : ""));
}

void Replicator::record_position_at_close() {
  try {
    spool_.make_durable();
    if (builder_.synced()) {
      write_local_state(state_path(config_), builder_.state(), /*durable=*/true, config_.file_mode);
    }
  } catch (const std::exception& e) {
    log(base::LogSeverity::kWarn, std::string("closing: ") + e.what());
  }
}

UploadStage::Hooks Replicator::upload_hooks() {
  return {[this] { return build_.request_snapshot(); },
          [this] { return build_.snapshot_pending(); }, [this] { build_.wake(); },
          // Called by upload passes only, which begin after history_ exists (the constructor's
          // end) and end before it goes (the destructor stops the upload stage first).
          [this](uint64_t short_index_bytes) { history_->note_uploaded(short_index_bytes); }};
}

std::unique_ptr<history::WriterLease> Replicator::make_lease() {
  if (!quick_) throw std::logic_error("Replicator: no quick store");
  history::WriterLeaseOptions options;
  // The previous writer of this database on this host has exited (this process holds the local
  // lock now): a lease it left behind is stale and need not be waited out.
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string this_host = host;
  const long previous = lock_.previous_holder();
  options.holder_is_gone = [this_host, previous](const history::LeaseRecord& holder) {
    const auto owner = history::parse_lease_owner(holder.owner);
    return previous != 0 && owner && owner->host == this_host && owner->pid == previous;
  };
  return std::make_unique<history::WriterLease>(*quick_, layout_, std::move(options));
}

void Replicator::log(base::LogSeverity severity, const std::string& message) const {
  if (log_) log_(severity, message);
}

Replicator::RemoteAtOpen Replicator::check_remote_at_open(storage::ObjectStore& probe) {
  // The newest TXID this database is known to have written: the recorded state or the spool.
  const uint64_t local = std::max(spool_.max_txid(), recorded_ ? recorded_->txid : 0);
  history::History history;
  try {
    // Dated (size, time) past `local`, for the junk check below; the history's first run uses
    // the rest (history/open_listing.h).
    history = history::read_history_dated_from(probe, layout_, local + 1);
  } catch (const storage::StoreError& e) {
    if (!e.retriable()) throw std::runtime_error(e.what());
    // Unreachable store: open anyway; the uploader re-checks before its first upload.
    log(base::LogSeverity::kWarn,
        std::string("cannot reach the replica at open, will keep trying: ") + e.what());
    return {};
  }
  std::vector<history::RemoteFile>& files = history.files;
  uint64_t remote = 0;
  for (const auto& f : files) remote = std::max(remote, f.max_txid);
  if (remote > local) {
    // Past our own position: objects that are no LTX file at all are junk, not a newer history
    // (the uploader replaces one where its upload goes). One small GET each, only here.
    history::drop_junk_objects(probe, files, local + 1, [&](const history::RemoteFile& f) {
      log(base::LogSeverity::kWarn, store_->describe() + "/" + f.key +
                                        " is not an LTX file (no LTX1 magic): ignored as junk; "
                                        "an upload to that name replaces it");
    });
    remote = 0;
    for (const auto& f : files) remote = std::max(remote, f.max_txid);
  }
  // What the store already holds is acknowledged.
  if (remote <= local) return {remote, std::move(history)};
  if (local == 0) {
    // No history beside the database (or an unreadable one), a history in the store: a database
    // restored from it (or copied from its writer) continues it when its content is the store's
    // newest state.
    const std::string why = continue_remote_history(probe, files);
    if (why.empty()) {
      recorded_problem_.clear();
      return {remote, std::move(history)};
    }
    throw std::runtime_error(store_->describe() + " already holds a replica at TXID " +
                             std::to_string(remote) + " that this database did not write (" + why +
                             (recorded_problem_.empty() ? "" : "; " + recorded_problem_) +
                             "). To read it, open it with mode=ro; to continue it, restore it "
                             "with `ltxvfs restore` and open the restored file; or point "
                             "replica= at an empty location");
  }
  throw std::runtime_error(store_->describe() + " already holds a replica at TXID " +
                           std::to_string(remote) + ", ahead of this database (TXID " +
                           std::to_string(local) +
                           "): another writer replicates there, or this database is older than "
                           "its replica. To read it, open it with mode=ro; to continue it, "
                           "restore it with `ltxvfs restore` and open the restored file; or point "
                           "replica= at an empty location");
}

std::string Replicator::continue_remote_history(storage::ObjectStore& probe,
                                                const std::vector<history::RemoteFile>& files) {
  uint64_t gap_after = 0;
  const uint64_t newest = newest_restorable_txid(files, &gap_after);
  if (newest == 0) return "it holds no restorable state";
  const auto chain = plan_restore(files, newest);
  const history::RemoteFile& last = chain.back();
  const auto head = probe.get(last.key, storage::ByteRange::at(0, ltx::kHeaderSize));
  const ltx::Header header = ltx::Header::decode(head.body, last.key);
  const auto tail = probe.get(last.key, storage::ByteRange::tail(last.size, ltx::kTrailerSize));
  if (last.size != 0 && tail.object_size != 0 && tail.object_size != last.size) {
    // The range was worked out from the listed size: these bytes are not its trailer, and
    // nothing can be concluded from them. As IndexCache does: as if it had vanished.
    throw storage::StoreError(storage::StoreErrorKind::kNotFound,
                              "GET " + last.key + ": the object is " +
                                  std::to_string(tail.object_size) + " bytes, the listing said " +
                                  std::to_string(last.size) + ": it changed since; open again");
  }
  if (tail.body.size() != ltx::kTrailerSize) return last.key + " is too short";
  const ltx::Trailer trailer =
      ltx::Trailer::decode(std::span<const uint8_t, ltx::kTrailerSize>(tail.body.data(), 16));
  if (trailer.post_apply_checksum == 0) {
    return "its files carry no database checksums (format=litestream), so ltx cannot tell "
           "whether this database is its newest state";
  }
  const std::optional<LocalState> here = builder_.describe_current(base::now_ms());
  if (!here || here->page_size != header.page_size || here->commit != header.commit ||
      here->checksum != trailer.post_apply_checksum) {
    return "this database's content differs from the replica's newest state, TXID " +
           std::to_string(newest);
  }
  if (header.is_encrypted()) adopted_database_id_ = header.database_id;
  LocalState adopted = *here;
  adopted.txid = newest;
  write_local_state(state_path(config_), adopted, /*durable=*/true, config_.file_mode);
  recorded_ = adopted;
  log(base::LogSeverity::kInfo, config_.db_path + " is the newest state of " + store_->describe() +
                                    " (TXID " + std::to_string(newest) +
                                    "): continuing its history");
  return {};
}

void Replicator::bind_database(const std::optional<history::History>& remote,
                               storage::ObjectStore& probe, history::CompactionWork& work) {
  if (!config_.encryption_key) return;
  work.database_id = settle_database_id(config_.sidecar_dir + "/database-id", adopted_database_id_,
                                        remote, probe, config_.file_mode);
  builder_.bind_database(work.database_id);
  uploader_.bind_database(work.database_id);
}

bool Replicator::wait_uploaded(uint64_t seq) {
  return upload_.wait_uploaded(build_.wait_built(seq));
}

void Replicator::before_checkpoint() {
  const auto start = Clock::now();
  gate_.begin_checkpoint();
  ++checkpoint_waits_;
  checkpoint_wait_us_ += micros_since(start);
}

void Replicator::after_checkpoint(const std::optional<WalIndexHeader>& copied) {
  CheckpointGate::Copied up_to;
  if (copied) up_to = {copied->salts, copied->end_offset()};
  gate_.end_checkpoint(up_to);
  // The WAL restart that usually follows needs the spool durable: sync what is built now, and
  // again after the builder's next batch, so the restart rarely waits for an fdatasync.
  sync_after_build_ = true;
  if (spool_.durable_txid() < build_.stats().txid) sync_.request();
}

void Replicator::before_closing_checkpoint() {
  const auto start = Clock::now();
  const uint64_t txid = build_.wait_all_built();
  ++checkpoint_waits_;
  checkpoint_wait_us_ += micros_since(start);
  if (spool_.durable_txid() < txid) sync_.request();
}

void Replicator::before_wal_overwrite() {
  const auto start = Clock::now();
  // Copying is over by now (a restart needs every frame backfilled; a truncation or deletion
  // comes after the checkpoint's copying): the builds waited for here may read the database file.
  gate_.end_checkpoint({});
  const uint64_t txid = build_.wait_all_built();
  gate_.all_built();
  if (spool_.durable_txid() < txid) sync_.wait(sync_.request());
  ++overwrite_waits_;
  overwrite_wait_us_ += micros_since(start);
}

void Replicator::before_wal_header(bool wal_empty) {
  if (!wal_empty) return before_wal_overwrite();
  // Nothing is overwritten, so nothing needs spooling first (0.4 ms median on this disk: the
  // pipeline and an fdatasync, issue 18). Only the open's first build must read the WAL before
  // the commit lands in it: it would otherwise ship that commit, and any after it, in its own
  // first TXID, and a history's first TXIDs would depend on the timing of a worker (CI of
  // 6f77891: "holds TXID 2", expected 3). That build starts at the open and is over by then.
  build_.wait_first_run();
}

ReplicatorStats Replicator::stats() const {
  ReplicatorStats s;
  s.build = build_.stats();
  s.upload = upload_.stats();
  s.history = history_->stats();
  s.durable_txid = spool_.durable_txid();
  s.syncs = sync_.syncs();
  s.checkpoint_waits = checkpoint_waits_;
  s.checkpoint_wait_us = checkpoint_wait_us_;
  s.overwrite_waits = overwrite_waits_;
  s.overwrite_wait_us = overwrite_wait_us_;
  s.spool_files = spool_.count();
  s.spool_bytes = spool_.bytes();
  s.last_error = errors_.get();
  s.lease = lease_.describe();
  return s;
}

}  // namespace ltxvfs::writer
