// What a run's database is opened through: plain SQLite (`unix`), `ltx` replicating to a local
// directory, or `ltx` replicating to an S3-compatible server (optionally through a proxy).
#pragma once

#include <string>

#include "bench/support/s3_bucket.h"
#include "bench/support/scratch.h"

namespace ltxvfs::bench {

struct Target {
  enum class Kind { kUnix, kLtxDir, kLtxS3 };
  Kind kind = Kind::kUnix;
  std::string label;                 // for the table: "unix", "ltx dir", "ltx s3 (moto)"
  const S3Bucket* bucket = nullptr;  // kLtxS3
  std::string via;                   // kLtxS3: endpoint of a proxy in front of the server
  std::string params;                // more URI parameters, e.g. "durability=remote"

  bool ltx() const { return kind != Kind::kUnix; }
  static Target unix_vfs() { return {Kind::kUnix, "unix", nullptr, "", ""}; }
  static Target ltx_dir(std::string params = "") {
    return {Kind::kLtxDir, "ltx dir", nullptr, "", std::move(params)};
  }
  static Target ltx_s3(const S3Bucket& bucket, std::string via = "", std::string params = "") {
    return {Kind::kLtxS3, "ltx s3 (" + bucket.server() + ")", &bucket, std::move(via),
            std::move(params)};
  }
};

// The database of one run: a fresh directory (and a fresh prefix in the bucket), removed after.
class RunDb {
 public:
  RunDb(const Target& target, const std::string& work_dir, const std::string& name);
  ~RunDb();
  RunDb(const RunDb&) = delete;
  RunDb& operator=(const RunDb&) = delete;

  const std::string& path() const { return path_; }
  const std::string& uri() const { return uri_; }
  // kLtxDir: the replica directory (the default, beside the database).
  std::string replica_dir() const { return path_ + "-ltx/replica"; }
  const std::string& prefix() const { return prefix_; }

 private:
  const Target& target_;
  ScratchDir dir_;
  std::string path_;
  std::string prefix_;
  std::string uri_;
};

}  // namespace ltxvfs::bench
