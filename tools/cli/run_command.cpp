// ltxvfs run [--replica URL] -- COMMAND [ARGS...]: runs an unmodified program with `ltx` as the
// default VFS of the system's SQLite (issue 19: Litestream's sidecar replicates any program; a
// program that cannot load extensions could not use ltxvfs at all). It checks in this process
// that the extension loads and becomes the default VFS, then execs COMMAND with
// libltxvfs_preload.so in LD_PRELOAD (tools/run/ltxvfs_preload.cpp says what that does).
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tools/cli/commands.h"

namespace ltxvfs::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kExtension = "libltxvfs.so";
constexpr const char* kPreload = "libltxvfs_preload.so";

// Beside this executable (the build directory), then the library directory of an installation
// (LTXVFS_BIN_TO_LIB: the path from its bin directory to its lib directory, set by CMake).
std::optional<std::string> find_library(const char* name) {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  for (const fs::path& dir : {exe.parent_path(), exe.parent_path() / LTXVFS_BIN_TO_LIB}) {
    const fs::path candidate = dir / name;
    if (fs::exists(candidate, ec)) return fs::weakly_canonical(candidate, ec).string();
  }
  return std::nullopt;
}

// The steps the preloaded helper takes, here first, where an error can still be reported
// calmly: "" when `ltx` loads and becomes the default VFS, else why not.
std::string check_extension(const std::string& extension) {
  ::setenv("LTXVFS_DEFAULT_VFS", "1", 1);
  sqlite3* db = nullptr;
  std::string error;
  if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    error = "cannot open an in-memory database";
  } else {
    char* message = nullptr;
    sqlite3_enable_load_extension(db, 1);
    if (sqlite3_load_extension(db, extension.c_str(), "sqlite3_ltxvfs_init", &message) !=
        SQLITE_OK) {
      error = "cannot load " + extension + ": " + (message != nullptr ? message : "?");
    } else if (sqlite3_vfs_find(nullptr) != sqlite3_vfs_find("ltx")) {
      error = "ltx did not become the default VFS";
    }
    sqlite3_free(message);
  }
  sqlite3_close(db);
  return error;
}

}  // namespace

void print_run_usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: ltxvfs run [--replica <url>] -- <command> [<args>...]\n"
      "       ltxvfs run --check\n"
      "\n"
      "Runs <command> with ltx as the default VFS of the system's SQLite (libsqlite3.so.0), so an\n"
      "unmodified program - one that cannot load extensions, or was never told about ltx -\n"
      "replicates every database it opens, as if it had opened file:<db>?vfs=ltx. The program\n"
      "must use the shared libsqlite3 (python3, the sqlite3 shell and most packaged programs do);\n"
      "one with SQLite compiled in is not affected. Child processes inherit it.\n"
      "\n"
      "  --replica <url>  where to replicate (sets LTX_REPLICA_URL; {name} and {path} templates\n"
      "                   apply); default: LTX_REPLICA_URL, else <db>-ltx/replica beside each\n"
      "                   database\n"
      "  --check          load the extension as the command would, say where it was found\n"
      "\n"
      "Exit status: the command's; 1 when the extension cannot be loaded (nothing is run),\n"
      "2 for bad usage, 127 when the command cannot be started.\n");
}

int run_run(const std::vector<std::string>& args) {
  std::optional<std::string> replica;
  bool check = false;
  size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      print_run_usage(stdout);
      return 0;
    }
    if (args[i] == "--check") {
      check = true;
    } else if (args[i] == "--replica" && i + 1 < args.size()) {
      replica = args[++i];
    } else {
      std::fprintf(stderr, "ltxvfs run: unexpected '%s' (the command goes after --)\n",
                   args[i].c_str());
      print_run_usage(stderr);
      return 2;
    }
  }
  const std::vector<std::string> command(args.begin() + std::min(i + 1, args.size()), args.end());
  if (command.empty() && !check) {
    std::fprintf(stderr, "ltxvfs run: no command: ltxvfs run -- <command> [<args>...]\n");
    return 2;
  }
  const auto extension = find_library(kExtension);
  const auto preload = find_library(kPreload);
  if (!extension || !preload) {
    std::fprintf(stderr,
                 "ltxvfs run: %s not found beside this program nor in its installation's library "
                 "directory; build it (cmake --build build) or install it (cmake --install)\n",
                 !extension ? kExtension : kPreload);
    return 1;
  }
  if (const std::string why = check_extension(*extension); !why.empty()) {
    std::fprintf(stderr, "ltxvfs run: %s; nothing was run\n", why.c_str());
    return 1;
  }
  if (check) {
    std::printf("ok: %s loads and becomes the default VFS; preload %s\n", extension->c_str(),
                preload->c_str());
    if (command.empty()) return 0;
  }
  std::string ld_preload = *preload;
  if (const char* existing = std::getenv("LD_PRELOAD"); existing && *existing) {
    ld_preload += std::string(":") + existing;
  }
  ::setenv("LD_PRELOAD", ld_preload.c_str(), 1);
  ::setenv("LTXVFS_RUN_EXTENSION", extension->c_str(), 1);
  ::setenv("LTXVFS_DEFAULT_VFS", "1", 1);
  if (replica) ::setenv("LTX_REPLICA_URL", replica->c_str(), 1);
  std::vector<char*> argv;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  std::fprintf(stderr, "ltxvfs run: cannot run '%s': %s\n", argv[0], std::strerror(errno));
  return 127;
}

}  // namespace ltxvfs::cli
