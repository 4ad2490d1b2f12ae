#include "vfs/core/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <stdexcept>
#include <utility>

#include "ltx/decoder.h"
#include "ltx/source.h"

namespace ltxvfs::core {
namespace {

constexpr uint32_t kRecordMagic = 0x4c545852;  // "LTXR"
constexpr size_t kRecordHeaderSize = 28;       // magic, min, max, length
constexpr size_t kLengthOffset = 20;
// A new log is started past this size, so fully uploaded logs can be deleted.
constexpr uint64_t kLogRotateBytes = 64u << 20;
// An active log whose records were all uploaded is emptied (truncated) past this size.
constexpr uint64_t kLogReclaimBytes = 1u << 20;

void put_be(uint8_t* p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
uint64_t get_be(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | p[i];
  return v;
}

std::array<uint8_t, kRecordHeaderSize> record_header(uint64_t min, uint64_t max, uint64_t len) {
  std::array<uint8_t, kRecordHeaderSize> h{};
  put_be(&h[0], kRecordMagic, 4);
  put_be(&h[4], min, 8);
  put_be(&h[12], max, 8);
  put_be(&h[kLengthOffset], len, 8);
  return h;
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
        pread_full(fd_, offset_ + offset, out, name_) != out.size()) {
      throw std::runtime_error(name_ + ": record ends early");
    }
  }

 private:
  int fd_;
  uint64_t offset_, size_;
  std::string name_;
};

}  // namespace

SpoolWriter::SpoolWriter(Spool& spool, uint64_t min_txid, uint64_t max_txid)
    : spool_(spool), append_lock_(spool.append_mu_), min_txid_(min_txid), max_txid_(max_txid) {
  Spool::Log* log = nullptr;
  {
    std::lock_guard lock(spool_.mu_);
    log = &spool_.active_log_locked();
  }
  record_offset_ = log->size;
  name_ = log->path + " (TXID " + std::to_string(min_txid) + "-" + std::to_string(max_txid) + ")";
  if (::lseek(log->fd.get(), static_cast<off_t>(record_offset_), SEEK_SET) < 0) {
    throw_errno("seek", log->path);
  }
  const auto header = record_header(min_txid, max_txid, 0);  // length filled in at commit()
  write_all(log->fd.get(), header, log->path);
}

int SpoolWriter::fd() const {
  std::lock_guard lock(spool_.mu_);
  return spool_.logs_.at(spool_.active_)->fd.get();
}

SpoolWriter::~SpoolWriter() {
  if (committed_) return;
  std::lock_guard lock(spool_.mu_);
  Spool::Log& log = *spool_.logs_.at(spool_.active_);
  // Cut the unfinished record off; an error here leaves a bad tail the next open cuts anyway.
  if (::ftruncate(log.fd.get(), static_cast<off_t>(record_offset_)) == 0) {
    log.size = record_offset_;
  }
}

void SpoolWriter::commit() {
  std::lock_guard lock(spool_.mu_);
  Spool::Log& log = *spool_.logs_.at(spool_.active_);
  const off_t end = ::lseek(log.fd.get(), 0, SEEK_CUR);
  if (end < 0) throw_errno("seek", log.path);
  const uint64_t length = static_cast<uint64_t>(end) - record_offset_ - kRecordHeaderSize;
  uint8_t field[8];
  put_be(field, length, 8);
  if (::pwrite(log.fd.get(), field, sizeof field,
               static_cast<off_t>(record_offset_ + kLengthOffset)) != sizeof field) {
    throw_errno("write", log.path);
  }
  log.size = static_cast<uint64_t>(end);
  log.durable = false;
  committed_ = true;
  spool_.add_locked(
      {min_txid_, max_txid_, length, log.path, record_offset_ + kRecordHeaderSize, 0});
}

Spool::Spool(std::string dir) : dir_(std::move(dir)) {
  make_directories(dir_);
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) throw_errno("open spool directory", dir_);
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
  std::sort(entries_.begin(), entries_.end(),
            [](const SpoolEntry& a, const SpoolEntry& b) { return a.min_txid < b.min_txid; });
}

Spool::~Spool() = default;

void Spool::load_log(const std::string& path) {
  auto log = std::make_shared<Log>();
  log->path = path;
  log->fd = Fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!log->fd) throw_errno("open spool log", path);
  struct stat st {};
  if (::fstat(log->fd.get(), &st) != 0) throw_errno("stat", path);
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  uint64_t at = 0;
  std::vector<SpoolEntry> found;
  while (at + kRecordHeaderSize <= file_size) {
    std::array<uint8_t, kRecordHeaderSize> h{};
    if (pread_full(log->fd.get(), at, h, path) != h.size()) break;
    if (get_be(&h[0], 4) != kRecordMagic) break;
    const uint64_t min = get_be(&h[4], 8), max = get_be(&h[12], 8);
    const uint64_t len = get_be(&h[kLengthOffset], 8);
    if (min == 0 || max < min || len == 0 || at + kRecordHeaderSize + len > file_size) break;
    try {
      RangeSource source(log->fd.get(), at + kRecordHeaderSize, len, path);
      ltx::Decoder dec(source, path);
      dec.verify();
      if (dec.header().min_txid != min || dec.header().max_txid != max) break;
    } catch (const std::exception&) {
      break;  // torn by a crash: this record and everything after it is rebuilt from the WAL
    }
    found.push_back({min, max, len, path, at + kRecordHeaderSize, 0});
    at += kRecordHeaderSize + len;
  }
  if (at < file_size && ::ftruncate(log->fd.get(), static_cast<off_t>(at)) != 0) {
    throw_errno("truncate the torn tail of", path);
  }
  log->size = at;
  if (found.empty()) {
    ::unlink(path.c_str());
    return;
  }
  logs_.emplace(path, std::move(log));
  std::lock_guard lock(mu_);
  for (auto& e : found) add_locked(std::move(e));
}

