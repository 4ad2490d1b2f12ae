#include "vfs/writer/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cinttypes>
#include <cstdio>
#include <stdexcept>
#include <utility>

#include "base/byte_order.h"
#include "ltx/crc64.h"
#include "ltx/decoder.h"
#include "ltx/source.h"
#include "storage/object_store.h"

namespace ltxvfs::writer {
namespace {

constexpr uint32_t kRecordMagic = 0x4c545853;  // "LTXS"
constexpr size_t kHeaderSize = 96;
constexpr size_t kLengthOffset = 24;
constexpr size_t kCrcOffset = 88;
// A new log is started past this size, so fully uploaded logs can be deleted.
constexpr uint64_t kLogRotateBytes = 64u << 20;
// An active log whose records were all uploaded is replaced by a new one past this size.
constexpr uint64_t kLogReclaimBytes = 1u << 20;

// The record header (big-endian): magic, header size, min, max, LTX length, then the state.
std::array<uint8_t, kHeaderSize> encode_header(uint64_t min, uint64_t max, uint64_t length,
                                               const LocalState& s) {
  std::array<uint8_t, kHeaderSize> h{};
  uint8_t* p = h.data();
  base::store_be32(p + 0, kRecordMagic);
  base::store_be32(p + 4, kHeaderSize);
  base::store_be64(p + 8, min);
  base::store_be64(p + 16, max);
  base::store_be64(p + kLengthOffset, length);
  base::store_be32(p + 32, s.page_size);
  base::store_be32(p + 36, s.commit);
  base::store_be64(p + 40, s.checksum);
  base::store_be32(p + 48, s.wal.salts.salt1);
  base::store_be32(p + 52, s.wal.salts.salt2);
  base::store_be64(p + 56, s.wal.offset);
  base::store_be32(p + 64, s.wal.checksum.s1);
  base::store_be32(p + 68, s.wal.checksum.s2);
  p[72] = s.wal.big_endian_checksums ? 1 : 0;
  base::store_be64(p + 80, static_cast<uint64_t>(s.timestamp_ms));
  base::store_be64(p + kCrcOffset, ltx::crc64(std::span(h).first(kCrcOffset)));
  return h;
}

struct DecodedHeader {
  uint64_t min = 0, max = 0, length = 0;
  LocalState state;
};

std::optional<DecodedHeader> decode_header(std::span<const uint8_t, kHeaderSize> h) {
  const uint8_t* p = h.data();
  if (base::load_be32(p) != kRecordMagic || base::load_be32(p + 4) != kHeaderSize)
    return std::nullopt;
  if (base::load_be64(p + kCrcOffset) != ltx::crc64(h.first(kCrcOffset))) return std::nullopt;
  DecodedHeader d;
  d.min = base::load_be64(p + 8);
  d.max = base::load_be64(p + 16);
  d.length = base::load_be64(p + kLengthOffset);
  LocalState& s = d.state;
  s.txid = d.max;
  s.page_size = base::load_be32(p + 32);
  s.commit = base::load_be32(p + 36);
  s.checksum = base::load_be64(p + 40);
  s.wal.salts = {base::load_be32(p + 48), base::load_be32(p + 52)};
  s.wal.page_size = s.page_size;
  s.wal.offset = base::load_be64(p + 56);
  s.wal.checksum = {base::load_be32(p + 64), base::load_be32(p + 68)};
  s.wal.big_endian_checksums = p[72] != 0;
  s.timestamp_ms = static_cast<int64_t>(base::load_be64(p + 80));
  if (d.min == 0 || d.max < d.min || d.length == 0 || !validate(s).empty()) return std::nullopt;
  return d;
}

std::string log_name(uint64_t first_txid) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%016" PRIx64 ".ltxlog", first_txid);
  return buf;
}

// One record of a log, for the decoder.
class RangeSource final : public ltx::Source {
 public:
  RangeSource(int fd, uint64_t offset, uint64_t size, std::string name)
      : fd_(fd), offset_(offset), size_(size), name_(std::move(name)) {}
  uint64_t size() const override { return size_; }
  void read_at(uint64_t offset, std::span<uint8_t> out) const override {
    if (offset + out.size() > size_ ||
        base::pread_full(fd_, offset_ + offset, out, name_) != out.size()) {
      throw std::runtime_error(name_ + ": record ends early");
    }
  }

 private:
  int fd_;
  uint64_t offset_, size_;
  std::string name_;
};

}  // namespace

// ---- Record ---------------------------------------------------------------------------------

void Spool::Record::read_at(uint64_t offset, std::span<uint8_t> out) const {
  if (offset > entry_.size || out.size() > entry_.size - offset ||
      base::pread_full(log_->fd.get(), offset_ + offset, out, log_->path) != out.size()) {
    throw storage::StoreError(storage::StoreErrorKind::kIo,
                              "spooled record " + describe() + " ends early");
  }
}

