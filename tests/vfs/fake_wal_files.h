// A synthetic database and WAL for driving LtxBuilder without SQLite (builder_test.cpp,
// checkpoint_gate_test.cpp): written byte by byte the way SQLite lays them out.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/byte_order.h"
#include "ltx/decoder.h"
#include "ltx/source.h"
#include "vfs/writer/file_access.h"
#include "vfs/writer/spool.h"
#include "vfs/writer/wal_format.h"
#include "vfs/writer/wal_index_header.h"

namespace ltxvfs::testing {

using writer::kWalFrameHeaderSize;
using writer::kWalHeaderSize;
using writer::kWalMagicBigEndian;
using writer::Spool;
using writer::SpoolEntry;
using writer::wal_checksum;
using writer::wal_frame_offset;
using writer::WalChecksum;
using writer::WalIndexHeader;
using writer::WalSalts;

// A sparse database file and an in-memory WAL.
class FakeFiles final : public writer::FileAccess {
 public:
  explicit FakeFiles(uint32_t page_size) : page_size_(page_size) {}

  size_t read_db(uint64_t offset, std::span<uint8_t> out) override {
    if (offset >= db_size_) return 0;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), db_size_ - offset));
    std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), uint8_t{0});
    // The read may span pages (the builder reads runs of pages at once).
    for (size_t done = 0; done < n;) {
      const uint64_t at = offset + done;
      const uint32_t pgno = static_cast<uint32_t>(at / page_size_) + 1;
      const size_t in_page = static_cast<size_t>(at % page_size_);
      const size_t len = std::min<size_t>(n - done, page_size_ - in_page);
      if (auto it = db_pages_.find(pgno); it != db_pages_.end()) {
        std::copy_n(it->second.begin() + static_cast<std::ptrdiff_t>(in_page), len,
                    out.begin() + static_cast<std::ptrdiff_t>(done));
      }
      done += len;
    }
    return n;
  }
  uint64_t db_size() override { return db_size_; }
  size_t read_wal(uint64_t offset, std::span<uint8_t> out) override {
    if (before_wal_read) before_wal_read(offset);
    if (offset >= wal_.size()) return 0;
    const size_t n = std::min<size_t>(out.size(), wal_.size() - offset);
    wal_bytes_read += n;
    std::copy_n(wal_.begin() + static_cast<std::ptrdiff_t>(offset), n, out.begin());
    return n;
  }

  // Overwrites the page number in the header of frame `frame` (1-based), as a process writing
  // the WAL behind SQLite's back would.
  void set_frame_page(uint32_t frame, uint32_t pgno) {
    ltxvfs::base::store_be32(&wal_[wal_frame_offset(frame, page_size_)], pgno);
  }

  uint64_t wal_bytes_read = 0;
  // Called before each read of the WAL, with its offset: SQLite's thread acting meanwhile.
  std::function<void(uint64_t offset)> before_wal_read;

  void set_db(uint32_t pages, std::map<uint32_t, std::vector<uint8_t>> content) {
    db_size_ = uint64_t{pages} * page_size_;
    db_pages_ = std::move(content);
  }

  // Starts a WAL generation (what SQLite writes at offset 0).
  void start_wal(uint32_t salt1, uint32_t salt2) {
    wal_.assign(kWalHeaderSize, 0);
    ltxvfs::base::store_be32(&wal_[0], kWalMagicBigEndian);
    ltxvfs::base::store_be32(&wal_[4], 3007000);
    ltxvfs::base::store_be32(&wal_[8], page_size_);
    ltxvfs::base::store_be32(&wal_[16], salt1);
    ltxvfs::base::store_be32(&wal_[20], salt2);
    checksum_ = wal_checksum(std::span(wal_).first(24), true, {});
    ltxvfs::base::store_be32(&wal_[24], checksum_.s1);
    ltxvfs::base::store_be32(&wal_[28], checksum_.s2);
    salts_ = {salt1, salt2};
    frames_ = 0;
  }
  // Appends one frame; `commit` != 0 ends a transaction.
  void append_frame(uint32_t pgno, const std::vector<uint8_t>& page, uint32_t commit) {
    std::vector<uint8_t> header(kWalFrameHeaderSize, 0);
    ltxvfs::base::store_be32(&header[0], pgno);
    ltxvfs::base::store_be32(&header[4], commit);
    ltxvfs::base::store_be32(&header[8], salts_.salt1);
    ltxvfs::base::store_be32(&header[12], salts_.salt2);
    checksum_ = wal_checksum(std::span(header).first(8), true, checksum_);
    checksum_ = wal_checksum(page, true, checksum_);
    ltxvfs::base::store_be32(&header[16], checksum_.s1);
    ltxvfs::base::store_be32(&header[20], checksum_.s2);
    wal_.insert(wal_.end(), header.begin(), header.end());
    wal_.insert(wal_.end(), page.begin(), page.end());
    ++frames_;
    if (commit != 0) {
      committed_frames_ = frames_;
      commit_ = commit;
      commit_checksum_ = checksum_;
    }
  }
  // The wal-index header SQLite would show after the last commit.
  WalIndexHeader index_header() const {
    WalIndexHeader h;
    h.page_size = page_size_;
    h.max_frame = committed_frames_;
    h.db_pages = commit_;
    h.big_endian_checksums = true;
    h.frame_checksum = commit_checksum_;
    h.salts = salts_;
    return h;
  }

 private:
  uint32_t page_size_;
  uint64_t db_size_ = 0;
  std::map<uint32_t, std::vector<uint8_t>> db_pages_;
  std::vector<uint8_t> wal_;
  WalChecksum checksum_, commit_checksum_;
  WalSalts salts_;
  uint32_t frames_ = 0, committed_frames_ = 0, commit_ = 0;
};

inline std::vector<uint8_t> page_of(uint32_t page_size, uint8_t fill) {
  return std::vector<uint8_t>(page_size, fill);
}

// Decodes a spooled file into pgno -> content.
inline std::map<uint32_t, std::vector<uint8_t>> pages_in(const Spool& spool,
                                                         const SpoolEntry& entry,
                                                         ltx::Header* header) {
  auto bytes = spool.read(entry);
  ltx::MemorySource source(bytes);
  ltx::Decoder dec(source, "spooled TXID " + std::to_string(entry.min_txid));
  std::map<uint32_t, std::vector<uint8_t>> out;
  while (auto p = dec.next()) out[p->pgno].assign(p->data.begin(), p->data.end());
  if (header != nullptr) *header = dec.header();
  return out;
}

// Page 1 with the parts of SQLite's header the builder reads (page size at 16-17, WAL mode at
// 18-19).
inline std::vector<uint8_t> header_page(uint32_t page_size, uint8_t fill) {
  auto page = page_of(page_size, fill);
  const char magic[] = "SQLite format 3";
  std::copy(magic, magic + sizeof magic, page.begin());
  page[16] = static_cast<uint8_t>(page_size == 65536 ? 0 : page_size >> 8);
  page[17] = static_cast<uint8_t>(page_size == 65536 ? 1 : page_size & 0xff);
  page[18] = page[19] = 2;  // a WAL-mode database
  return page;
}

}  // namespace ltxvfs::testing
