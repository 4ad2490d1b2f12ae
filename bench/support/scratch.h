// Scratch directories for the benchmark's databases and replicas, removed when done (the suite
// writes gigabytes at its default size; nothing may pile up between runs).
#pragma once

#include <cstdint>
#include <string>

namespace ltxvfs::bench {

class ScratchDir {
 public:
  // A fresh, empty directory `parent/<name>-<n>`.
  ScratchDir(const std::string& parent, const std::string& name);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Total size of the regular files under `path` (0 when it does not exist).
uint64_t tree_bytes(const std::string& path);
// Number of regular files under `path`.
uint64_t tree_files(const std::string& path);
uint64_t file_bytes(const std::string& path);

}  // namespace ltxvfs::bench