std::string Spool::Record::describe() const {
  return log_->path + " (TXID " + std::to_string(entry_.min_txid) + "-" +
         std::to_string(entry_.max_txid) + ")";
}

// ---- SpoolWriter ----------------------------------------------------------------------------

SpoolWriter::SpoolWriter(Spool& spool, uint64_t min_txid, uint64_t max_txid)
    : spool_(spool), append_lock_(spool.append_mu_), min_txid_(min_txid), max_txid_(max_txid) {
  std::shared_ptr<Spool::Log> log;
  {
    base::MutexLock lock(spool_.mu_);
    spool_.active_log_locked();
    log = spool_.active_;
  }
  fd_ = log->fd.get();
  record_offset_ = log->size;
  name_ = log->path + " (TXID " + std::to_string(min_txid) + "-" + std::to_string(max_txid) + ")";
  if (::lseek(fd_, static_cast<off_t>(record_offset_ + kHeaderSize), SEEK_SET) < 0) {
    base::throw_errno("seek", log->path);
  }
}

SpoolWriter::~SpoolWriter() {
  if (committed_) return;
  base::MutexLock lock(spool_.mu_);
  // Cut the unfinished record off; an error here leaves a bad tail the next open cuts anyway.
  [[maybe_unused]] int ignored = ::ftruncate(fd_, static_cast<off_t>(record_offset_));
}

void SpoolWriter::commit(const LocalState& after) {
  const off_t end = ::lseek(fd_, 0, SEEK_CUR);
  if (end < 0) base::throw_errno("seek", name_);
  const uint64_t length = static_cast<uint64_t>(end) - record_offset_ - kHeaderSize;
  const auto header = encode_header(min_txid_, max_txid_, length, after);
  if (::pwrite(fd_, header.data(), header.size(), static_cast<off_t>(record_offset_)) !=
      static_cast<ssize_t>(header.size())) {
    base::throw_errno("write", name_);
  }
  base::MutexLock lock(spool_.mu_);
  spool_.active_->size = static_cast<uint64_t>(end);
  committed_ = true;
  Spool::Item item;
  item.entry = {min_txid_, max_txid_, length, after.timestamp_ms};
  item.log = spool_.active_;
  item.offset = record_offset_ + kHeaderSize;
  spool_.add_locked(std::move(item), after);
}

// ---- Spool ----------------------------------------------------------------------------------

Spool::Spool(std::string dir, uint32_t file_mode) : dir_(std::move(dir)), file_mode_(file_mode) {
  base::make_directories(dir_, file_mode_);
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) base::throw_errno("open spool directory", dir_);
  std::vector<std::string> logs;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() > 7 && name.compare(name.size() - 7, 7, ".ltxlog") == 0) {
      logs.push_back(dir_ + "/" + name);
    }
  }
  ::closedir(d);
  std::sort(logs.begin(), logs.end());
  for (const auto& path : logs) load_log(path);
  // What survived a restart is treated as durable: it is on disk now, and if it were lost a
  // second time the WAL or a full file would make up for it, as for any unsynced record.
  durable_txid_ = appended_txid_;
}

Spool::~Spool() = default;

void Spool::load_log(const std::string& path) {
  auto log = std::make_shared<Log>();
  log->path = path;
  log->fd = base::Fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!log->fd) base::throw_errno("open spool log", path);
  struct stat st {};
  if (::fstat(log->fd.get(), &st) != 0) base::throw_errno("stat", path);
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  uint64_t at = 0;
  std::vector<std::pair<Item, LocalState>> found;
  while (at + kHeaderSize <= file_size) {
    std::array<uint8_t, kHeaderSize> raw{};
    if (base::pread_full(log->fd.get(), at, raw, path) != raw.size()) break;
    const auto h = decode_header(raw);
    if (!h || at + kHeaderSize + h->length > file_size) break;
    try {
      RangeSource source(log->fd.get(), at + kHeaderSize, h->length, path);
      ltx::Decoder dec(source, path);
      dec.verify();
      if (dec.header().min_txid != h->min || dec.header().max_txid != h->max) break;
    } catch (const std::exception&) {
      break;  // torn by a crash: this record and everything after it is rebuilt from the WAL
    }
    Item item;
    item.entry = {h->min, h->max, h->length, h->state.timestamp_ms};
    item.log = log;
    item.offset = at + kHeaderSize;
    found.emplace_back(std::move(item), h->state);
    at += kHeaderSize + h->length;
  }
  if (at < file_size && ::ftruncate(log->fd.get(), static_cast<off_t>(at)) != 0) {
    base::throw_errno("truncate the torn tail of", path);
  }
  log->size = log->synced = at;
  if (found.empty()) {
    ::unlink(path.c_str());
    return;
  }
  base::MutexLock lock(mu_);
  logs_.emplace(path, log);
  for (auto& [item, state] : found) add_locked(std::move(item), state);
}

