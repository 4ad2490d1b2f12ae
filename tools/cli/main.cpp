// ltxvfs: inspect, restore and maintain ltxvfs / Litestream v0.5 replicas.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ltxvfs_version.h"
#include "tools/cli/cli_common.h"
#include "tools/cli/commands.h"

namespace ltxvfs::cli {

void print_usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: ltxvfs <command> [options]\n"
      "\n"
      "commands:\n"
      "  restore <replica-url> -o <out.db>   restore the database (newest, a TXID, a time)\n"
      "  ls <replica-url>                    list the LTX files by level, and what restores\n"
      "  compact <replica-url>               run every compaction level now (and a snapshot)\n"
      "  retention <replica-url> --dry-run   list (or delete) what the retention window no\n"
      "                                      longer needs, and why\n"
      "  lease <replica-url> [--break]       show the writer lease as a writer judges it;\n"
      "                                      break it when its holder is gone\n"
      "  status <replica-url> [--json]       the head, the lease, the levels: where a\n"
      "                                      replica location stands, from the store alone\n"
      "  run -- <command> [<args>...]        run a program with ltx as its SQLite's default\n"
      "                                      VFS: it replicates without loading anything\n"
      "  version                             this tool's version (also --version)\n"
      "\n"
      "ltxvfs <command> --help (or ltxvfs help <command>) describes a command.\n"
      "Encrypted replicas: every command takes --encryption-key-file PATH (mode 0600), else the\n"
      "key(s) in LTX_ENCRYPTION_KEY (64 hex or base64 of 32 bytes; a comma-separated list reads\n"
      "files of each, the first encrypts what compact and retention write).\n"
      "%s",
      kReplicaUrlHelp);
}

}  // namespace ltxvfs::cli

int main(int argc, char** argv) {
  using namespace ltxvfs::cli;
  struct Command {
    const char* name;
    int (*run)(const std::vector<std::string>&);
    void (*usage)(std::FILE*);
  };
  static const Command kCommands[] = {{"restore", run_restore, print_restore_usage},
                                      {"ls", run_ls, print_ls_usage},
                                      {"compact", run_compact, print_compact_usage},
                                      {"retention", run_retention, print_retention_usage},
                                      {"lease", run_lease, print_lease_usage},
                                      {"status", run_status, print_status_usage},
                                      {"run", run_run, print_run_usage}};
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const std::string first = argv[1];
  if (first == "version" || first == "--version" || first == "-V") {
    std::printf("ltxvfs %s\n", LTXVFS_VERSION);
    return 0;
  }
  if (first == "help" || first == "--help" || first == "-h") {
    if (argc >= 3) {
      for (const auto& c : kCommands) {
        if (std::strcmp(argv[2], c.name) == 0) {
          c.usage(stdout);
          return 0;
        }
      }
      std::fprintf(stderr, "ltxvfs: unknown command '%s'\n", argv[2]);
      print_usage(stderr);
      return 2;
    }
    print_usage(stdout);
    return 0;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  if (!load_encryption_keys(args)) return 1;
  for (const auto& c : kCommands) {
    if (first == c.name) return c.run(args);
  }
  std::fprintf(stderr, "ltxvfs: unknown command '%s'\n", argv[1]);
  print_usage(stderr);
  return 2;
}
