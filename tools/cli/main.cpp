// ltxvfs: restore and inspect ltxvfs / Litestream v0.5 replicas.
#include <cstring>
#include <string>
#include <vector>

#include "tools/cli/commands.h"

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "help") == 0 || std::strcmp(argv[1], "--help") == 0 ||
      std::strcmp(argv[1], "-h") == 0) {
    ltxvfs::cli::print_usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "restore") return ltxvfs::cli::run_restore(args);
  if (command == "ls") return ltxvfs::cli::run_ls(args);
  std::fprintf(stderr, "ltxvfs: unknown command '%s'\n", command.c_str());
  ltxvfs::cli::print_usage();
  return 2;
}
