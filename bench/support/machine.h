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

}  // namespace ltxvfs::bench
