#include "vfs/writer/ltx_builder.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "base/byte_order.h"
#include "ltx/encoder.h"
#include "ltx/sink.h"
#include "vfs/writer/buffered_fd_sink.h"
#include "vfs/writer/page_feeder.h"

namespace ltxvfs::writer {
namespace {

constexpr uint64_t kNoLimit = UINT64_MAX;

ltx::EncodeOptions encode_options(ltx::OutputFormat format, int zstd_level, const ltx::KeyPtr& key,
                                  uint64_t database_id) {
  auto options = ltx::EncodeOptions::of(format, key, database_id);
  options.zstd_level = zstd_level;
  return options;
}

// The run starting at notices[first]: the following commits that start where the previous one
// ended, in the same WAL generation. Returns the index of its last notice.
size_t last_of_run(std::span<const CommitNotice> notices, size_t first) {
  size_t last = first;
  while (last + 1 < notices.size()) {
    const CommitNotice& next = notices[last + 1];
    if (next.database_written_outside_wal || !next.before ||
        !(*next.before == notices[last].after) || next.after.salts != notices[first].after.salts) {
      break;
    }
    ++last;
  }
  return last;
}

// The pages a batch writes, each with its newest frame's data offset (0: read it as SQLite would,
// from an older frame or the database file). The newest copy of each page, at most the final
// commit: a page dropped by a shrink and regrown later keeps its newest frame (SQLite's own WAL
// lookup ignores the shrink too). When the database grew, the file must carry every new page.
std::map<uint32_t, uint64_t> pages_to_write(std::span<const WalTransaction> txns,
                                            uint32_t old_commit, uint32_t page_size) {
  const uint32_t commit = txns.back().commit;
  std::map<uint32_t, uint64_t> pages;
  for (const auto& t : txns) {
    for (const auto& f : t.frames) pages[f.pgno] = f.data_offset;
  }
  pages.erase(pages.upper_bound(commit), pages.end());
  const uint32_t lock = ltx::lock_page(page_size);
  for (uint32_t pgno = old_commit + 1; pgno <= commit; ++pgno) {
    if (pgno != lock) pages.emplace(pgno, 0);
  }
  return pages;
}

}  // namespace

LtxBuilder::LtxBuilder(FileAccess& files, Spool& spool, ltx::OutputFormat format, int zstd_level,
                       ltx::KeyPtr key, CheckpointGate* gate)
    : files_(files),
      spool_(spool),
      format_(format),
      key_(std::move(key)),
      zstd_level_(zstd_level),
      gate_(gate),
      compressor_(std::make_unique<ltx::PageCompressor>(
          encode_options(format, zstd_level, nullptr, 0).encoding, zstd_level)) {}

std::vector<BuildEvent> LtxBuilder::take_events() {
  return std::exchange(events_, {});
}

std::optional<WalHeader> LtxBuilder::read_wal_header() {
  std::array<uint8_t, kWalHeaderSize> buf{};
  if (files_.read_wal(0, buf) != buf.size()) return std::nullopt;
  return parse_wal_header(buf);
}

void LtxBuilder::add_to_map(std::span<const WalTransaction> txns) {
  for (const auto& t : txns) {
    for (const auto& f : t.frames) wal_map_[f.pgno] = f.data_offset;
  }
}

std::vector<WalTransaction> LtxBuilder::rescan_wal(const WalHeader& header, uint64_t limit) {
  auto read = [this](uint64_t off, std::span<uint8_t> out) { return files_.read_wal(off, out); };
  auto txns = scan_committed(read, WalPosition::at_start(header), limit);
  wal_map_.clear();
  add_to_map(txns);
  return txns;
}

uint32_t LtxBuilder::page_size_from_db() {
  uint8_t hdr[18] = {};
  if (files_.read_db(0, hdr) < sizeof hdr) return 0;
  const uint32_t raw = base::load_be16(hdr + 16);
  const uint32_t page_size = raw == 1 ? 65536u : raw;
  // Not a database SQLite would read: treat as empty rather than divide by garbage.
  if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)) != 0) return 0;
  return page_size;
}

void LtxBuilder::read_page(uint32_t pgno, std::span<uint8_t> out) {
  auto it = wal_map_.find(pgno);
  size_t n = 0;
  if (it != wal_map_.end()) {
    n = files_.read_wal(it->second, out);
    if (n != out.size()) {
      throw std::runtime_error("WAL frame of page " + std::to_string(pgno) +
                               " is shorter than a page: the WAL changed under the replicator");
    }
    return;
  }
  n = files_.read_db(uint64_t{pgno - 1} * out.size(), out);
  // Pages past the end of the database file read as zeros (the database grew in the WAL).
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(n), out.end(), uint8_t{0});
}

