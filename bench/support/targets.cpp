#include "bench/support/targets.h"

#include <atomic>
#include <cstdio>

#include "bench/support/sqlite_host.h"

namespace ltxvfs::bench {

RunDb::RunDb(const Target& target, const std::string& work_dir, const std::string& name)
    : target_(target), dir_(work_dir, name), path_(dir_.file("app.db")) {
  static std::atomic<unsigned> counter{0};
  std::string params = target.params;
  auto add = [&](const std::string& p) { params += (params.empty() ? "" : "&") + p; };
  switch (target.kind) {
    case Target::Kind::kUnix:
      uri_ = db_uri(path_, "unix", params);
      return;
    case Target::Kind::kLtxDir:
      uri_ = db_uri(path_, "ltx", params);
      return;
    case Target::Kind::kLtxS3:
      prefix_ = name + "-" + std::to_string(counter++);
      add(target.bucket->uri_params(prefix_, target.via));
      uri_ = db_uri(path_, "ltx", params);
      return;
  }
}

RunDb::~RunDb() {
  if (target_.kind != Target::Kind::kLtxS3) return;
  try {
    target_.bucket->clear(prefix_);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: cannot clear %s: %s\n", prefix_.c_str(), e.what());
  }
}

}  // namespace ltxvfs::bench
