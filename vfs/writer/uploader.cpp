#include "vfs/writer/uploader.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/time_spec.h"
#include "history/head_keeper.h"
#include "history/head_record.h"
#include "history/junk_object.h"
#include "history/open_listing.h"
#include "history/remote_source.h"
#include "history/restore_plan.h"
#include "history/same_transactions.h"
#include "ltx/compactor.h"
#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/header.h"
#include "ltx/sink.h"

namespace ltxvfs::writer {
namespace {

// A request body (a spooled record, the work file) as the LTX decoder reads it.
class BodyAsSource final : public ltx::Source {
 public:
  explicit BodyAsSource(const storage::BodySource& body) : body_(body) {}
  uint64_t size() const override { return body_.size(); }
  void read_at(uint64_t offset, std::span<uint8_t> out) const override {
    body_.read_at(offset, out);
  }

 private:
  const storage::BodySource& body_;
};

}  // namespace

Uploader::Uploader(Spool& spool, storage::ObjectStore& store, storage::LayoutStyle layout,
                   history::HeadKeeper& head, ltx::OutputFormat format, std::string work_path,
                   uint32_t file_mode, UploadLimits limits, ltx::KeyPtr key)
    : spool_(spool),
      store_(store),
      layout_(layout),
      head_(head),
      format_(format),
      key_(std::move(key)),
      work_path_(std::move(work_path)),
      file_mode_(file_mode),
      limits_(limits) {}

uint64_t Uploader::take_head(const history::History& h, uint64_t from) {
  std::vector<history::RemoteFile> files = h.files;
  uint64_t max = h.head ? h.head->txid : 0;
  if (!h.head) {
    // No head yet (a replica from before head.json, or a new one): the listing decides, as it
    // did then. Files at or past what the spool still holds (`from`) could collide with our
    // uploads or look like them (covered_by_remote would take a spooled record as uploaded);
    // junk there, no LTX file at all, is part of no history and is left out.
    // (The history was read by key: those files are dated first, or all would look empty.)
    history::date_files_from(store_, files, from);
    history::drop_junk_objects(store_, files, from);
    for (const auto& f : files) max = std::max(max, f.max_txid);
  }
  const uint64_t local = spool_.max_txid();
  if (max > local && local != 0) {
    throw RemoteConflict(store_.describe() + " holds TXID " + std::to_string(max) +
                         ", ahead of this database (TXID " + std::to_string(local) +
                         "): another writer replicates there, or this database is older than "
                         "its replica. Restore the replica (ltxvfs restore) or point replica= "
                         "at a new location; nothing was uploaded");
  }
  std::vector<RemoteRange> ranges;
  for (const auto& f : files) ranges.push_back({f.min_txid, f.max_txid});
  remote_ranges_ = std::move(ranges);
  return max;
}

bool Uploader::covered_by_remote(const SpoolEntry& e) const {
  for (const auto& r : remote_ranges_) {
    if (r.min_txid <= e.min_txid && e.max_txid <= r.max_txid) return true;
  }
  return false;
}

void Uploader::take_ownership() {
  // Once per writer, before its first upload: the head becomes ours at the TXID the store holds,
  // after checking that this database continues it. From then on every upload is committed by
  // advancing the head, which fails once another writer took it. The history is read by key,
  // and take_head() dates only the files it checks for junk (history/open_listing.h): on a
  // directory, no stat call per level-0 file (issue 16, item 10).
  const std::vector<SpoolEntry> spooled = spool_.entries();
  const uint64_t from = spooled.empty() ? spool_.max_txid() + 1 : spooled.front().min_txid;
  try {
    remote_max_ = head_.take([&](const history::History& h) { return take_head(h, from); },
                             /*by_key=*/true);
  } catch (const history::HeadLost& e) {
    throw RemoteConflict(e.what());
  }
}

Uploader::Outcome Uploader::step() {
  if (!remote_max_) take_ownership();
  const uint64_t remote = *remote_max_;
  std::vector<SpoolEntry> entries = spool_.entries();
  // Only durable records: after a crash the spool must still hold whatever the store has.
  const uint64_t durable = spool_.durable_txid();
  std::erase_if(entries, [&](const SpoolEntry& e) { return e.max_txid > durable; });
  // A snapshot in the spool supersedes every older file.
  for (size_t i = entries.size(); i-- > 0;) {
    if (entries[i].min_txid == 1) {
      for (size_t j = 0; j < i; ++j) spool_.remove(entries[j]);
      entries.erase(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  // Files the store already has (uploaded before a crash could record it).
  while (!entries.empty() && entries.front().max_txid <= remote) {
    const SpoolEntry& e = entries.front();
    if (!covered_by_remote(e) && e.min_txid != 1) {
      throw RemoteConflict(store_.describe() + " already has TXIDs up to " +
                           std::to_string(remote) + " but not as the spooled TXIDs " +
                           std::to_string(e.min_txid) + "-" + std::to_string(e.max_txid) +
                           ": the replica was written by another writer. Point replica= at a new "
                           "location; nothing was uploaded");
    }
    if (e.min_txid == 1 && !covered_by_remote(e)) break;  // a new snapshot: upload it anyway
    spool_.remove(e);
    entries.erase(entries.begin());
  }
  if (entries.empty()) return Outcome::kIdle;
  const SpoolEntry& first = entries.front();
  if (first.min_txid != remote + 1 && first.min_txid != 1) return Outcome::kNeedsSnapshot;

  // The group: contiguous durable records from `first`.
  std::vector<Spool::Record> group;
  for (auto& r : spool_.durable_prefix(limits_.max_group_bytes)) {
    if (group.empty() ? r.entry().min_txid != first.min_txid
                      : r.entry().min_txid != group.back().entry().max_txid + 1) {
      break;
    }
    group.push_back(std::move(r));
  }
  if (group.empty()) return Outcome::kIdle;  // removed meanwhile
  const uint64_t min_txid = group.front().entry().min_txid;
  const uint64_t max_txid = group.back().entry().max_txid;
  const std::string key = storage::ltx_key(layout_, 0, min_txid, max_txid);
  uint64_t size = 0;
  history::IndexHints hints;
  if (group.size() == 1) {
    put(key, group.front(), group.front().entry().timestamp_ms);
    size = group.front().size();
    hints = history::index_hints_of(group.front(), head_.root_pgnos());
  } else {
    // The work file is opened per group and closed after its PUT, failed or not (issue 18): an
    // idle database holds no descriptor for it, and its bytes leave the disk.
    struct CloseWork {
      base::Fd& fd;
      ~CloseWork() {
        [[maybe_unused]] const int ignored = ::ftruncate(fd.get(), 0);
        fd = base::Fd();
      }
    } close_work{work_};
    size = compact_group(group);
    storage::FileRangeBody body(work_.get(), 0, size, work_path_);
    put(key, body, group.back().entry().timestamp_ms);
    hints = history::index_hints_of(body, head_.root_pgnos());
  }
  try {
    head_.advance({0, min_txid, max_txid, key, size, 0}, hints);
  } catch (const history::HeadLost& e) {
    throw RemoteConflict(e.what());
  }
  remote_max_ = max_txid;
  remote_ranges_.push_back({min_txid, max_txid});
  ++objects_;
  bytes_ += size;
  if (hints.directory.empty()) short_index_bytes_ += hints.tail_bytes;
  for (const auto& r : group) spool_.remove(r.entry());
  return Outcome::kUploaded;
}

uint64_t Uploader::compact_group(const std::vector<Spool::Record>& group) {
  if (!work_) work_ = base::create_file(work_path_, O_RDWR, file_mode_, "create upload work file");
  if (::ftruncate(work_.get(), 0) != 0 || ::lseek(work_.get(), 0, SEEK_SET) != 0) {
    base::throw_errno("reset", work_path_);
  }
  std::vector<BodyAsSource> sources;
  sources.reserve(group.size());
  std::vector<ltx::NamedSource> inputs;
  inputs.reserve(group.size());
  for (const auto& r : group) {
    sources.emplace_back(r);
    inputs.push_back({&sources.back(), "spooled " + r.describe()});
  }
  ltx::FdSink sink(work_.get(), work_path_);
  // The inputs are local files: small read-ahead chunks cost a few more reads of the page cache,
  // not requests, and the merge holds every input's chunk at once (W7's writer peaked at 2.1 MiB
  // of them with the default 1 MiB budget).
  ltx::CompactOptions options;
  options.read_buffer_budget = 256 * 1024;
  ltx::compact(inputs, sink, ltx::EncodeOptions::of(format_, key_, database_id_), work_path_,
               options);
  const off_t end = ::lseek(work_.get(), 0, SEEK_CUR);
  if (end < 0) base::throw_errno("seek", work_path_);
  return static_cast<uint64_t>(end);
}

void Uploader::put(const std::string& key, const storage::BodySource& body, int64_t timestamp_ms) {
  storage::PutOptions options;
  options.if_none_match = true;
  options.metadata["litestream-timestamp"] = base::format_rfc3339_ms(timestamp_ms);
  try {
    store_.put_body(key, body, options);
  } catch (const storage::StoreError& e) {
    if (e.kind() != storage::StoreErrorKind::kPreconditionFailed) throw;
    // The object exists: our own earlier attempt (the acknowledgement was lost, or a crash
    // before the spool forgot the record) or a conflict. Compared streaming: it may be large.
    const auto info = store_.head(key);
    if (!info) throw;  // deleted again meanwhile: let the caller retry the PUT
    history::RemoteSource theirs(store_, key, info->size);
    BodyAsSource ours(body);
    if (same_transactions(theirs, ours)) return;
    // Another object at our key is past the head (our uploads start right after it), so it is
    // part of no history: a fenced-out writer's upload that landed late, or junk. Ours replaces
    // exactly that version of it (If-Match) and is committed by the head's advance.
    storage::PutOptions replace = options;
    replace.if_none_match = false;
    replace.if_match = info->etag;
    store_.put_body(key, body, replace);
  }
}

}  // namespace ltxvfs::writer