void LtxBuilder::for_each_page(uint32_t commit,
                               const std::function<void(uint32_t, std::span<const uint8_t>)>& fn) {
  const uint32_t ps = state_.page_size;
  const uint32_t lock = ltx::lock_page(ps);
  // Reads of 256 KiB: few syscalls, little memory.
  const uint32_t run_pages = std::max<uint32_t>(1, (256u << 10) / ps);
  std::vector<uint8_t> run(size_t{run_pages} * ps);
  std::vector<uint8_t> page(ps);
  for (uint32_t pgno = 1; pgno <= commit;) {
    if (pgno == lock) {
      ++pgno;
      continue;
    }
    if (wal_map_.count(pgno) != 0) {
      read_page(pgno, page);
      fn(pgno, page);
      ++pgno;
      continue;
    }
    // A run of pages only the database file holds: one read.
    uint32_t end = pgno;
    while (end <= commit && end - pgno < run_pages && end != lock && wal_map_.count(end) == 0) {
      ++end;
    }
    const auto bytes = std::span(run).first(size_t{end - pgno} * ps);
    const size_t n = files_.read_db(uint64_t{pgno - 1} * ps, bytes);
    // Pages past the end of the database file read as zeros (the database grew in the WAL).
    std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(n), bytes.end(), uint8_t{0});
    for (uint32_t p = pgno; p < end; ++p) fn(p, bytes.subspan(size_t{p - pgno} * ps, ps));
    pgno = end;
  }
}

DatabaseImage LtxBuilder::image_of_current_state(uint32_t commit) {
  DatabaseImage image(state_.page_size);
  image.resize(commit);
  for_each_page(commit,
                [&](uint32_t pgno, std::span<const uint8_t> page) { image.set_page(pgno, page); });
  return image;
}

void LtxBuilder::record(const WalPosition& end, uint32_t commit, int64_t time_ms) {
  state_.wal = end;
  state_.wal.page_size = state_.page_size;
  state_.commit = commit;
  state_.checksum = image_.checksum();
  state_.timestamp_ms = time_ms;
}

void LtxBuilder::initial_sync(const std::optional<LocalState>& recorded,
                              const std::string& recorded_problem, int64_t now_ms) {
  const auto hold = hold_database();
  files_.refresh();
  wal_map_.clear();
  FoundWal wal;
  wal.header = read_wal_header();
  const uint32_t page_size = wal.header ? wal.header->page_size : page_size_from_db();
  synced_ = true;
  restart_chain_ = false;
  if (page_size == 0) {
    sync_empty(recorded, recorded_problem);
    return;
  }
  if (wal.header) wal.txns = rescan_wal(*wal.header, kNoLimit);
  wal.start = wal.header ? WalPosition::at_start(*wal.header) : WalPosition{};
  wal.end = wal.txns.empty() ? wal.start : wal.txns.back().end;
  wal.db_file_pages = static_cast<uint32_t>(files_.db_size() / page_size);
  wal.end_commit = wal.txns.empty() ? wal.db_file_pages : wal.txns.back().commit;

  if (!recorded || recorded->page_size != page_size) {
    sync_without_recorded_state(recorded, recorded_problem, wal, page_size, now_ms);
    return;
  }
  state_ = *recorded;
  state_.wal.page_size = page_size;
  if (resume_in_wal(*recorded, wal, now_ms)) return;
  if (resume_at_db_file(*recorded, wal, now_ms)) return;
  // Case 3: the database is not where the recorded state says: it changed while not open
  // through ltx, or the record is wrong. Only the record vouches for its checksum, so a full
  // file continuing from it (pre-apply = the recorded checksum) could be one no restore can
  // apply (issue 16, item 5). A snapshot needs no earlier state: its own start of history.
  if (wal.header) rescan_wal(*wal.header, kNoLimit);
  at_database_file(wal.commits_nothing());
  build_full(FullKind::kSnapshot, wal.end_commit, wal.end, now_ms,
             "the database does not match the state recorded beside it (it changed while not "
             "open through ltx, or the record is wrong): a new snapshot");
}

