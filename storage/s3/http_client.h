// A small HTTP client over libcurl, for the S3 backend.
//
// - Connection reuse: handles (each with its connection cache) are kept in a pool and reused by
//   whichever thread asks next; perform() is safe to call from several threads at once.
// - Bodies are streamed from a BodySource in libcurl's upload-buffer chunks, never copied whole.
// - Every request is bounded: connect timeout, an abort when the transfer stalls (low-speed
//   limit), and optionally a cap on the whole request (see HttpOptions).
// - Cancellable: a request given a Cancellation is abandoned within about 50 ms of cancel().
//   The transfer runs on libcurl's multi interface, polled in short slices, because
//   curl_easy_perform only calls back about once a second while a server is silent.
// - TLS peers and host names are verified unless the caller explicitly opts out (which is logged).
// - Proxies are NOT read from the environment by libcurl; the caller passes them in (S3Store reads
//   HTTPS_PROXY/HTTP_PROXY/NO_PROXY through its injectable Env).
// - Request bodies are sent with the Content-Type the caller gives; S3Store always gives one,
//   because some servers store an `application/x-www-form-urlencoded` body (libcurl's default for
//   POST data) as an empty object.
// - A 2xx answer's body can be handed over piece by piece as it arrives instead of kept
//   (HttpRequest::on_body): a ranged GET's first bytes are used before its last ones are in, and
//   the body is never held whole.
// - Transport failures (connect, timeout, reset, cancellation) are thrown as HttpTransportError;
//   any HTTP status is a normal response for the caller to interpret. A body that cannot be read
//   ends the request with the BodySource's own exception.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "storage/body_source.h"
#include "storage/cancellation.h"

namespace ltxvfs::storage {

using LogFn = std::function<void(std::string_view message)>;

struct HttpOptions {
  // Name resolution, TCP connect and TLS handshake together.
  long connect_timeout_ms = 5'000;
  // A transfer slower than `low_speed_limit` bytes/s for `low_speed_time_s` seconds is aborted
  // (catches a server that accepted the connection and went silent — before answering, or
  // mid-body — without limiting large transfers that keep moving).
  long low_speed_limit = 1;
  long low_speed_time_s = 10;
  // Cap on one whole request (connect included), however fast it moves; 0 = none. For probes and
  // small requests: a large body at a modest speed legitimately takes long.
  long request_timeout_ms = 0;
  std::string ca_bundle;                  // PEM file of trusted CAs; empty = the system's
  bool insecure_skip_tls_verify = false;  // never the default; logged when used
  std::string proxy;                      // e.g. "http://proxy:3128"; empty = none
  std::string no_proxy;                   // hosts that bypass `proxy`
  // libcurl CURLOPT_CONNECT_TO entries "HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT". Lets tests
  // exercise virtual-hosted addressing (bucket.s3.example) against a server on 127.0.0.1.
  std::vector<std::string> connect_to;
  size_t max_idle_handles = 16;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The value of the first header called `name` (lower-case) in `headers`, or nullptr: of a
// response, or of one still arriving (HttpRequest::on_body).
const std::string* find_header(const HttpHeaders& headers, std::string_view name);

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string url;
  HttpHeaders headers;
  // PUT and POST: the body, read in chunks while it is sent (libcurl's 64 KiB upload buffer) and
  // from the start again if libcurl must resend it. Sent with its size as Content-Length.
  // Null = empty. Kept alive by the caller for the call.
  const BodySource* body = nullptr;
  // When set, cancel() abandons the request (perform throws with cancelled() true).
  const Cancellation* cancel = nullptr;
  // When set, a 2xx answer's body is handed to it piece by piece (libcurl's, up to 16 KiB) on
  // the transfer's thread as it arrives, with the status, the headers and where the piece starts
  // in the body, and not kept (HttpResponse::streamed counts it). Other answers' bodies are kept
  // as usual (an error's XML). It must not throw; what it does delays the transfer.
  using BodyPieceFn = std::function<void(long status, const HttpHeaders& headers, uint64_t at,
                                         std::span<const uint8_t> piece)>;
  const BodyPieceFn* on_body = nullptr;
};

struct HttpResponse {
  long status = 0;
  HttpHeaders headers;  // names lower-cased, in arrival order
  std::vector<uint8_t> body;
  uint64_t streamed = 0;    // body bytes handed to HttpRequest::on_body instead of kept here
  uint64_t bytes_sent = 0;  // request body bytes actually uploaded

  // The value of the first header called `name` (lower-case), or nullptr.
  const std::string* header(std::string_view name) const { return find_header(headers, name); }
  std::string body_text() const { return {body.begin(), body.end()}; }
};

class HttpTransportError : public std::runtime_error {
 public:
  HttpTransportError(const std::string& message, int curl_code, bool timed_out,
                     bool cancelled = false)
      : std::runtime_error(message),
        curl_code_(curl_code),
        timed_out_(timed_out),
        cancelled_(cancelled) {}
  int curl_code() const { return curl_code_; }
  bool timed_out() const { return timed_out_; }
  // The request's Cancellation was cancelled; nothing more is known about the transfer.
  bool cancelled() const { return cancelled_; }

 private:
  int curl_code_;
  bool timed_out_;
  bool cancelled_;
};

// How often a request in flight checks its Cancellation (and so the worst added latency of
// cancel()).
inline constexpr int kCancelPollMs = 50;

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {}, LogFn log = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse perform(const HttpRequest& request) EXCLUDES(mu_);
  const HttpOptions& options() const { return options_; }

 private:
  // A multi handle with its one easy handle; the multi handle owns the connection cache.
  struct Handle;

  std::unique_ptr<Handle> acquire() EXCLUDES(mu_);
  void release(std::unique_ptr<Handle> handle) EXCLUDES(mu_);

  const HttpOptions options_;
  base::Mutex mu_;
  // Handles not in use, at most options_.max_idle_handles; perform() takes one for its request.
  std::vector<std::unique_ptr<Handle>> idle_ GUARDED_BY(mu_);
};

// libcurl's process-wide initialisation, done exactly once and thread-safely. Never undone:
// curl_global_cleanup is unsafe in a library that may be unloaded while others use libcurl.
void ensure_curl_initialized();

}  // namespace ltxvfs::storage