Spool::Log& Spool::active_log_locked() {
  if (active_ && active_->size < kLogRotateBytes &&
      !(active_->live == 0 && active_->size > kLogReclaimBytes)) {
    return *active_;
  }
  // The name only has to be unique and sort in creation order.
  uint64_t first = appended_txid_ + 1;
  std::string path = dir_ + "/" + log_name(first);
  while (logs_.count(path) != 0 || ::access(path.c_str(), F_OK) == 0) {
    path = dir_ + "/" + log_name(++first);
  }
  auto log = std::make_shared<Log>();
  log->path = path;
  log->fd = base::create_file(path, O_RDWR | O_EXCL, file_mode_, "create spool log");
  dir_dirty_ = true;
  // The old active log is deleted by make_durable() once its records are uploaded and a newer
  // record is durable in this one.
  active_ = log;
  logs_.emplace(path, log);
  return *log;
}

void Spool::append(const LocalState& after, uint64_t min_txid, std::span<const uint8_t> ltx) {
  base::MutexLock append(append_mu_);
  base::MutexLock lock(mu_);
  Log& log = active_log_locked();
  const auto header = encode_header(min_txid, after.txid, ltx.size(), after);
  std::array<iovec, 2> parts{iovec{const_cast<uint8_t*>(header.data()), header.size()},
                             iovec{const_cast<uint8_t*>(ltx.data()), ltx.size()}};
  const ssize_t want = static_cast<ssize_t>(header.size() + ltx.size());
  if (::pwritev(log.fd.get(), parts.data(), 2, static_cast<off_t>(log.size)) != want) {
    const int saved = errno;
    [[maybe_unused]] int ignored = ::ftruncate(log.fd.get(), static_cast<off_t>(log.size));
    errno = saved;
    base::throw_errno("append to spool log", log.path);
  }
  Item item;
  item.entry = {min_txid, after.txid, ltx.size(), after.timestamp_ms};
  item.log = active_;
  item.offset = log.size + kHeaderSize;
  log.size += static_cast<uint64_t>(want);
  add_locked(std::move(item), after);
}

void Spool::add_locked(Item item, const LocalState& after) {
  // The builder rebuilt from entry.min_txid (after a crash or a failed build): what it had
  // spooled from there on is superseded.
  for (auto it = items_.lower_bound(item.entry.min_txid); it != items_.end();) {
    ++supersedes_;
    bytes_ -= it->second.entry.size;
    std::shared_ptr<Log> log = it->second.log;
    it = items_.erase(it);
    release_locked(log);
  }
  ++item.log->live;
  item.log->last_txid = std::max(item.log->last_txid, item.entry.max_txid);
  bytes_ += item.entry.size;
  appended_txid_ = item.entry.max_txid;
  durable_txid_ = std::min(durable_txid_, item.entry.min_txid - 1);
  newest_ = after;
  const uint64_t key = item.entry.min_txid;
  items_.emplace(key, std::move(item));
}

void Spool::release_locked(const std::shared_ptr<Log>& log) {
  if (log->live > 0) --log->live;
  // Deleted in make_durable(), never here: the log may hold the newest position.
}

std::vector<SpoolEntry> Spool::entries() const {
  base::MutexLock lock(mu_);
  std::vector<SpoolEntry> out;
  out.reserve(items_.size());
  for (const auto& [key, item] : items_) out.push_back(item.entry);
  return out;
}

std::vector<Spool::Record> Spool::durable_prefix(uint64_t max_bytes) const {
  base::MutexLock lock(mu_);
  std::vector<Record> out;
  uint64_t bytes = 0;
  for (const auto& [key, item] : items_) {
    if (item.entry.max_txid > durable_txid_) break;
    if (!out.empty() && bytes + item.entry.size > max_bytes) break;
    Record r;
    r.entry_ = item.entry;
    r.log_ = item.log;
    r.offset_ = item.offset;
    out.push_back(std::move(r));
    bytes += item.entry.size;
  }
  return out;
}

size_t Spool::count() const {
  base::MutexLock lock(mu_);
  return items_.size();
}

std::optional<Spool::Record> Spool::record(const SpoolEntry& entry) const {
  base::MutexLock lock(mu_);
  auto it = items_.find(entry.min_txid);
  if (it == items_.end() || it->second.entry.max_txid != entry.max_txid) return std::nullopt;
  Record r;
  r.entry_ = it->second.entry;
  r.log_ = it->second.log;
  r.offset_ = it->second.offset;
  return r;
}

