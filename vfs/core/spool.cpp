#include "vfs/core/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace ltxvfs::core {
namespace {

std::string entry_name(uint64_t min, uint64_t max) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%016" PRIx64 "-%016" PRIx64 ".ltx", min, max);
  return buf;
}

bool parse_entry_name(const std::string& name, uint64_t& min, uint64_t& max) {
  if (name.size() != 37 || name.compare(33, 4, ".ltx") != 0 || name[16] != '-') return false;
  auto hex = [](const std::string& s, uint64_t& out) {
    out = 0;
    for (char c : s) {
      int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (v < 0) return false;
      out = out << 4 | static_cast<uint64_t>(v);
    }
    return true;
  };
  return hex(name.substr(0, 16), min) && hex(name.substr(17, 16), max) && min <= max && min > 0;
}

}  // namespace

SpoolWriter::SpoolWriter(Spool& spool, uint64_t min_txid, uint64_t max_txid)
    : spool_(spool), min_txid_(min_txid), max_txid_(max_txid) {
  temp_path_ = spool.dir() + "/" + entry_name(min_txid, max_txid) + ".tmp";
  fd_ = Fd(::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd_) throw_errno("create spool file", temp_path_);
}

SpoolWriter::~SpoolWriter() {
  if (!committed_) ::unlink(temp_path_.c_str());
}

void SpoolWriter::commit() {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) throw_errno("stat", temp_path_);
  const std::string path = spool_.dir() + "/" + entry_name(min_txid_, max_txid_);
  if (::rename(temp_path_.c_str(), path.c_str()) != 0) throw_errno("rename to " + path, temp_path_);
  committed_ = true;
  fd_ = Fd();
  spool_.add({min_txid_, max_txid_, static_cast<uint64_t>(st.st_size), path});
}

Spool::Spool(std::string dir) : dir_(std::move(dir)) {
  make_directories(dir_);
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) throw_errno("open spool directory", dir_);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    const std::string path = dir_ + "/" + name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      ::unlink(path.c_str());  // an interrupted write: rebuilt from the WAL if still needed
      continue;
    }
    uint64_t min = 0, max = 0;
    if (!parse_entry_name(name, min, max)) continue;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    entries_.push_back({min, max, static_cast<uint64_t>(st.st_size), path});
  }
  ::closedir(d);
  std::sort(entries_.begin(), entries_.end(),
            [](const SpoolEntry& a, const SpoolEntry& b) { return a.min_txid < b.min_txid; });
}

std::vector<SpoolEntry> Spool::entries() const {
  std::lock_guard lock(mu_);
  return entries_;
}

uint64_t Spool::bytes() const {
  std::lock_guard lock(mu_);
  uint64_t total = 0;
  for (const auto& e : entries_) total += e.size;
  return total;
}

uint64_t Spool::max_txid() const {
  std::lock_guard lock(mu_);
  return entries_.empty() ? 0 : entries_.back().max_txid;
}

void Spool::add(SpoolEntry entry) {
  std::lock_guard lock(mu_);
  not_durable_.push_back(entry.path);
  dir_dirty_ = true;
  auto pos = std::upper_bound(
      entries_.begin(), entries_.end(), entry,
      [](const SpoolEntry& a, const SpoolEntry& b) { return a.min_txid < b.min_txid; });
  entries_.insert(pos, std::move(entry));
}

void Spool::remove(const SpoolEntry& entry) {
  std::lock_guard lock(mu_);
  ::unlink(entry.path.c_str());
  std::erase_if(entries_, [&](const SpoolEntry& e) { return e.path == entry.path; });
  std::erase(not_durable_, entry.path);
}

void Spool::remove_through(uint64_t txid) {
  for (const auto& e : entries()) {
    if (e.max_txid <= txid) remove(e);
  }
}

void Spool::make_durable() {
  std::vector<std::string> files;
  bool dir_dirty = false;
  {
    std::lock_guard lock(mu_);
    files.swap(not_durable_);
    dir_dirty = dir_dirty_;
    dir_dirty_ = false;
  }
  for (const auto& f : files) {
    if (::access(f.c_str(), F_OK) == 0) fsync_path(f);  // may be uploaded and removed already
  }
  if (dir_dirty) fsync_path(dir_);
}

}  // namespace ltxvfs::core
