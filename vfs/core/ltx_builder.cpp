#include "vfs/core/ltx_builder.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "ltx/encoder.h"
#include "ltx/sink.h"
#include "vfs/core/byte_order.h"
#include "vfs/core/posix_file.h"

namespace ltxvfs::core {
namespace {

constexpr uint64_t kNoLimit = UINT64_MAX;

ltx::EncodeOptions encode_options(OutputFormat format) {
  return format == OutputFormat::kLitestream ? ltx::EncodeOptions::litestream()
                                             : ltx::EncodeOptions::native();
}

}  // namespace

LtxBuilder::LtxBuilder(FileAccess& files, Spool& spool, std::string state_path, OutputFormat format)
    : files_(files),
      spool_(spool),
      compressor_(std::make_unique<ltx::PageCompressor>(encode_options(format).encoding,
                                                        encode_options(format).zstd_level)),
      state_path_(std::move(state_path)),
      format_(format) {}

std::vector<BuildEvent> LtxBuilder::take_events() {
  return std::exchange(events_, {});
}

std::optional<WalHeader> LtxBuilder::read_wal_header() {
  std::array<uint8_t, kWalHeaderSize> buf{};
  if (files_.read_wal(0, buf) != buf.size()) return std::nullopt;
  return parse_wal_header(buf);
}

std::vector<WalTransaction> LtxBuilder::rescan_wal(const WalHeader& header, uint64_t limit) {
  auto read = [this](uint64_t off, std::span<uint8_t> out) { return files_.read_wal(off, out); };
  auto txns = scan_committed(read, WalPosition::at_start(header), limit);
  wal_map_.clear();
  for (const auto& t : txns) {
    for (const auto& f : t.frames) wal_map_[f.pgno] = f.data_offset;
  }
  return txns;
}

bool LtxBuilder::db_in_wal_mode() {
  uint8_t version[2] = {};  // file format write/read versions: 2 = WAL
  if (files_.read_db(18, version) < sizeof version) return false;
  return version[0] == 2 && version[1] == 2;
}

uint32_t LtxBuilder::page_size_from_db() {
  uint8_t hdr[18] = {};
  if (files_.read_db(0, hdr) < sizeof hdr) return 0;
  const uint32_t raw = load_be16(hdr + 16);
  return raw == 1 ? 65536u : raw;
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

DatabaseImage LtxBuilder::image_of_current_state(uint32_t commit) {
  DatabaseImage image(state_.page_size);
  image.resize(commit);
  std::vector<uint8_t> page(state_.page_size);
  const uint32_t lock = ltx::lock_page(state_.page_size);
  for (uint32_t pgno = 1; pgno <= commit; ++pgno) {
    if (pgno == lock) continue;
    read_page(pgno, page);
    image.set_page(pgno, page);
  }
  return image;
}

void LtxBuilder::record(const WalPosition& end, uint32_t commit, int64_t time_ms) {
  state_.wal = end;
  state_.commit = commit;
  state_.checksum = image_.checksum();
  state_.timestamp_ms = time_ms;
  dirty_ = true;
}

void LtxBuilder::persist() {
  if (!synced_ || !dirty_) return;
  write_local_state(state_path_, state_, /*durable=*/false);
  dirty_ = false;
}

void LtxBuilder::make_durable() {
  spool_.make_durable();
  if (synced_) {
    write_local_state(state_path_, state_, /*durable=*/true);
    dirty_ = false;
  }
}

bool LtxBuilder::initial_sync(int64_t now_ms) {
  files_.refresh();
  std::optional<WalHeader> header = read_wal_header();
  uint32_t page_size = header ? header->page_size : page_size_from_db();
  if (!header && page_size != 0 && !db_in_wal_mode()) {
    // A rollback-mode database the connection is switching to WAL mode right now, by rewriting
    // page 1: reading it could tear. Try again once the switch is done.
    return false;
  }
  std::optional<LocalState> recorded = read_local_state(state_path_);
  synced_ = true;
  if (page_size == 0) {
    // An empty database: the first transaction will be TXID 1 (built as a snapshot).
    state_ = recorded.value_or(LocalState{});
    wal_generation_unknown_ = true;
    image_ = DatabaseImage(state_.page_size);
    if (recorded && recorded->commit != 0) {
      // The recorded history does not describe this (empty) database.
      state_.page_size = 0;
    }
    return true;
  }

  std::vector<WalTransaction> txns;
  if (header) txns = rescan_wal(*header, kNoLimit);
  const WalPosition wal_start = header ? WalPosition::at_start(*header) : WalPosition{};
  const WalPosition wal_end = txns.empty() ? wal_start : txns.back().end;
  const uint32_t db_file_pages = static_cast<uint32_t>(files_.db_size() / page_size);
  const uint32_t end_commit = txns.empty() ? db_file_pages : txns.back().commit;

  if (!recorded || recorded->page_size != page_size) {
    state_ = LocalState{};
    state_.page_size = page_size;
    state_.txid = recorded ? recorded->txid : 0;
    state_.uploaded_txid = recorded ? recorded->uploaded_txid : 0;
    wal_generation_unknown_ = !header;
    build_full(FullKind::kSnapshot, end_commit, wal_end, now_ms,
               recorded ? "page size changed" : "no replication state yet: initial snapshot");
    return true;
  }
  state_ = *recorded;
  state_.wal.page_size = page_size;

  // Case 1: the recorded position is a commit in the current WAL generation.
  if (header && recorded->wal.salts == header->salts) {
    const WalTransaction* at = nullptr;
    size_t next = 0;
    if (recorded->wal.offset == kWalHeaderSize) {
      next = 0;
      at = nullptr;
    } else {
      for (size_t i = 0; i < txns.size(); ++i) {
        if (txns[i].end.offset == recorded->wal.offset) {
          at = &txns[i];
          next = i + 1;
          break;
        }
      }
    }
    if (at != nullptr || recorded->wal.offset == kWalHeaderSize) {
      // Rebuild the map as of the recorded position and check the database there.
      const uint64_t limit = at != nullptr ? at->end.offset : kWalHeaderSize;
      rescan_wal(*header, limit);
      const uint32_t commit = at != nullptr ? at->commit : db_file_pages;
      image_ = image_of_current_state(commit);
      if (image_.checksum() == recorded->checksum) {
        wal_generation_unknown_ = false;
        state_.wal = at != nullptr ? at->end : wal_start;
        for (size_t i = next; i < txns.size(); ++i) {
          const WalPosition from = state_.wal;
          build_transaction(txns[i], from, now_ms);
        }
        return true;
      }
    }
  }

  // Case 2: the database file alone is the recorded state (the WAL was checkpointed and
  // restarted or removed since): every transaction in the current WAL is new.
  wal_map_.clear();
  image_ = image_of_current_state(db_file_pages);
  if (image_.checksum() == recorded->checksum) {
    wal_generation_unknown_ = !header;
    state_.wal = wal_start;
    state_.commit = db_file_pages;
    for (const auto& t : txns) {
      const WalPosition from = state_.wal;
      build_transaction(t, from, now_ms);
    }
    return true;
  }

  // Case 3: the database is not where the replica left it.
  if (header) rescan_wal(*header, kNoLimit);
  wal_generation_unknown_ = !header;
  build_full(FullKind::kIncremental, end_commit, wal_end, now_ms,
             "the database changed while it was not open through ltx");
  return true;
}

void LtxBuilder::resume_after_overflow(int64_t now_ms) {
  overflow_ = false;
  files_.refresh();
  discontinuity("the spool reached its limit while the store was unreachable", now_ms, kNoLimit);
}

void LtxBuilder::on_commit(const CommitNotice& n) {
  if (overflow_) return;  // resume_after_overflow() ships the state these commits produced
  files_.refresh();
  const WalIndexHeader& after = n.after;
  if (state_.page_size == 0) state_.page_size = after.page_size;
  const WalPosition& pos = state_.wal;
  // Already built: the initial sync (or a full file) saw this commit in the WAL.
  if (!wal_generation_unknown_ && after.salts == pos.salts && after.end_offset() <= pos.offset) {
    return;
  }
  if (n.database_written_outside_wal) {
    discontinuity("the database file was written outside the WAL", n.time_ms, after.end_offset());
    return;
  }
  // Did this transaction start exactly where we stand?
  const bool before_matches =
      n.before.has_value() && (wal_generation_unknown_ ? n.before->max_frame == 0
                                                       : (n.before->salts == pos.salts &&
                                                          n.before->end_offset() == pos.offset));
  if (!before_matches) {
    discontinuity("the WAL holds transactions not written through ltx", n.time_ms,
                  after.end_offset());
    return;
  }
  WalPosition from = pos;
  if (wal_generation_unknown_ || after.salts != pos.salts) {
    // The writer started a new WAL generation: everything before it is in the database file.
    std::optional<WalHeader> header = read_wal_header();
    if (!header || header->salts != after.salts) {
      discontinuity("the WAL was restarted by another process", n.time_ms, after.end_offset());
      return;
    }
    wal_map_.clear();
    from = WalPosition::at_start(*header);
    wal_generation_unknown_ = false;
  }
  auto read = [this](uint64_t off, std::span<uint8_t> out) { return files_.read_wal(off, out); };
  std::vector<WalTransaction> txns = scan_committed(read, from, after.end_offset());
  if (txns.empty() || txns.back().end.offset != after.end_offset()) {
    discontinuity("the WAL frames of a commit did not verify", n.time_ms, after.end_offset());
    return;
  }
  for (const auto& t : txns) {
    build_transaction(t, from, n.time_ms);
    from = t.end;
  }
}

void LtxBuilder::discontinuity(const std::string& reason, int64_t time_ms, uint64_t limit) {
  std::optional<WalHeader> header = read_wal_header();
  std::vector<WalTransaction> txns;
  if (header) txns = rescan_wal(*header, limit);
  const WalPosition end =
      txns.empty() ? (header ? WalPosition::at_start(*header) : WalPosition{}) : txns.back().end;
  const uint32_t commit = txns.empty() ? static_cast<uint32_t>(files_.db_size() / state_.page_size)
                                       : txns.back().commit;
  wal_generation_unknown_ = !header;
  build_full(state_.txid == 0 ? FullKind::kSnapshot : FullKind::kIncremental, commit, end, time_ms,
             reason);
}

void LtxBuilder::write_snapshot(int64_t now_ms, const std::string& reason) {
  files_.refresh();
  // The frame map is current up to state_.wal, so the state there is db file + map.
  build_full(FullKind::kSnapshot, state_.commit, state_.wal, now_ms, reason);
}

void LtxBuilder::build_transaction(const WalTransaction& txn, const WalPosition& from,
                                   int64_t time_ms) {
  auto add_to_map = [&] {
    for (const auto& f : txn.frames) wal_map_[f.pgno] = f.data_offset;
  };
  if (state_.txid == 0) {
    // TXID 1 must be a snapshot holding every page.
    add_to_map();
    build_full(FullKind::kSnapshot, txn.commit, txn.end, time_ms, "first transaction");
    return;
  }
  const uint32_t page_size = state_.page_size;
  const uint32_t old_commit = image_.commit();
  // Last copy of each page in the transaction, at most the new commit.
  std::map<uint32_t, uint64_t> pages;
  for (const auto& f : txn.frames) {
    if (f.pgno <= txn.commit) pages[f.pgno] = f.data_offset;
  }
  // When the database grew, the file must carry every new page.
  const uint32_t lock = ltx::lock_page(page_size);
  for (uint32_t pgno = old_commit + 1; pgno <= txn.commit; ++pgno) {
    if (pgno != lock) pages.emplace(pgno, 0);
  }

  ltx::Header h;
  h.page_size = page_size;
  h.commit = txn.commit;
  h.min_txid = h.max_txid = state_.txid + 1;
  h.timestamp_ms = time_ms;
  h.pre_apply_checksum = image_.checksum();
  h.wal_offset = static_cast<int64_t>(from.offset);
  h.wal_size = static_cast<int64_t>(txn.end.offset - from.offset);
  h.wal_salt1 = txn.end.salts.salt1;
  h.wal_salt2 = txn.end.salts.salt2;

  ltx::VectorSink sink;
  ltx::Encoder enc(sink, h, encode_options(format_), *compressor_,
                   "TXID " + std::to_string(h.max_txid));
  image_.resize(txn.commit);
  std::vector<uint8_t> page(page_size);
  for (const auto& [pgno, offset] : pages) {
    if (offset != 0) {
      if (files_.read_wal(offset, page) != page.size()) {
        throw std::runtime_error("WAL ended inside the frame of page " + std::to_string(pgno));
      }
    } else {
      read_page(pgno, page);
    }
    image_.set_page(pgno, page);
    enc.add_page(pgno, page);
  }
  enc.finish(image_.checksum());
  spool_.append(h.min_txid, h.max_txid, sink.bytes());  // one write, no file per transaction
  add_to_map();  // after building: pages the transaction grew into were read as they were before
  state_.txid = h.max_txid;
  record(txn.end, txn.commit, time_ms);
  events_.push_back({BuildEvent::Kind::kIncremental,
                     h.min_txid,
                     h.max_txid,
                     static_cast<uint32_t>(pages.size()),
                     enc.bytes_written(),
                     {}});
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

  // A full file can be as large as the database: stream it to the spool file.
  SpoolWriter out(spool_, h.min_txid, h.max_txid);
  ltx::FdSink sink(out.fd(), out.name());
  ltx::Encoder enc(sink, h, encode_options(format_), *compressor_, out.name());
  DatabaseImage image(page_size);
  image.resize(commit);
  std::vector<uint8_t> page(page_size);
  const uint32_t lock = ltx::lock_page(page_size);
  uint32_t pages = 0;
  for (uint32_t pgno = 1; pgno <= commit; ++pgno) {
    if (pgno == lock) continue;
    read_page(pgno, page);
    image.set_page(pgno, page);
    enc.add_page(pgno, page);
    ++pages;
  }
  enc.finish(image.checksum());
  out.commit();
  image_ = std::move(image);
  state_.txid = h.max_txid;
  record(end, commit, time_ms);
  events_.push_back(
      {kind == FullKind::kSnapshot ? BuildEvent::Kind::kSnapshot : BuildEvent::Kind::kFull,
       h.min_txid, h.max_txid, pages, enc.bytes_written(), reason});
}

}  // namespace ltxvfs::core
