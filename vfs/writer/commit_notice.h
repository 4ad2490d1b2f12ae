// CommitNotice: what the shim observes about one write transaction, recorded on SQLite's thread
// while it still holds the WAL write lock, and handed to the builder thread.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <vector>

#include "vfs/writer/wal_index_header.h"
#include "vfs/writer/wal_scanner.h"

namespace ltxvfs::writer {

// The page numbers of one commit's frames. A notice is made on SQLite's thread for every commit
// and freed on the builder's, so a small transaction's pages are kept inline: no allocation (and
// no cross-thread free) on the commit path.
class FramePages {
 public:
  static constexpr size_t kInline = 6;

  FramePages() = default;
  FramePages(std::initializer_list<uint32_t> pages) {
    assign(std::span<const uint32_t>(pages.begin(), pages.size()));
  }

  // Storage for exactly `n` page numbers (their values unspecified until written).
  std::span<uint32_t> resize(size_t n) {
    size_ = n;
    if (n <= kInline) {
      heap_ = {};
      return std::span(inline_).first(n);
    }
    heap_.resize(n);
    return heap_;
  }
  void assign(std::span<const uint32_t> pages) {
    auto out = resize(pages.size());
    std::copy(pages.begin(), pages.end(), out.begin());
  }
  void clear() { resize(0); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const uint32_t* begin() const { return data(); }
  const uint32_t* end() const { return data() + size_; }
  uint32_t& operator[](size_t i) { return const_cast<uint32_t*>(data())[i]; }

 private:
  const uint32_t* data() const { return size_ <= kInline ? inline_.data() : heap_.data(); }

  std::array<uint32_t, kInline> inline_{};
  std::vector<uint32_t> heap_;
  size_t size_ = 0;
};

struct CommitNotice {
  uint64_t seq = 0;                      // assigned by the replicator, in commit order
  std::optional<WalIndexHeader> before;  // wal-index header when the write lock was taken
  WalIndexHeader after;                  // ... and when it was released (after the commit)
  bool wal_restarted = false;            // this transaction wrote a new WAL header
  int64_t time_ms = 0;                   // commit time: the LTX timestamp
  // The database file was written outside a checkpoint since the previous commit: its content
  // no longer follows from the WAL, so this commit must ship the whole database.
  bool database_written_outside_wal = false;
  // The page of every frame the transaction wrote, in WAL order, as the wal-index records them
  // (wal_index_pages.h): frames first_frame()..after.max_frame. Empty when unknown; the builder
  // then reads the frames back to find out.
  FramePages frame_pages;

  // The first frame this transaction wrote: 1 in a new WAL generation, else just past `before`.
  uint32_t first_frame() const {
    return before && before->salts == after.salts ? before->max_frame + 1 : 1;
  }
  // How many WAL frames the transaction committed.
  uint32_t frame_count() const {
    const uint32_t first = first_frame();
    return after.max_frame >= first ? after.max_frame - first + 1 : 0;
  }
  // A WAL restart with nothing committed after it, not a commit: a TRUNCATE checkpoint's (or a
  // rolled-back transaction's after a restart). SQLite restarts only a WAL whose every frame is
  // in the database file, so the generation `before` ended exactly there.
  bool restart_only() const {
    return before && after.max_frame == 0 && after.salts != before->salts;
  }
};

// The transactions of consecutive notices that start at `from`, from their frame pages, without
// reading the WAL: each notice is one transaction, ending at its `after` header (SQLite's own
// account of the commit frame, its checksum included). Empty when any notice lacks its pages or
// does not continue exactly where the previous one ended: the caller scans the WAL instead.
std::vector<WalTransaction> transactions_from_notices(std::span<const CommitNotice> notices,
                                                      const WalPosition& from);

}  // namespace ltxvfs::writer
