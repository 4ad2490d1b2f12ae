// --encryption-key-file and LTX_ENCRYPTION_KEY for every command (cli_common.h).
#include <cstdio>

#include "ltx/error.h"
#include "ltx/key_source.h"
#include "tools/cli/cli_common.h"

namespace ltxvfs::cli {
namespace {
ltx::KeyPtr& key_slot() {
  static ltx::KeyPtr key;
  return key;
}
}  // namespace

const ltx::KeyPtr& encryption_key() {
  return key_slot();
}

bool load_encryption_keys(std::vector<std::string>& args) {
  static const std::string kOption = "--encryption-key-file";
  std::string file;
  // Arguments after "--" belong to another program (a command that runs one), not to ltxvfs.
  for (std::size_t i = 0; i < args.size() && args[i] != "--"; ++i) {
    if (args[i] == kOption && i + 1 < args.size()) {
      file = args[i + 1];
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i),
                 args.begin() + static_cast<std::ptrdiff_t>(i + 2));
      break;
    }
    if (args[i].rfind(kOption + "=", 0) == 0) {
      file = args[i].substr(kOption.size() + 1);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  try {
    const ltx::KeyRing ring = ltx::load_keys(file);
    if (!ring.empty()) key_slot() = ring.writer();
  } catch (const ltx::LtxError& e) {
    std::fprintf(stderr, "ltxvfs: %s\n", e.what());
    return false;
  }
  return true;
}

}  // namespace ltxvfs::cli
