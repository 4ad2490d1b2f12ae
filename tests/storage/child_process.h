// Runs a piece of a test in a forked child process, for what must be measured or changed per
// process: peak memory (VmHWM), the umask, several processes racing. The child gets a copy of the
// test process; it must not use Catch2 (its assertions would report in the wrong process), so it
// returns a short text that the parent checks.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>

namespace ltxvfs::testing {

// Runs `work` in a child and returns its text. An exception in the child comes back as
// "exception: <what>"; a child that dies without answering as "child died".
inline std::string run_in_child(const std::function<std::string()>& work) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe() failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork() failed");
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    try {
      out = work();
    } catch (const std::exception& e) {
      out = std::string("exception: ") + e.what();
    } catch (...) {
      out = "exception: unknown";
    }
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::_exit(0);  // no destructors, no atexit handlers of the test process
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "child died";
  return out;
}

// A field of /proc/self/status in KiB ("VmHWM", "VmRSS").
inline long proc_status_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  throw std::runtime_error("no " + field + " in /proc/self/status");
}

// Resets this process's peak RSS (VmHWM) to its current RSS, so that a later VmHWM measures
// what happened since (Linux >= 4.0). A forked child otherwise inherits its parent's peak.
inline void reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  if (!out) throw std::runtime_error("cannot write /proc/self/clear_refs");
}

}  // namespace ltxvfs::testing
