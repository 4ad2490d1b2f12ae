// FileStore's LIST: walks only the directories where keys with the prefix can live, skipping the
// store's reserved names, and answers in S3's order; list_keys() the same without a stat call
// per file.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "storage/cancellation.h"
#include "storage/file_store.h"
#include "storage/file_store_io.h"

namespace ltxvfs::storage {

using namespace file_io;

std::vector<ObjectInfo> FileStore::list(const std::string& prefix, const std::string& start_after) {
  return walk(prefix, start_after, /*metadata=*/true);
}

std::vector<ObjectInfo> FileStore::list_keys(const std::string& prefix,
                                             const std::string& start_after) {
  return walk(prefix, start_after, /*metadata=*/false);
}

std::vector<ObjectInfo> FileStore::walk(const std::string& prefix, const std::string& start_after,
                                        bool metadata) {
  return counted(*stats_, [&] {
    StoreStats::add(stats_->requests);
    StoreStats::add(stats_->lists);
    throw_if_cancelled(cancel_.get(), "LIST " + describe() + "/" + prefix);
    std::vector<ObjectInfo> out;
    // Walk only the deepest directory the prefix pins down.
    const auto last_slash = prefix.rfind('/');
    const std::string start_rel =
        last_slash == std::string::npos ? "" : prefix.substr(0, last_slash);

    // (directory relative to root, "" for root)
    std::vector<std::string> pending{start_rel};
    while (!pending.empty()) {
      const std::string rel = std::move(pending.back());
      pending.pop_back();
      const std::string dir_path = rel.empty() ? root_ : root_ + "/" + rel;
      DIR* dir = ::opendir(dir_path.c_str());
      if (dir == nullptr) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) {
          if (rel == start_rel && rel.empty()) {
            throw StoreError(
                StoreErrorKind::kNoSuchBucket,
                "LIST " + describe() + ": the replica directory does not exist — check the path");
          }
          continue;  // the prefix names nothing, or a directory vanished while we walked
        }
        fail_errno("LIST", rel, "cannot read directory", err);
      }
      std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, ::closedir);
      while (struct dirent* entry = ::readdir(dir)) {
        const std::string_view name = entry->d_name;
        if (name == "." || name == ".." || is_reserved(name)) continue;
        const std::string key = rel.empty() ? std::string(name) : rel + "/" + std::string(name);
        // The entry's type, from the directory itself where the file system records it: a
        // stat call only for what the caller wants dated, or when the type is unknown.
        const bool wanted = key.rfind(prefix, 0) == 0 && key > start_after;
        struct stat st {};
        bool have_stat = false;
        unsigned char type = entry->d_type;
        if (type == DT_UNKNOWN || (metadata && type == DT_REG && wanted)) {
          if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
          have_stat = true;
          type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
        }
        if (type == DT_DIR) {
          const std::string as_prefix = key + "/";
          // Descend only where keys matching the prefix can live.
          if (as_prefix.rfind(prefix, 0) == 0 || prefix.rfind(as_prefix, 0) == 0) {
            pending.push_back(key);
          }
          continue;
        }
        if (type != DT_REG || !wanted) continue;
        if (have_stat) {
          out.push_back(
              ObjectInfo{key, static_cast<uint64_t>(st.st_size), etag_of(st), mtime_ms(st)});
        } else {
          out.push_back(ObjectInfo{key, 0, "", 0});
        }
      }
    }
    // Byte-wise order, which is S3's order for UTF-8 keys.
    std::sort(out.begin(), out.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
  });
}

}  // namespace ltxvfs::storage