void LtxBuilder::sync_empty(const std::optional<LocalState>& recorded,
                            const std::string& recorded_problem) {
  // An empty database: its first transaction starts the history (a snapshot at the next TXID).
  state_ = LocalState{};
  state_.txid = recorded ? recorded->txid : 0;
  at_database_file(true);
  image_ = DatabaseImage(0);
  if (recorded && recorded->page_size != 0) {
    restart_chain_ = true;
    restart_reason_ =
        "the database was deleted and recreated: the history recorded beside it belongs to "
        "the old one, so a new chain starts";
  } else if (!recorded_problem.empty()) {
    restart_chain_ = true;
    restart_reason_ = recorded_problem;
  }
}

void LtxBuilder::sync_without_recorded_state(const std::optional<LocalState>& recorded,
                                             const std::string& recorded_problem,
                                             const FoundWal& wal, uint32_t page_size,
                                             int64_t now_ms) {
  state_ = LocalState{};
  state_.page_size = page_size;
  state_.txid = recorded ? recorded->txid : 0;
  at_database_file(wal.commits_nothing());
  std::string reason = "no replication state yet: initial snapshot";
  if (!recorded_problem.empty()) {
    reason = recorded_problem + ": a new snapshot";
  } else if (recorded && recorded->page_size == 0) {
    reason = "the history recorded beside the database was of an empty database";
  } else if (recorded) {
    reason = "the page size changed";
  }
  build_full(FullKind::kSnapshot, wal.end_commit, wal.end, now_ms, reason);
}

bool LtxBuilder::resume_in_wal(const LocalState& recorded, const FoundWal& wal, int64_t now_ms) {
  // Case 1: the recorded position is a commit in the current WAL generation.
  if (!wal.header || recorded.wal.salts != wal.header->salts) return false;
  const auto& txns = wal.txns;
  std::optional<size_t> at;  // index of the transaction ending at the position
  bool found = recorded.wal.offset == kWalHeaderSize;
  for (size_t i = 0; i < txns.size() && !found; ++i) {
    if (txns[i].end.offset == recorded.wal.offset) {
      at = i;
      found = true;
    }
  }
  if (!found) return false;
  // Rebuild the map as of the recorded position and check the database there.
  rescan_wal(*wal.header, at ? txns[*at].end.offset : kWalHeaderSize);
  image_ = image_of_current_state(at ? txns[*at].commit : wal.db_file_pages);
  if (image_.checksum() != recorded.checksum) return false;
  state_.wal = at ? txns[*at].end : wal.start;
  const size_t next = at ? *at + 1 : 0;
  at_database_file(!at && txns.empty());
  if (next < txns.size()) build_batch(std::span(txns).subspan(next), state_.wal, now_ms);
  return true;
}

bool LtxBuilder::resume_at_db_file(const LocalState& recorded, const FoundWal& wal,
                                   int64_t now_ms) {
  // Case 2: the database file alone is the recorded state (the WAL was checkpointed and
  // restarted or removed since): every transaction in the current WAL is new.
  wal_map_.clear();
  image_ = image_of_current_state(wal.db_file_pages);
  if (image_.checksum() != recorded.checksum) return false;
  at_database_file(wal.commits_nothing());
  state_.wal = wal.start;
  state_.commit = wal.db_file_pages;
  if (!wal.txns.empty()) build_batch(wal.txns, wal.start, now_ms);
  return true;
}

std::optional<LocalState> LtxBuilder::describe_current(int64_t now_ms) {
  const auto hold = hold_database();
  files_.refresh();
  std::optional<WalHeader> header = read_wal_header();
  const uint32_t page_size = header ? header->page_size : page_size_from_db();
  if (page_size == 0) return std::nullopt;
  std::vector<WalTransaction> txns;
  if (header) txns = rescan_wal(*header, kNoLimit);
  LocalState s;
  s.page_size = page_size;
  s.commit =
      txns.empty() ? static_cast<uint32_t>(files_.db_size() / page_size) : txns.back().commit;
  s.wal =
      txns.empty() ? (header ? WalPosition::at_start(*header) : WalPosition{}) : txns.back().end;
  s.wal.page_size = page_size;
  const uint32_t saved = state_.page_size;
  state_.page_size = page_size;  // image_of_current_state() reads pages of this size
  s.checksum = image_of_current_state(s.commit).checksum();
  state_.page_size = saved;
  wal_map_.clear();
  s.timestamp_ms = now_ms;
  return s;
}

void LtxBuilder::resume_after_overflow(int64_t now_ms) {
  overflow_ = false;
  files_.refresh();
  discontinuity("the spool reached its limit while the store was unreachable", now_ms, kNoLimit);
}

