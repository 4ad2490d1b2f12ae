// Runs a helper program (W7's writer) and collects its standard output, bounded in time.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace ltxvfs::bench {

struct ChildResult {
  int exit_code = -1;  // -1: killed (timeout) or did not exit normally
  std::string output;  // standard output; standard error passes through to ours
};

// Runs `argv` (argv[0] is the program path). Kills it after `limit`.
ChildResult run_child(const std::vector<std::string>& argv, std::chrono::seconds limit);

}  // namespace ltxvfs::bench
