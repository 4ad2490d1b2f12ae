#include "vfs/core/uploader.h"

#include <fcntl.h>

#include <ctime>

#include "ltx/compactor.h"
#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/header.h"
#include "ltx/sink.h"
#include "ltx/source.h"
#include "vfs/core/posix_file.h"
#include "vfs/core/restore_plan.h"
#include "vfs/core/time_spec.h"

namespace ltxvfs::core {

bool same_transactions(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  try {
    ltx::MemorySource sa(a), sb(b);
    ltx::Decoder da(sa), db(sb);
    ltx::Header ha = da.header(), hb = db.header();
    ha.timestamp_ms = hb.timestamp_ms = 0;
    if (!(ha == hb)) return false;
    for (;;) {
      auto pa = da.next();
      auto pb = db.next();
      if (!pa || !pb)
        return !pa && !pb && da.trailer().post_apply_checksum == db.trailer().post_apply_checksum;
      if (pa->pgno != pb->pgno ||
          !std::equal(pa->data.begin(), pa->data.end(), pb->data.begin(), pb->data.end()))
        return false;
    }
  } catch (const std::exception&) {
    return false;
  }
}

Uploader::Uploader(Spool& spool, storage::ObjectStore& store, storage::LayoutStyle layout,
                   OutputFormat format, UploadLimits limits)
    : spool_(spool), store_(store), layout_(layout), format_(format), limits_(limits) {}

void Uploader::list_remote() {
  uint64_t max = 0;
  std::vector<RemoteRange> ranges;
  for (const auto& f : list_ltx_files(store_, layout_)) {
    ranges.push_back({f.min_txid, f.max_txid});
    max = std::max(max, f.max_txid);
  }
  remote_ranges_ = std::move(ranges);
  remote_max_ = max;
}

bool Uploader::covered_by_remote(const SpoolEntry& e) const {
  for (const auto& r : remote_ranges_) {
    if (r.min_txid <= e.min_txid && e.max_txid <= r.max_txid) return true;
  }
  return false;
}

Uploader::Outcome Uploader::step(uint64_t local_txid) {
  if (!remote_max_) {
    list_remote();
    // Checked against the first listing only: from then on this process is the only writer, and
    // conditional puts catch any other. The spool may already be ahead of `local_txid`.
    const uint64_t local = std::max(local_txid, spool_.max_txid());
    if (*remote_max_ > local && local != 0) {
      const uint64_t remote = *remote_max_;
      remote_max_.reset();  // list again next time: the user may have fixed it
      throw RemoteConflict(store_.describe() + " holds TXID " + std::to_string(remote) +
                           ", ahead of this database (TXID " + std::to_string(local) +
                           "): another writer replicates there, or this database is older than "
                           "its replica. Restore the replica (ltxvfs restore) or point replica= "
                           "at a new location; nothing was uploaded");
    }
  }
  const uint64_t remote = *remote_max_;
  std::vector<SpoolEntry> entries = spool_.entries();
  // Only what the builder has recorded in its state file: a file uploaded before the state that
  // names it would, after a crash, make the store look ahead of this database.
  std::erase_if(entries, [&](const SpoolEntry& e) { return e.max_txid > local_txid; });
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
                           std::to_string(remote) + " but not as the spooled file " + e.path +
                           " covers them: the replica was written by another writer. Point "
                           "replica= at a new location; nothing was uploaded");
    }
    if (e.min_txid == 1 && !covered_by_remote(e)) break;  // a new snapshot: upload it anyway
    spool_.remove(e);
    entries.erase(entries.begin());
  }
  if (entries.empty()) return Outcome::kIdle;
  const SpoolEntry& first = entries.front();
  if (first.min_txid != remote + 1 && first.min_txid != 1) return Outcome::kNeedsSnapshot;

  // Group contiguous files.
  std::vector<SpoolEntry> group{first};
  uint64_t bytes = first.size;
  for (size_t i = 1; i < entries.size(); ++i) {
    const SpoolEntry& e = entries[i];
    if (e.min_txid != group.back().max_txid + 1 || group.size() >= limits_.max_group_files ||
        bytes + e.size > limits_.max_group_bytes) {
      break;
    }
    group.push_back(e);
    bytes += e.size;
  }
  std::vector<uint8_t> body = group_body(group);
  const ltx::Header header = ltx::Header::decode(std::span(body).first(ltx::kHeaderSize));
  const std::string key =
      storage::ltx_key(layout_, 0, group.front().min_txid, group.back().max_txid);
  put(key, body, header.timestamp_ms);
  remote_max_ = group.back().max_txid;
  remote_ranges_.push_back({group.front().min_txid, group.back().max_txid});
  ++objects_;
  bytes_ += body.size();
  for (const auto& e : group) spool_.remove(e);
  return Outcome::kUploaded;
}

std::vector<uint8_t> Uploader::group_body(const std::vector<SpoolEntry>& group) {
  if (group.size() == 1) return spool_.read(group.front());
  std::vector<std::vector<uint8_t>> bodies;
  std::vector<ltx::MemorySource> sources;
  bodies.reserve(group.size());
  sources.reserve(group.size());
  std::vector<ltx::NamedSource> inputs;
  for (const auto& e : group) {
    bodies.push_back(spool_.read(e));
    sources.emplace_back(bodies.back());
  }
  for (size_t i = 0; i < group.size(); ++i) {
    inputs.push_back({&sources[i], "spooled TXID " + std::to_string(group[i].min_txid) + "-" +
                                       std::to_string(group[i].max_txid)});
  }
  ltx::VectorSink sink;
  const auto options = format_ == OutputFormat::kLitestream ? ltx::EncodeOptions::litestream()
                                                            : ltx::EncodeOptions::native();
  ltx::compact(inputs, sink, options);
  return sink.take();
}

void Uploader::put(const std::string& key, const std::vector<uint8_t>& body, int64_t timestamp_ms) {
  storage::PutOptions options;
  options.if_none_match = true;
  options.metadata["litestream-timestamp"] = format_rfc3339_ms(timestamp_ms);
  try {
    store_.put(key, body, options);
  } catch (const storage::StoreError& e) {
    if (e.kind() != storage::StoreErrorKind::kPreconditionFailed) throw;
    // The object exists: our own earlier attempt (the acknowledgement was lost) or a conflict.
    storage::GetResult existing = store_.get(key);
    if (existing.body != body && !same_transactions(existing.body, body)) {
      throw RemoteConflict(store_.describe() + "/" + key +
                           " already exists with different content: another writer replicates "
                           "to this location. Nothing was overwritten; point replica= elsewhere");
    }
  }
}

}  // namespace ltxvfs::core
