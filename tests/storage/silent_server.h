// A TCP server on 127.0.0.1 that accepts every connection and never answers: the shape of a
// store that is hung (or a firewall that swallows replies after the handshake). It reads and
// discards what clients send, unless told not to read (then a large upload stalls in send()).
// Bounded: loopback only; every connection is closed by the destructor.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "loopback_listener.h"

namespace ltxvfs::testing {

class SilentServer {
 public:
  explicit SilentServer(bool read_requests = true) : read_requests_(read_requests) {
    const LoopbackListener listener = listen_on_loopback(64);
    listen_fd_ = listener.fd;
    port_ = listener.port;
    thread_ = std::thread([this] { run(); });
  }

  ~SilentServer() {
    stop_ = true;
    thread_.join();
    for (int fd : clients_) ::close(fd);
    ::close(listen_fd_);
  }

  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  size_t connections() const { return connections_; }
  // Bytes received from clients (requests swallowed).
  size_t bytes_received() const { return bytes_; }

 private:
  void run() {
    char buf[65536];
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      if (read_requests_) {
        for (int fd : clients_) fds.push_back({fd, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          clients_.push_back(fd);
          ++connections_;
        }
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
          const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
          if (n > 0) {
            bytes_ += static_cast<size_t>(n);
          } else {
            // The client gave up: forget the connection.
            ::close(fds[i].fd);
            std::erase(clients_, fds[i].fd);
          }
        }
      }
    }
  }

  const bool read_requests_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> connections_{0};
  std::atomic<size_t> bytes_{0};
  std::vector<int> clients_;  // only touched by the server thread, then the destructor
  std::thread thread_;
};

}  // namespace ltxvfs::testing
