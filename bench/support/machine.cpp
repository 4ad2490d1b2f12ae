#include "bench/support/machine.h"

#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <thread>

namespace ltxvfs::bench {
namespace {

std::string first_line_with(const std::string& path, const std::string& prefix) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

std::string after_colon(const std::string& line) {
  const auto pos = line.find(':');
  if (pos == std::string::npos) return line;
  const auto start = line.find_first_not_of(" \t", pos + 1);
  return start == std::string::npos ? "" : line.substr(start);
}

}  // namespace

nlohmann::json machine_json() {
  utsname u{};
  ::uname(&u);
  const std::string mem = after_colon(first_line_with("/proc/meminfo", "MemTotal"));
  return {{"cores", std::thread::hardware_concurrency()},
          {"cpu", after_colon(first_line_with("/proc/cpuinfo", "model name"))},
          {"memory", mem},
          {"kernel", std::string(u.sysname) + " " + u.release},
          {"arch", u.machine}};
}

std::string describe_machine() {
  const auto m = machine_json();
  return std::to_string(m["cores"].get<unsigned>()) + " cores (" + m["cpu"].get<std::string>() +
         "), " + m["memory"].get<std::string>() + " RAM, " + m["kernel"].get<std::string>();
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

namespace {
double cpu_seconds(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
}  // namespace

double process_cpu_seconds() {
  return cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
}

double thread_cpu_seconds() {
  return cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
}

namespace {

// Seconds every core spent busy since boot (/proc/stat's first line: user, nice, system, irq,
// softirq and steal; not idle or iowait), or -1.
double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) ||
      cpu != "cpu") {
    return -1;
  }
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return static_cast<double>(user + nice + system + irq + softirq + steal) / ticks;
}

double monotonic_seconds() {
  return cpu_seconds(CLOCK_MONOTONIC);
}

}  // namespace

BusyCores::BusyCores()
    : busy_start_s_(machine_busy_seconds()), wall_start_s_(monotonic_seconds()) {}

double BusyCores::cores() const {
  const double busy = machine_busy_seconds();
  const double wall = monotonic_seconds() - wall_start_s_;
  if (busy < 0 || busy_start_s_ < 0 || wall <= 0) return 0;
  return (busy - busy_start_s_) / wall;
}

std::string utc_now_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace ltxvfs::bench
