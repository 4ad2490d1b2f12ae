#include "vfs/writer/replica_template.h"

#include <filesystem>

#include "vfs/writer/config.h"

namespace ltxvfs::writer {
namespace {

std::string relative_to_root(const std::string& db_path, const std::string& root) {
  namespace fs = std::filesystem;
  const fs::path db = fs::path(db_path).lexically_normal();
  const fs::path base = fs::path(root).lexically_normal();
  if (!db.is_absolute() || !base.is_absolute()) {
    throw ConfigError("replica {path}: the database " + db_path + " and replica_root " + root +
                      " must both be absolute paths");
  }
  const fs::path rel = db.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..") {
    throw ConfigError("replica {path}: the database " + db_path + " is not under replica_root " +
                      root + "; open it from under that directory, or use {name}");
  }
  return rel.generic_string();
}

}  // namespace

std::string expand_replica_template(const std::string& url, const std::string& db_path,
                                    const std::optional<std::string>& root) {
  std::string out;
  for (size_t i = 0; i < url.size();) {
    if (url[i] != '{') {
      out += url[i++];
      continue;
    }
    const size_t close = url.find('}', i);
    const std::string name = url.substr(i, close == std::string::npos ? close : close - i + 1);
    if (name == "{name}") {
      out += std::filesystem::path(db_path).filename().string();
    } else if (name == "{path}") {
      if (!root || root->empty()) {
        throw ConfigError("replica " + url +
                          ": {path} needs the root it is relative to: set replica_root= (or "
                          "LTX_REPLICA_ROOT) to a directory above " +
                          db_path);
      }
      out += relative_to_root(db_path, *root);
    } else {
      throw ConfigError("replica " + url + ": unknown placeholder '" + name +
                        "'; the placeholders are {name} (the database's file name) and {path} "
                        "(its path under replica_root)");
    }
    i += name.size();
  }
  return out;
}

}  // namespace ltxvfs::writer