void LtxBuilder::build(std::span<const CommitNotice> notices) {
  if (overflow_ || notices.empty()) return;  // resume_after_overflow() ships the state later
  files_.refresh();
  for (size_t i = 0; i < notices.size();) {
    const CommitNotice& n = notices[i];
    const WalIndexHeader& after = n.after;
    if (state_.page_size == 0) adopt_page_size(after);
    const WalPosition& pos = state_.wal;
    // Already built: the initial sync (or a full file) saw this commit in the WAL.
    if (!wal_generation_unknown_ && after.salts == pos.salts && after.end_offset() <= pos.offset) {
      ++i;
      continue;
    }
    if (n.database_written_outside_wal) {
      discontinuity("the database file was written outside the WAL", n.time_ms, after.end_offset());
      ++i;
      continue;
    }
    // Did this transaction start exactly where we stand?
    const bool before_matches =
        n.before.has_value() &&
        (wal_generation_unknown_
             ? starts_generation(*n.before)
             : n.before->salts == pos.salts && n.before->end_offset() == pos.offset);
    if (n.restart_only()) {
      // The generation ended where we stand, all of it in the database file: the next one starts
      // from that file, and must be the one this restart began (another process that committed
      // in it and restarted it again would otherwise go unseen). Ended elsewhere: the next commit
      // is a discontinuity, as it was before.
      if (before_matches) {
        at_database_file(true, n.after.salts);
        wal_map_.clear();
      }
      ++i;
      continue;
    }
    if (!before_matches) {
      discontinuity("the WAL holds transactions not written through ltx", n.time_ms,
                    after.end_offset());
      ++i;
      continue;
    }
    WalPosition from = pos;
    if (wal_generation_unknown_ || after.salts != pos.salts) {
      // The writer started a new WAL generation: everything before it is in the database file.
      std::optional<WalHeader> header = read_wal_header();
      if (!header || header->salts != after.salts) {
        discontinuity("the WAL was restarted by another process", n.time_ms, after.end_offset());
        ++i;
        continue;
      }
      wal_map_.clear();
      from = WalPosition::at_start(*header);
      at_database_file(false);
    }
    const size_t last = last_of_run(notices, i);
    build_run(notices.subspan(i, last - i + 1), from);
    i = last + 1;
  }
}

void LtxBuilder::adopt_page_size(const WalIndexHeader& after) {
  // The first commit of an empty database (or of one recreated empty): its page size is in the
  // wal-index header, which SQLite has validated.
  state_.page_size = after.page_size;
  if (validate(state_) != "") {
    throw std::runtime_error("the wal-index header reports page size " +
                             std::to_string(after.page_size));
  }
  image_ = DatabaseImage(state_.page_size);
}

void LtxBuilder::build_run(std::span<const CommitNotice> run, const WalPosition& from) {
  const uint64_t end = run.back().after.end_offset();
  // The wal-index told the shim which page each frame holds: no need to read the frames back.
  // Without that (a notice from an older path, a region not mapped), scan and verify the WAL.
  std::vector<WalTransaction> txns = transactions_from_notices(run, from);
  if (txns.empty()) {
    auto read = [this](uint64_t off, std::span<uint8_t> out) { return files_.read_wal(off, out); };
    txns = scan_committed(read, from, end);
    ++wal_scans_;
  }
  if (txns.empty() || txns.back().end.offset != end) {
    discontinuity("the WAL frames of a commit did not verify", run.back().time_ms, end);
  } else {
    build_batch(txns, from, run.back().time_ms);
  }
}

void LtxBuilder::discontinuity(const std::string& reason, int64_t time_ms, uint64_t limit,
                               bool snapshot) {
  const auto hold = hold_database();
  std::optional<WalHeader> header = read_wal_header();
  // The database file holds frames past `limit` already (a checkpoint copied commits not built
  // yet): the state at `limit` cannot be read any more, the state at the WAL's end can. The
  // commits in between are then in this file (build() skips their notices).
  if (header && limit != kNoLimit && database_ahead_of(header->salts, limit)) limit = kNoLimit;
  std::vector<WalTransaction> txns;
  if (header) txns = rescan_wal(*header, limit);
  const WalPosition end =
      txns.empty() ? (header ? WalPosition::at_start(*header) : WalPosition{}) : txns.back().end;
  if (state_.page_size == 0) {
    state_.page_size = header ? header->page_size : page_size_from_db();
    if (state_.page_size == 0) return;  // still nothing to replicate
  }
  const uint32_t commit = txns.empty() ? static_cast<uint32_t>(files_.db_size() / state_.page_size)
                                       : txns.back().commit;
  at_database_file(!header);
  const bool new_chain = snapshot || state_.txid == 0 || restart_chain_;
  build_full(new_chain ? FullKind::kSnapshot : FullKind::kIncremental, commit, end, time_ms,
             restart_chain_ ? restart_reason_ : reason);
}

