// TcpProxy: a TCP forwarder on 127.0.0.1 in front of a test server, which a test can take down
// (new connections are reset, open ones cut) and bring back, to simulate an unreachable store.
// Bounded: it serves only loopback, and stops with its destructor.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace ltxvfs::testing {

class TcpProxy {
 public:
  explicit TcpProxy(uint16_t upstream_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  uint16_t port() const { return port_; }
  // Down: refuse new connections and cut the open ones. Up: forward again.
  void set_down(bool down);
  uint64_t connections() const { return connections_; }

 private:
  void accept_loop();
  void pump(int client, int upstream);

  uint16_t upstream_port_;
  uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<bool> down_{false};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> connections_{0};
  std::mutex mu_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace ltxvfs::testing