std::vector<uint8_t> Spool::read(const SpoolEntry& entry) const {
  auto r = record(entry);
  if (!r) {
    throw std::runtime_error(dir_ + ": the spooled record of TXID " +
                             std::to_string(entry.min_txid) + "-" + std::to_string(entry.max_txid) +
                             " was superseded or uploaded");
  }
  std::vector<uint8_t> out(r->size());
  r->read_at(0, out);
  return out;
}

uint64_t Spool::bytes() const {
  base::MutexLock lock(mu_);
  return bytes_;
}

uint64_t Spool::max_txid() const {
  base::MutexLock lock(mu_);
  return items_.empty() ? 0 : items_.rbegin()->second.entry.max_txid;
}

std::optional<LocalState> Spool::newest_state() const {
  base::MutexLock lock(mu_);
  return newest_;
}

void Spool::remove(const SpoolEntry& entry) {
  base::MutexLock lock(mu_);
  auto it = items_.find(entry.min_txid);
  if (it == items_.end() || it->second.entry.max_txid != entry.max_txid) return;
  bytes_ -= it->second.entry.size;
  std::shared_ptr<Log> log = it->second.log;
  items_.erase(it);
  release_locked(log);
}

uint64_t Spool::durable_txid() const {
  base::MutexLock lock(mu_);
  return durable_txid_;
}

bool Spool::close_idle_log() {
  // Not while a record is being appended: the SpoolWriter writes to the active log's descriptor
  // without mu_ (holding append_mu_).
  if (!append_mu_.try_lock()) return false;
  bool closed = false;
  {
    base::MutexLock lock(mu_);
    for (auto& [path, log] : logs_) {
      // live == 0: no item refers to it, so no Record can be made of it; a use count of logs_
      // (and active_) alone: no Record made earlier is still held (a Record reads fd without
      // mu_). Durable: make_durable() syncs only logs with unsynced bytes.
      const bool active = log == active_;
      if (!log->fd || log->live != 0 || log->synced != log->size ||
          log.use_count() != (active ? 2 : 1)) {
        continue;
      }
      log->fd = base::Fd();
      if (active) active_.reset();
      closed = true;
    }
  }
  append_mu_.unlock();
  return closed;
}

uint64_t Spool::make_durable() {
  std::vector<std::pair<std::shared_ptr<Log>, uint64_t>> to_sync;
  bool dir_dirty = false, first = false;
  uint64_t txid = 0, supersedes = 0;
  {
    // Appends are ordered: everything appended up to `txid` lies within these sizes.
    base::MutexLock lock(mu_);
    for (auto& [path, log] : logs_) {
      if (log->synced < log->size) to_sync.emplace_back(log, log->size);
    }
    dir_dirty = std::exchange(dir_dirty_, false);
    first = !ancestors_durable_;
    txid = appended_txid_;
    supersedes = supersedes_;
  }
  // One fdatasync per log written to (usually one), however many records it received.
  for (const auto& [log, size] : to_sync) {
    if (::fdatasync(log->fd.get()) != 0) base::throw_errno("fdatasync", log->path);
  }
  if (dir_dirty || first) base::fsync_path(dir_);
  if (first) {
    // The spool's entry in the sidecar and the sidecar's in its parent: make_directories()
    // syncs nothing, and whoever made them (this process, or one that crashed before its first
    // make_durable()) may never have. Without this, only side effects (SQLite's directory sync
    // at the WAL's creation, state.json's atomic write ~3 ms later) made them durable, and a power
    // loss between could take a spool whose records the WAL no longer holds. Once per spool, on
    // the first call (the replicator asks for one at open, so no close or upload waits for it).
    // One this process may not read is left alone, as SQLite leaves it, rather than stopping
    // every upload.
    const std::string sidecar = base::directory_of(dir_);
    base::fsync_path(sidecar, /*skip_unreadable=*/true);
    base::fsync_path(base::directory_of(sidecar), /*skip_unreadable=*/true);
  }
  base::MutexLock lock(mu_);
  if (first) ancestors_durable_ = true;
  for (const auto& [log, size] : to_sync) log->synced = std::max(log->synced, size);
  // A rebuild that superseded records meanwhile moved the position back: what was appended up to
  // `txid` is not all live any more.
  if (supersedes == supersedes_) durable_txid_ = std::max(durable_txid_, txid);
  assert(durable_txid_ <= appended_txid_);  // only what was appended becomes durable
  // Logs whose records were all uploaded, when a newer durable record exists elsewhere: the
  // newest durable position must always survive in some log.
  for (auto it = logs_.begin(); it != logs_.end();) {
    const Log& log = *it->second;
    if (log.live == 0 && it->second != active_ && log.synced == log.size &&
        log.last_txid < durable_txid_) {
      ::unlink(it->first.c_str());
      it = logs_.erase(it);
    } else {
      ++it;
    }
  }
  return durable_txid_;
}

}  // namespace ltxvfs::writer