void LtxBuilder::write_snapshot(int64_t now_ms, const std::string& reason) {
  const auto hold = hold_database();
  files_.refresh();
  // The state at the position is the database file and the frame map only while the WAL is the
  // map's generation (a restart overwrites its frames before their commits are built) and no
  // checkpoint copied commits not built yet into the file (in the generation the position is
  // in; or, at the start of an unknown one, in the WAL's). Otherwise the snapshot is of the
  // state at the WAL's end, which includes those commits.
  const std::optional<WalHeader> header = read_wal_header();
  const bool moved_on = wal_generation_unknown_
                            ? header && database_ahead_of(header->salts, kWalHeaderSize)
                            : !header || header->salts != state_.wal.salts ||
                                  database_ahead_of(state_.wal.salts, state_.wal.offset);
  if (moved_on) {
    discontinuity(reason, now_ms, kNoLimit, /*snapshot=*/true);
    return;
  }
  // The frame map is current up to state_.wal, so the state there is db file + map.
  build_full(FullKind::kSnapshot, state_.commit, state_.wal, now_ms, reason);
}

void LtxBuilder::build_batch(std::span<const WalTransaction> txns, const WalPosition& from,
                             int64_t time_ms) {
  const WalTransaction& last = txns.back();
  if (state_.txid == 0 || restart_chain_) {
    // The first file of a chain must be a snapshot holding every page.
    add_to_map(txns);
    build_full(FullKind::kSnapshot, last.commit, last.end, time_ms,
               restart_chain_ ? restart_reason_ : "first transaction");
    return;
  }
  const uint32_t page_size = state_.page_size;
  const std::map<uint32_t, uint64_t> pages = pages_to_write(txns, image_.commit(), page_size);

  ltx::Header h;
  h.page_size = page_size;
  h.commit = last.commit;
  h.min_txid = state_.txid + 1;
  h.max_txid = state_.txid + txns.size();
  h.timestamp_ms = time_ms;
  h.pre_apply_checksum = image_.checksum();
  h.wal_offset = static_cast<int64_t>(from.offset);
  h.wal_size = static_cast<int64_t>(last.end.offset - from.offset);
  h.wal_salt1 = last.end.salts.salt1;
  h.wal_salt2 = last.end.salts.salt2;

  SpoolWriter out(spool_, h.min_txid, h.max_txid);
  BufferedFdSink sink(out.fd(), out.name(), write_buffer_);
  ltx::Encoder enc(sink, h, encode_options(format_, zstd_level_, key_, database_id_), *compressor_,
                   out.name());
  PageFeeder feeder(enc, *compressor_, helper_compressor_, zstd_level_, hurried_);
  image_.resize(last.commit);
  // The frames may have been located through the wal-index rather than read back and verified
  // (transactions_from_notices), so every frame read is checked against its header: the batch's
  // commit frame (its page, and the database size it commits), and each newest copy (its page,
  // in this WAL generation).
  std::vector<uint8_t> frame(kWalFrameHeaderSize + page_size);
  const std::span<uint8_t> page = std::span(frame).subspan(kWalFrameHeaderSize);
  if (last.frames.empty()) throw std::runtime_error("a commit without frames");
  read_checked_frame(last.frames.back().data_offset, std::span(frame).first(kWalFrameHeaderSize),
                     last.frames.back().pgno, last.end.salts, last.commit);
  CheckpointGate::Hold db_hold;  // taken before the first read of the database file
  for (const auto& [pgno, offset] : pages) {
    if (offset != 0) {
      read_checked_frame(offset, frame, pgno, last.end.salts, std::nullopt);
    } else {
      // A page the database grew by without a frame in this batch: an older frame, or the
      // database file, which must not be ahead of this batch (checkpoint_gate.h).
      if (!db_hold.holds() && wal_map_.count(pgno) == 0) {
        db_hold = hold_database();
        if (database_ahead_of(last.end.salts, last.end.offset)) {
          throw std::runtime_error(
              "page " + std::to_string(pgno) +
              " was added to the database without a WAL frame, and a checkpoint has already "
              "copied later commits into the database file: its content at TXID " +
              std::to_string(h.max_txid) + " is gone, so the next file holds the whole database");
        }
      }
      read_page(pgno, page);
    }
    image_.set_page(pgno, page);
    feeder.add(pgno, page);
  }
  feeder.finish();
  check_wal_generation(last.end.salts);
  enc.finish(image_.checksum());
  sink.flush();
  add_to_map(txns);  // after building: grown pages were read as they were before
  state_.txid = h.max_txid;
  record(last.end, last.commit, time_ms);
  out.commit(state_);
  events_.push_back({BuildEvent::Kind::kIncremental,
                     h.min_txid,
                     h.max_txid,
                     static_cast<uint32_t>(pages.size()),
                     enc.bytes_written(),
                     {}});
}

