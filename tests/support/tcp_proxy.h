// TcpProxy: a TCP forwarder on 127.0.0.1 in front of a test server, which a test can take down
// (new connections are reset, open ones cut) and bring back, to simulate an unreachable store.
// Bounded: it serves only loopback, and stops with its destructor.
//
// It can also make a loopback server look like a distant object store (the benchmarks use this;
// moto and s3rver answer in microseconds and cannot add latency themselves):
//   - request_latency: every request waits this long before it is forwarded. The proxy sees
//     bytes, not HTTP: a request starts when the client sends after the server has answered
//     (or sends the first bytes of a connection). With keep-alive HTTP/1.1 and no
//     `Expect: 100-continue` that is exactly one delay per request;
//   - bytes_per_second: a cap per connection and direction (S3 serves one connection at tens of
//     MB/s; parallel connections are how clients go faster);
//   - max_concurrent_requests: requests in flight at once, across connections. A request holds
//     its slot from its first byte until the server's answer has been quiet for a moment, the
//     next request on its connection starts, or the connection closes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace ltxvfs::testing {

struct TcpProxyOptions {
  std::chrono::microseconds request_latency{0};
  uint64_t bytes_per_second = 0;         // per connection and direction; 0 = unlimited
  unsigned max_concurrent_requests = 0;  // 0 = unlimited
};

class TcpProxy {
 public:
  explicit TcpProxy(uint16_t upstream_port);
  TcpProxy(uint16_t upstream_port, TcpProxyOptions options);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  uint16_t port() const { return port_; }
  // Down: refuse new connections and cut the open ones. Up: forward again.
  void set_down(bool down);
  uint64_t connections() const { return connections_; }
  // Requests forwarded (see above for what counts as one) and bytes each way.
  uint64_t requests() const { return requests_; }
  uint64_t bytes_to_upstream() const { return bytes_up_; }
  uint64_t bytes_from_upstream() const { return bytes_down_; }

 private:
  struct Worker {
    std::thread thread;
    bool done = false;  // guarded by mu_; the thread has finished and can be joined
  };

  void accept_loop();
  void pump(int client, int upstream);
  // Joins finished connection threads, so a long run with many short connections (moto closes
  // every connection after one request) does not accumulate them. Called with mu_ held.
  void reap_finished_locked();
  // Sleeps until `deadline`, waking early when the proxy stops or goes down.
  void nap_until(std::chrono::steady_clock::time_point deadline) const;
  bool acquire_request_slot();
  void release_request_slot();

  uint16_t upstream_port_;
  TcpProxyOptions options_;
  uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<bool> down_{false};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> bytes_up_{0};
  std::atomic<uint64_t> bytes_down_{0};
  std::mutex mu_;
  std::vector<int> open_fds_;
  std::list<Worker> workers_;
  std::mutex slots_mu_;
  std::condition_variable slots_cv_;
  unsigned active_requests_ = 0;
  std::thread acceptor_;
};

}  // namespace ltxvfs::testing
