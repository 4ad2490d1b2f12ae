#include "storage/s3/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

namespace ltxvfs::storage {
namespace {

// Feeds the request body to libcurl, chunk by chunk, straight from the BodySource.
struct UploadState {
  const BodySource* body = nullptr;
  uint64_t offset = 0;
  std::exception_ptr error;  // the BodySource's failure, rethrown after the transfer
};

size_t read_body(char* buffer, size_t size, size_t count, void* userdata) {
  auto* up = static_cast<UploadState*>(userdata);
  if (up->body == nullptr) return 0;
  const uint64_t left = up->body->size() - up->offset;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(size * count, left));
  if (n == 0) return 0;
  try {
    up->body->read_at(up->offset, {reinterpret_cast<uint8_t*>(buffer), n});
  } catch (...) {
    // No exception may cross libcurl's C frames.
    up->error = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
  up->offset += n;
  return n;
}

// libcurl rewinds the body when it must send it again (a reused connection that turned out to be
// dead is retried on a new one); without this it would fail the request instead.
int seek_body(void* userdata, curl_off_t offset, int origin) {
  auto* up = static_cast<UploadState*>(userdata);
  const uint64_t size = up->body == nullptr ? 0 : up->body->size();
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > size) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  up->offset = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// Called by libcurl while the transfer runs; a non-zero answer aborts it.
int on_progress(void* userdata, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancel = static_cast<const Cancellation*>(userdata);
  return cancel != nullptr && cancel->cancelled() ? 1 : 0;
}

// Where a response body goes. The body is reserved once at the Content-Length the headers
// announced: appended in libcurl's 16 KiB pieces it grew by doubling, and a 1 MiB ranged GET
// copied ~1 MiB more and faulted in fresh pages at each step (a cold scan's prefetch threads
// spent more time there than anywhere but zstd).
struct BodyState {
  std::vector<uint8_t>* body;
  CURL* curl;
  bool reserved = false;
  // HttpRequest::on_body, the headers it is shown, and what it was handed so far.
  const HttpRequest::BodyPieceFn* on_body = nullptr;
  const HttpHeaders* headers = nullptr;
  uint64_t* streamed = nullptr;
  long status = 0;  // asked of libcurl at the first piece (the headers are in by then)
};

// A body larger than this is not reserved up front (a wrong header must not allocate it all).
constexpr curl_off_t kMaxReserve = curl_off_t{256} << 20;

size_t write_body(char* data, size_t size, size_t count, void* userdata) {
  auto* st = static_cast<BodyState*>(userdata);
  try {
    if (st->on_body != nullptr) {
      if (st->status == 0) curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &st->status);
      if (st->status >= 200 && st->status < 300) {
        const std::span<const uint8_t> piece(reinterpret_cast<const uint8_t*>(data), size * count);
        (*st->on_body)(st->status, *st->headers, *st->streamed, piece);
        *st->streamed += piece.size();
        return size * count;
      }
    }
    if (!st->reserved) {
      st->reserved = true;
      curl_off_t length = -1;
      if (curl_easy_getinfo(st->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
          length > 0 && length <= kMaxReserve) {
        st->body->reserve(st->body->size() + static_cast<size_t>(length));
      }
    }
    st->body->insert(st->body->end(), data, data + size * count);
  } catch (...) {
    return 0;  // no exception may cross libcurl's C frames; 0 fails the transfer (out of memory)
  }
  return size * count;
}

size_t write_header(char* data, size_t size, size_t count, void* userdata) {
  auto* headers = static_cast<HttpHeaders*>(userdata);
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new response (after a 100 Continue): forget the previous one's headers
    return size * count;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  headers->emplace_back(std::move(name), std::string(value));
  return size * count;
}

// Frees a curl_slist when the request is done.
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

void append(Slist& list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (grown == nullptr) throw std::bad_alloc();
  (void)list.release();
  list.reset(grown);
}

// What every request gets, from the client's options: the protocols, timeouts and stall abort,
// TLS verification, the proxy. Returns the CONNECT_TO list, which must outlive the transfer.
Slist set_connection_options(CURL* curl, const HttpOptions& options) {
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM: we are in someone else's process
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
  // S3 keys are signed exactly as sent; without this libcurl would squash "/../" and "/./".
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, options.low_speed_limit);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options.low_speed_time_s);
  if (options.request_timeout_ms > 0) {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options.request_timeout_ms);
  }
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options.insecure_skip_tls_verify ? 0L : 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options.insecure_skip_tls_verify ? 0L : 2L);
  if (!options.ca_bundle.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_bundle.c_str());
  }
  // An explicit empty proxy stops libcurl from reading http_proxy & co. from the environment.
  curl_easy_setopt(curl, CURLOPT_PROXY, options.proxy.c_str());
  if (!options.no_proxy.empty()) {
    curl_easy_setopt(curl, CURLOPT_NOPROXY, options.no_proxy.c_str());
  }
  Slist connect_to;
  for (const auto& entry : options.connect_to) append(connect_to, entry);
  if (connect_to) curl_easy_setopt(curl, CURLOPT_CONNECT_TO, connect_to.get());
  return connect_to;
}

// The caller's headers, and two of libcurl's defaults turned off.
Slist header_list(const HttpRequest& request) {
  Slist headers;
  for (const auto& [name, value] : request.headers) append(headers, name + ": " + value);
  append(headers, "Expect:");  // no 100-continue round trip before every upload
  append(headers, "Accept:");
  return headers;
}

// The method; PUT and POST read their body through `upload`, with its size as Content-Length.
void set_method(CURL* curl, const HttpRequest& request, UploadState* upload) {
  const uint64_t body_size = request.body == nullptr ? 0 : request.body->size();
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    if (request.method == "PUT") {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_size));
    } else {
      // With a read callback and a size, POST sends Content-Length and reads from the callback
      // (never from libcurl's default source, stdin).
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_size));
    }
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(curl, CURLOPT_READDATA, upload);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, seek_body);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, upload);
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
}

