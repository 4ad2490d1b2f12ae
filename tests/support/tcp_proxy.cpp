#include "tests/support/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

namespace ltxvfs::testing {
namespace {

using Clock = std::chrono::steady_clock;

// How long a server's answer must be silent before its request gives back its concurrency slot.
// Short: a loopback server streams a body without pauses this long.
constexpr int kAnswerQuietMs = 2;
constexpr auto kBandwidthCredit = std::chrono::milliseconds(5);

}  // namespace

TcpProxy::TcpProxy(uint16_t upstream_port) : TcpProxy(upstream_port, TcpProxyOptions{}) {}

TcpProxy::TcpProxy(uint16_t upstream_port, TcpProxyOptions options)
    : upstream_port_(upstream_port), options_(options) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_, 64) != 0) {
    throw std::runtime_error("TcpProxy: cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  ::shutdown(listener_, SHUT_RDWR);
  acceptor_.join();
  ::close(listener_);
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  {
    std::lock_guard lock(slots_mu_);
    slots_cv_.notify_all();
  }
  // The acceptor is gone, so nothing adds workers any more; they take mu_ only to finish.
  for (auto& w : workers_) w.thread.join();
}

void TcpProxy::set_down(bool down) {
  down_ = down;
  if (down) {
    {
      std::lock_guard lock(mu_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    std::lock_guard lock(slots_mu_);
    slots_cv_.notify_all();  // requests waiting for a slot give up
  }
}

void TcpProxy::reap_finished_locked() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (!it->done) {
      ++it;
      continue;
    }
    it->thread.join();
    it = workers_.erase(it);
  }
}

void TcpProxy::accept_loop() {
  while (!stop_) {
    int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (stop_) return;
      continue;
    }
    if (down_) {
      // Reset the connection: the client sees "connection reset", as with a dead store.
      linger lg{1, 0};
      ::setsockopt(client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      ::close(client);
      continue;
    }
    int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(upstream_port_);
    if (::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(upstream);
      ::close(client);
      continue;
    }
    // Each read is forwarded at once: with Nagle's algorithm on, a small write on a kept-alive
    // connection waits for the peer's delayed ACK, a stall no real network adds.
    const int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++connections_;
    std::lock_guard lock(mu_);
    reap_finished_locked();
    open_fds_.push_back(client);
    open_fds_.push_back(upstream);
    Worker& worker = workers_.emplace_back();
    // The thread marks itself done under mu_, which is held here until `thread` is assigned.
    worker.thread = std::thread([this, client, upstream, &worker] {
      pump(client, upstream);
      std::lock_guard done_lock(mu_);
      worker.done = true;
    });
  }
}

void TcpProxy::nap_until(Clock::time_point deadline) const {
  // Short steps: a proxy taken down or destroyed must not hold a connection for a whole delay.
  while (!stop_ && !down_) {
    const auto now = Clock::now();
    if (now >= deadline) return;
    std::this_thread::sleep_for(
        std::min<Clock::duration>(deadline - now, std::chrono::milliseconds(20)));
  }
}

bool TcpProxy::acquire_request_slot() {
  std::unique_lock lock(slots_mu_);
  slots_cv_.wait(
      lock, [&] { return stop_ || down_ || active_requests_ < options_.max_concurrent_requests; });
  if (stop_ || down_) return false;
  ++active_requests_;
  return true;
}

void TcpProxy::release_request_slot() {
  std::lock_guard lock(slots_mu_);
  --active_requests_;
  slots_cv_.notify_one();
}

void TcpProxy::pump(int client, int upstream) {
  pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
  char buf[16384];
  const bool shaping = options_.request_latency.count() > 0 || options_.bytes_per_second > 0 ||
                       options_.max_concurrent_requests > 0;
  bool in_request = false;  // the client has sent since the server last answered
  bool holding = false;     // this connection holds a concurrency slot
  bool answered = false;    // the server has begun answering the request holding the slot
  Clock::time_point ready[2] = {Clock::now(), Clock::now()};  // bandwidth: next send per side
  bool open = true;
  while (open && !stop_) {
    const int timeout = holding && answered ? kAnswerQuietMs : 200;
    const int events = ::poll(fds, 2, timeout);
    if (events < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (events == 0) {
      if (holding && answered) {
        release_request_slot();
        holding = false;
      }
      continue;
    }
    for (int i = 0; i < 2 && open; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0 || down_) {
        open = false;
        break;
      }
      if (shaping) {
        if (i == 0 && !in_request) {
          // A new request: the previous one (if any) is over.
          in_request = true;
          ++requests_;
          if (holding) release_request_slot();
          holding = false;
          answered = false;
          if (options_.max_concurrent_requests > 0) {
            if (!acquire_request_slot()) {
              open = false;
              break;
            }
            holding = true;
          }
          if (options_.request_latency.count() > 0) {
            nap_until(Clock::now() + options_.request_latency);
          }
        } else if (i == 1) {
          in_request = false;
          answered = true;
        }
        if (options_.bytes_per_second > 0) {
          const auto cost = std::chrono::microseconds(static_cast<int64_t>(
              static_cast<double>(n) * 1e6 / static_cast<double>(options_.bytes_per_second)));
          // A little credit for time already past: sleeps overshoot, and a cap that forgot
          // every overshoot would run slower than asked.
          ready[i] = std::max(ready[i], Clock::now() - kBandwidthCredit) + cost;
          nap_until(ready[i]);
        }
        if (stop_ || down_) {
          open = false;
          break;
        }
      } else if (i == 0 && !in_request) {
        in_request = true;
        ++requests_;
      } else if (i == 1) {
        in_request = false;
      }
      for (ssize_t done = 0; done < n;) {
        ssize_t w = ::write(fds[1 - i].fd, buf + done, static_cast<size_t>(n - done));
        if (w <= 0) {
          open = false;
          break;
        }
        done += w;
      }
      (i == 0 ? bytes_up_ : bytes_down_) += static_cast<uint64_t>(n);
    }
  }
  if (holding) release_request_slot();
  std::lock_guard lock(mu_);
  std::erase(open_fds_, client);
  std::erase(open_fds_, upstream);
  ::close(client);
  ::close(upstream);
}

}  // namespace ltxvfs::testing
