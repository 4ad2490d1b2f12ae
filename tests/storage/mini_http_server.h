// A scripted HTTP/1.1 server on 127.0.0.1 for retry and error tests: it answers the n-th request
// with the n-th scripted reply (the last one repeats), records every request, and closes the
// connection after each answer. Replies can also misbehave: close mid-body, or never answer.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "loopback_listener.h"

namespace ltxvfs::testing {

class MiniHttpServer {
 public:
  enum class Mode { kNormal, kCloseMidBody, kNoAnswer };
  struct Reply {
    int status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    Mode mode = Mode::kNormal;
  };
  struct Request {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
  };

  static Reply s3_error(int status, const std::string& code, const std::string& message) {
    return {status,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code +
                "</Code><Message>" + message + "</Message><RequestId>1</RequestId></Error>",
            {{"Content-Type", "application/xml"}},
            Mode::kNormal};
  }

  explicit MiniHttpServer(std::vector<Reply> script) : script_(std::move(script)) {
    const LoopbackListener listener = listen_on_loopback(16);
    listen_fd_ = listener.fd;
    port_ = listener.port;
    thread_ = std::thread([this] { run(); });
  }

  ~MiniHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  MiniHttpServer(const MiniHttpServer&) = delete;
  MiniHttpServer& operator=(const MiniHttpServer&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  size_t request_count() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
  }
  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  bool wait_readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      int n = ::poll(&p, 1, 20);
      if (n > 0) return true;
    }
    return false;
  }

  void run() {
    while (wait_readable(listen_fd_)) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      serve(fd);
      ::close(fd);
    }
  }

  void serve(int fd) {
    std::string data;
    size_t head_end = std::string::npos;
    char buf[8192];
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      if (!wait_readable(fd)) return;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
    }
    Request req;
    const std::string head = data.substr(0, head_end);
    size_t line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    const size_t sp1 = request_line.find(' ');
    const size_t sp2 = request_line.find(' ', sp1 + 1);
    req.method = request_line.substr(0, sp1);
    req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      const std::string line = head.substr(pos, end - pos);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t v = colon + 1;
        while (v < line.size() && line[v] == ' ') ++v;
        req.headers[name] = line.substr(v);
      }
      pos = end + 2;
    }
    const size_t content_length =
        req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
    req.body = data.substr(head_end + 4);
    while (req.body.size() < content_length) {
      if (!wait_readable(fd)) return;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      req.body.append(buf, static_cast<size_t>(n));
    }

    Reply reply;
    {
      std::lock_guard lock(mutex_);
      const size_t index = requests_.size();
      requests_.push_back(req);
      reply = script_.empty() ? Reply{} : script_[std::min(index, script_.size() - 1)];
    }
    if (reply.mode == Mode::kNoAnswer) {
      // Hold the connection until the client gives up (or the server stops).
      while (wait_readable(fd)) {
        if (::recv(fd, buf, sizeof buf, 0) <= 0) return;
      }
      return;
    }
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " X\r\n";
    for (const auto& [name, value] : reply.headers) out += name + ": " + value + "\r\n";
    const bool head_only = req.method == "HEAD";
    out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    out += "Connection: close\r\n\r\n";
    if (!head_only) {
      out += reply.mode == Mode::kCloseMidBody ? reply.body.substr(0, reply.body.size() / 2)
                                               : reply.body;
    }
    size_t sent = 0;
    while (sent < out.size()) {
      ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  std::vector<Reply> script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
};

}  // namespace ltxvfs::testing