void LtxBuilder::read_checked_frame(uint64_t data_offset, std::span<uint8_t> bytes, uint32_t pgno,
                                    const WalSalts& salts, std::optional<uint32_t> commit) {
  if (files_.read_wal(data_offset - kWalFrameHeaderSize, bytes) != bytes.size()) {
    throw std::runtime_error("WAL ended inside the frame of page " + std::to_string(pgno));
  }
  const WalFrameHeader fh = parse_wal_frame_header(bytes.first<kWalFrameHeaderSize>());
  if (fh.pgno != pgno || fh.salts != salts || (commit && fh.commit != *commit)) {
    throw std::runtime_error("the WAL frame at offset " + std::to_string(data_offset) +
                             " does not hold page " + std::to_string(pgno) +
                             " as the commit said: the WAL changed under the replicator");
  }
}

void LtxBuilder::check_wal_generation(const WalSalts& salts) {
  const std::optional<WalHeader> header = read_wal_header();
  if (!header || header->salts != salts) {
    throw std::runtime_error(
        "the WAL was restarted while its frames were read for an LTX file: nothing was spooled, "
        "and the next run builds from the database and the WAL as they are then");
  }
}

void LtxBuilder::build_full(FullKind kind, uint32_t commit, const WalPosition& end, int64_t time_ms,
                            const std::string& reason) {
  const uint32_t page_size = state_.page_size;
  ltx::Header h;
  h.page_size = page_size;
  h.commit = commit;
  h.min_txid = kind == FullKind::kSnapshot ? 1 : state_.txid + 1;
  h.max_txid = state_.txid + 1;
  h.timestamp_ms = time_ms;
  // A full incremental starts from the recorded state at the previous TXID, whatever the
  // database holds now: applying it (every page) yields the current state from any base.
  h.pre_apply_checksum = kind == FullKind::kSnapshot ? 0 : state_.checksum;
  if (end.offset > kWalHeaderSize) {
    h.wal_offset = static_cast<int64_t>(kWalHeaderSize);
    h.wal_size = static_cast<int64_t>(end.offset - kWalHeaderSize);
    h.wal_salt1 = end.salts.salt1;
    h.wal_salt2 = end.salts.salt2;
  }

  // A full file can be as large as the database: stream it to the spool.
  SpoolWriter out(spool_, h.min_txid, h.max_txid);
  BufferedFdSink sink(out.fd(), out.name(), write_buffer_);
  ltx::Encoder enc(sink, h, encode_options(format_, zstd_level_, key_, database_id_), *compressor_,
                   out.name());
  PageFeeder feeder(enc, *compressor_, helper_compressor_, zstd_level_, hurried_);
  // The previous image is not needed (a failed run resets the builder, and its next run
  // recomputes the image): replacing it now keeps one image in memory, not two (4 MiB at 1 GiB).
  image_ = DatabaseImage(page_size);
  image_.resize(commit);
  uint32_t pages = 0;
  for_each_page(commit, [&](uint32_t pgno, std::span<const uint8_t> page) {
    image_.set_page(pgno, page);
    feeder.add(pgno, page);
    ++pages;
  });
  feeder.finish();
  if (!wal_map_.empty()) check_wal_generation(end.salts);
  enc.finish(image_.checksum());
  sink.flush();
  state_.txid = h.max_txid;
  record(end, commit, time_ms);
  out.commit(state_);
  restart_chain_ = false;
  events_.push_back(
      {kind == FullKind::kSnapshot ? BuildEvent::Kind::kSnapshot : BuildEvent::Kind::kFull,
       h.min_txid, h.max_txid, pages, enc.bytes_written(), reason});
}

}  // namespace ltxvfs::writer