Spool::Log& Spool::active_log_locked() {
  if (!active_.empty()) {
    Log& log = *logs_.at(active_);
    if (log.live == 0 && log.size > kLogReclaimBytes) {
      // Everything in it was uploaded: reuse it from the start.
      if (::ftruncate(log.fd.get(), 0) != 0) throw_errno("truncate", log.path);
      log.size = 0;
    }
    if (log.size < kLogRotateBytes) return log;
    const std::string old = active_;
    active_.clear();
    if (logs_.at(old)->live == 0) release_locked(old);
  }
  // The name only has to be unique and sort in creation order.
  uint64_t first = entries_.empty() ? 1 : entries_.back().max_txid + 1;
  std::string path = dir_ + "/" + log_name(first);
  while (logs_.count(path) != 0 || ::access(path.c_str(), F_OK) == 0) {
    path = dir_ + "/" + log_name(++first);
  }
  auto log = std::make_shared<Log>();
  log->path = path;
  log->fd = Fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!log->fd) throw_errno("create spool log", path);
  log->durable = false;
  dir_dirty_ = true;
  active_ = path;
  return *logs_.emplace(path, std::move(log)).first->second;
}

void Spool::append(uint64_t min_txid, uint64_t max_txid, std::span<const uint8_t> ltx) {
  std::lock_guard append(append_mu_);
  std::lock_guard lock(mu_);
  Log& log = active_log_locked();
  std::vector<uint8_t> record(kRecordHeaderSize + ltx.size());
  const auto header = record_header(min_txid, max_txid, ltx.size());
  std::copy(header.begin(), header.end(), record.begin());
  std::copy(ltx.begin(), ltx.end(), record.begin() + kRecordHeaderSize);
  if (::pwrite(log.fd.get(), record.data(), record.size(), static_cast<off_t>(log.size)) !=
      static_cast<ssize_t>(record.size())) {
    const int saved = errno;
    [[maybe_unused]] int ignored = ::ftruncate(log.fd.get(), static_cast<off_t>(log.size));
    errno = saved;
    throw_errno("append to spool log", log.path);
  }
  const uint64_t offset = log.size + kRecordHeaderSize;
  log.size += record.size();
  log.durable = false;
  add_locked({min_txid, max_txid, ltx.size(), log.path, offset, 0});
}

void Spool::add_locked(SpoolEntry entry) {
  entry.id = next_id_++;
  // The builder rebuilt from entry.min_txid (after a crash or a failed build): what it had
  // spooled from there on is superseded.
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->min_txid >= entry.min_txid) {
      const std::string path = it->path;
      it = entries_.erase(it);
      release_locked(path);
    } else {
      ++it;
    }
  }
  ++logs_.at(entry.path)->live;
  entries_.push_back(std::move(entry));
}

void Spool::release_locked(const std::string& path) {
  auto it = logs_.find(path);
  if (it == logs_.end()) return;
  Log& log = *it->second;
  if (log.live > 0) --log.live;
  if (log.live == 0 && path != active_) {
    ::unlink(path.c_str());
    logs_.erase(it);
  }
}

std::vector<SpoolEntry> Spool::entries() const {
  std::lock_guard lock(mu_);
  return entries_;
}

std::vector<uint8_t> Spool::read(const SpoolEntry& entry) const {
  std::shared_ptr<Log> log;
  {
    std::lock_guard lock(mu_);
    auto it = logs_.find(entry.path);
    if (it == logs_.end()) {
      throw std::runtime_error(entry.path + ": the spooled record was superseded or uploaded");
    }
    log = it->second;
  }
  std::vector<uint8_t> out(entry.size);
  if (pread_full(log->fd.get(), entry.offset, out, entry.path) != out.size()) {
    throw std::runtime_error(entry.path + ": spooled record ends early");
  }
  return out;
}

uint64_t Spool::bytes() const {
  std::lock_guard lock(mu_);
  uint64_t total = 0;
  for (const auto& e : entries_) total += e.size;
  return total;
}

uint64_t Spool::max_txid() const {
  std::lock_guard lock(mu_);
  uint64_t max = 0;
  for (const auto& e : entries_) max = std::max(max, e.max_txid);
  return max;
}

void Spool::remove(const SpoolEntry& entry) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const SpoolEntry& e) { return e.id == entry.id; });
  if (it == entries_.end()) return;
  const std::string path = it->path;
  entries_.erase(it);
  release_locked(path);
}

void Spool::make_durable() {
  std::vector<std::shared_ptr<Log>> to_sync;
  bool dir_dirty = false;
  {
    std::lock_guard lock(mu_);
    for (auto& [path, log] : logs_) {
      if (!log->durable) {
        to_sync.push_back(log);
        log->durable = true;
      }
    }
    dir_dirty = std::exchange(dir_dirty_, false);
  }
  // One fdatasync per log written to (usually one), however many records it received.
  for (const auto& log : to_sync) {
    if (::fdatasync(log->fd.get()) != 0) throw_errno("fdatasync", log->path);
  }
  if (dir_dirty) fsync_path(dir_);
}

}  // namespace ltxvfs::core
