// What the results were measured on, for the table and bench/RESULTS.md.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ltxvfs::bench {

// cores, memory, CPU model, kernel, and the disk of the working directory as far as known.
nlohmann::json machine_json();
std::string describe_machine();
std::string utc_now_iso8601();
// The 1, 5 and 15 minute load averages: whether something else was running.
std::string load_average();
// CPU time consumed so far, in seconds: by the whole process (every thread, including ltx's
// background threads), and by the calling thread alone.
double process_cpu_seconds();
double thread_cpu_seconds();

// How many of the machine's cores were busy (any process: the store's server, the latency
// proxy, ltx) between construction and cores(), from /proc/stat. On 2 cores the store's server,
// the proxy and the reader share them: a raw download that keeps them busy leaves a restore or a
// scan no CPU to decode with, and its ratio then measures this machine, not the network.
class BusyCores {
 public:
  BusyCores();
  double cores() const;  // 0 when /proc/stat cannot be read

 private:
  double busy_start_s_;
  double wall_start_s_;
};

}  // namespace ltxvfs::bench