// Where the answer's headers and body go, and the progress callback that looks at `cancel`.
void set_receivers(CURL* curl, BodyState* body, HttpResponse* response,
                   const Cancellation* cancel) {
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response->headers);
  if (cancel != nullptr) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, cancel);
  }
}

// How a transfer ended: libcurl's result, or the caller's cancellation, or a failure of the
// multi interface itself (multi_error, with rc CURLE_FAILED_INIT).
struct TransferEnd {
  CURLcode rc = CURLE_OK;
  bool cancelled = false;
  std::string multi_error;
};

// Runs the transfer set up on `curl`. The multi interface instead of curl_easy_perform: the loop
// wakes every kCancelPollMs to look at the cancellation even while the server sends nothing
// (libcurl's own progress callback slows to about once a second then).
TransferEnd run_transfer(CURLM* multi, CURL* curl, const Cancellation* cancel) {
  TransferEnd end;
  bool done = false;
  if (CURLMcode mc = curl_multi_add_handle(multi, curl); mc != CURLM_OK) {
    curl_easy_reset(curl);
    throw HttpTransportError(std::string("libcurl: ") + curl_multi_strerror(mc), 0, false);
  }
  while (true) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == curl) {
        end.rc = msg->data.result;
        done = true;
      }
    }
    if (done) break;
    if (mc == CURLM_OK && running == 0) mc = CURLM_INTERNAL_ERROR;  // ended without a result
    if (mc == CURLM_OK && cancel != nullptr && cancel->cancelled()) {
      end.cancelled = true;
      break;
    }
    if (mc == CURLM_OK) mc = curl_multi_poll(multi, nullptr, 0, kCancelPollMs, nullptr);
    if (mc != CURLM_OK) {
      end.multi_error = std::string("libcurl: ") + curl_multi_strerror(mc);
      end.rc = CURLE_FAILED_INIT;
      break;
    }
  }
  // Removing a transfer still running abandons it and closes its connection.
  curl_multi_remove_handle(multi, curl);
  if (end.rc == CURLE_ABORTED_BY_CALLBACK && cancel != nullptr && cancel->cancelled()) {
    end.cancelled = true;
  }
  return end;
}

}  // namespace

void ensure_curl_initialized() {
  // A function-local static is initialised once, thread-safely (C++11 "magic statics").
  static const CURLcode init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (init_result != CURLE_OK) {
    throw HttpTransportError(
        std::string("libcurl initialisation failed: ") + curl_easy_strerror(init_result),
        static_cast<int>(init_result), false);
  }
}

const std::string* find_header(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

struct HttpClient::Handle {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  ~Handle() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }
};

HttpClient::HttpClient(HttpOptions options, LogFn log) : options_(std::move(options)) {
  ensure_curl_initialized();
  if (options_.insecure_skip_tls_verify && log) {
    log("WARNING: TLS certificate and host name verification is DISABLED for this store "
        "(insecure option set) — anyone on the network path can read and alter replica data");
  }
}

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::Handle> HttpClient::acquire() {
  {
    base::MutexLock lock(mu_);
    if (!idle_.empty()) {
      auto h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  auto h = std::make_unique<Handle>();
  h->multi = curl_multi_init();
  h->easy = curl_easy_init();
  if (h->multi == nullptr || h->easy == nullptr) {
    throw HttpTransportError("libcurl: cannot create a transfer handle", 0, false);
  }
  return h;
}

void HttpClient::release(std::unique_ptr<Handle> handle) {
  base::MutexLock lock(mu_);
  if (idle_.size() < options_.max_idle_handles) idle_.push_back(std::move(handle));
}

HttpResponse HttpClient::perform(const HttpRequest& request) {
  std::unique_ptr<Handle> handle = acquire();
  CURL* curl = handle->easy;
  // Reset clears every option; open connections and the DNS cache live in the multi handle.
  curl_easy_reset(curl);

  HttpResponse response;
  UploadState upload{request.body, 0, nullptr};
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  const Slist connect_to = set_connection_options(curl, options_);
  const Slist headers = header_list(request);
  set_method(curl, request, &upload);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  BodyState body{&response.body, curl};
  body.on_body = request.on_body;
  body.headers = &response.headers;
  body.streamed = &response.streamed;
  set_receivers(curl, &body, &response, request.cancel);

  const TransferEnd end = run_transfer(handle->multi, curl, request.cancel);

  curl_off_t uploaded = 0;
  curl_easy_getinfo(curl, CURLINFO_SIZE_UPLOAD_T, &uploaded);
  response.bytes_sent = static_cast<uint64_t>(uploaded);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  const std::string detail = !end.multi_error.empty() ? end.multi_error
                             : error_buffer[0]        ? error_buffer
                                                      : curl_easy_strerror(end.rc);
  // Reset drops the pointers into this call's stack before the handle goes back to the pool. A
  // failed or abandoned transfer leaves the handle reusable: libcurl closes a broken connection.
  curl_easy_reset(curl);
  release(std::move(handle));
  if (upload.error) std::rethrow_exception(upload.error);
  if (end.cancelled) {
    throw HttpTransportError("cancelled by the caller", static_cast<int>(CURLE_ABORTED_BY_CALLBACK),
                             false, true);
  }
  if (end.rc != CURLE_OK) {
    throw HttpTransportError(
        detail + " (curl error " + std::to_string(static_cast<int>(end.rc)) + ")",
        static_cast<int>(end.rc), end.rc == CURLE_OPERATION_TIMEDOUT);
  }
  return response;
}

}  // namespace ltxvfs::storage
