#include "vfs/replica/bad_objects.h"

#include <algorithm>

#include "history/junk_object.h"

namespace ltxvfs::replica {
namespace {

bool same_version(const history::RemoteFile& a, const history::RemoteFile& b) {
  return a.key == b.key && a.size == b.size && a.last_modified_ms == b.last_modified_ms;
}

}  // namespace

bool BadObjects::add(const BadObject& bad) {
  base::MutexLock lock(mu_);
  for (const auto& b : bad_) {
    if (same_version(b.file, bad.file)) return false;
  }
  bad_.push_back(bad);
  return true;
}

std::optional<BadObject> BadObjects::find(const history::RemoteFile& file) const {
  base::MutexLock lock(mu_);
  for (const auto& b : bad_) {
    if (same_version(b.file, file)) return b;
  }
  return std::nullopt;
}

void BadObjects::mark_unavoidable(const history::RemoteFile& file) {
  base::MutexLock lock(mu_);
  for (auto& b : bad_) {
    if (same_version(b.file, file)) b.unavoidable = true;
  }
}

void BadObjects::remove_from(std::vector<history::RemoteFile>& files) const {
  std::vector<BadObject> avoid;
  {
    base::MutexLock lock(mu_);
    for (const auto& b : bad_) {
      if (!b.unavoidable) avoid.push_back(b);
    }
  }
  if (avoid.empty()) return;
  std::erase_if(files, [&](const history::RemoteFile& f) {
    return std::any_of(avoid.begin(), avoid.end(),
                       [&](const BadObject& b) { return same_version(b.file, f); });
  });
}

void BadObjects::forget_unlisted(const std::vector<history::RemoteFile>& listed) {
  base::MutexLock lock(mu_);
  std::erase_if(bad_, [&](const BadObject& b) {
    return std::none_of(listed.begin(), listed.end(),
                        [&](const history::RemoteFile& f) { return same_version(b.file, f); });
  });
}

std::vector<BadObject> BadObjects::all() const {
  base::MutexLock lock(mu_);
  return bad_;
}

BadObject classify_bad_object(storage::ObjectStore& store, const history::RemoteFile& file,
                              const std::string& why) {
  BadObject bad;
  bad.file = file;
  bad.why = why;
  try {
    bad.junk = history::is_junk_object(store, file.key, file.size);
  } catch (const std::exception&) {
    bad.junk = false;  // unknown: worded as a corrupt LTX file
  }
  return bad;
}

std::string describe_bad_object(const BadObject& bad, const std::string& source) {
  const auto& f = bad.file;
  std::string s = source + "/" + f.key + " (level " + std::to_string(f.level) + ", TXIDs " +
                  std::to_string(f.min_txid) + "-" + std::to_string(f.max_txid) + ") ";
  s += bad.junk ? "is not an LTX file (no LTX1 magic; " + bad.why + ")"
                : "fails verification (" + bad.why + ")";
  s += bad.unavoidable ? "; no other chain reaches its TXIDs, so reads of its damaged pages fail "
                         "(never with wrong data) until it is replaced"
                       : "; the replica reads around it";
  s += bad.junk ? ". Delete it, or let the writer replace it: its upload to that name overwrites "
                  "junk"
                : ". Delete it, or put the intact file back";
  return s + " (`ltxvfs ls " + source + "` lists the files)";
}

Hold hold_at(uint64_t newest, const std::vector<history::RemoteFile>& listed,
             const std::vector<BadObject>& bad, const std::string& source) {
  uint64_t stored = 0;
  for (const auto& f : listed) stored = std::max(stored, f.max_txid);
  if (stored <= newest) return {};
  Hold hold;
  hold.after = newest;
  const uint64_t next = newest + 1;
  const BadObject* blocking = nullptr;
  for (const auto& b : bad) {
    if (b.file.min_txid > next || b.file.max_txid < next) continue;
    if (blocking == nullptr || b.file.min_txid == next) blocking = &b;
  }
  if (blocking != nullptr) {
    const std::string only_in = "TXID " + std::to_string(next) + " is only in ";
    hold.reason = only_in + "a bad object: " + describe_bad_object(*blocking, source);
    hold.brief = only_in + blocking->file.key + ", set aside as a bad object (warned above)";
  } else {
    hold.reason =
        "no file starts at TXID " + std::to_string(next) + " yet (a gap in the remote history)";
    hold.brief = hold.reason;
  }
  return hold;
}

}  // namespace ltxvfs::replica
