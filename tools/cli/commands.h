// The subcommands of the `ltxvfs` tool. Each returns the process exit code and prints its own
// errors (to stderr) in the form "ltxvfs <command>: <what went wrong and what to do>".
#pragma once

#include <string>
#include <vector>

namespace ltxvfs::cli {

int run_restore(const std::vector<std::string>& args);
int run_ls(const std::vector<std::string>& args);
void print_usage();

}  // namespace ltxvfs::cli
