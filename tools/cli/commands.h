// The subcommands of the `ltxvfs` tool. Each returns the process exit code (0 success, 1 failure,
// 2 bad usage) and prints its own errors to stderr as "ltxvfs <command>: <what went wrong and
// what to do>". Each prints its usage for --help.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace ltxvfs::cli {

int run_restore(const std::vector<std::string>& args);
int run_ls(const std::vector<std::string>& args);
int run_compact(const std::vector<std::string>& args);
int run_retention(const std::vector<std::string>& args);
int run_lease(const std::vector<std::string>& args);
int run_status(const std::vector<std::string>& args);
int run_run(const std::vector<std::string>& args);

void print_restore_usage(std::FILE* out);
void print_ls_usage(std::FILE* out);
void print_compact_usage(std::FILE* out);
void print_retention_usage(std::FILE* out);
void print_lease_usage(std::FILE* out);
void print_status_usage(std::FILE* out);
void print_run_usage(std::FILE* out);
void print_usage(std::FILE* out);

}  // namespace ltxvfs::cli
