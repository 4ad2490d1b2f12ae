#include "storage/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace ltxvfs::storage {
namespace {

// Reads the request body for an upload.
struct UploadSource {
  std::span<const uint8_t> body;
  size_t offset = 0;
};

size_t read_body(char* buffer, size_t size, size_t count, void* userdata) {
  auto* src = static_cast<UploadSource*>(userdata);
  const size_t n = std::min(size * count, src->body.size() - src->offset);
  if (n > 0) std::memcpy(buffer, src->body.data() + src->offset, n);
  src->offset += n;
  return n;
}

size_t write_body(char* data, size_t size, size_t count, void* userdata) {
  auto* out = static_cast<std::vector<uint8_t>*>(userdata);
  out->insert(out->end(), data, data + size * count);
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

const std::string* HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

void HttpClient::HandleDeleter::operator()(void* handle) const {
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

HttpClient::HttpClient(HttpOptions options, LogFn log) : options_(std::move(options)) {
  ensure_curl_initialized();
  if (options_.insecure_skip_tls_verify && log) {
    log("WARNING: TLS certificate and host name verification is DISABLED for this store "
        "(insecure option set) — anyone on the network path can read and alter replica data");
  }
}

HttpClient::~HttpClient() = default;

HttpClient::Handle HttpClient::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      Handle h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  Handle h(curl_easy_init());
  if (!h) throw HttpTransportError("libcurl: cannot create an easy handle", 0, false);
  return h;
}

void HttpClient::release(Handle handle) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < options_.max_idle_handles) idle_.push_back(std::move(handle));
}

HttpResponse HttpClient::perform(const HttpRequest& request) {
  Handle handle = acquire();
  CURL* curl = static_cast<CURL*>(handle.get());
  // Reset clears every option but keeps the handle's open connections and DNS cache.
  curl_easy_reset(curl);

  HttpResponse response;
  UploadSource upload{request.body, 0};
  char error_buffer[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
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
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, options_.low_speed_limit);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options_.low_speed_time_s);
  if (options_.request_timeout_ms > 0) {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options_.request_timeout_ms);
  }
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options_.insecure_skip_tls_verify ? 0L : 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options_.insecure_skip_tls_verify ? 0L : 2L);
  if (!options_.ca_bundle.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_bundle.c_str());
  }
  // An explicit empty proxy stops libcurl from reading http_proxy & co. from the environment.
  curl_easy_setopt(curl, CURLOPT_PROXY, options_.proxy.c_str());
  if (!options_.no_proxy.empty()) {
    curl_easy_setopt(curl, CURLOPT_NOPROXY, options_.no_proxy.c_str());
  }
  Slist connect_to;
  for (const auto& entry : options_.connect_to) append(connect_to, entry);
  if (connect_to) curl_easy_setopt(curl, CURLOPT_CONNECT_TO, connect_to.get());

  Slist headers;
  for (const auto& [name, value] : request.headers) append(headers, name + ": " + value);
  append(headers, "Expect:");  // no 100-continue round trip before every upload
  append(headers, "Accept:");

  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    // Never NULL: a NULL POSTFIELDS makes libcurl read the body from its default source, stdin.
    static constexpr char kEmpty[] = "";
    const void* data = request.body.empty() ? static_cast<const void*>(kEmpty)
                                            : static_cast<const void*>(request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);

  const CURLcode rc = curl_easy_perform(curl);
  curl_off_t uploaded = 0;
  curl_easy_getinfo(curl, CURLINFO_SIZE_UPLOAD_T, &uploaded);
  response.bytes_sent = static_cast<uint64_t>(uploaded);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  const std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
  // Reset drops the pointers into this call's stack before the handle goes back to the pool. A
  // failed transfer leaves the handle reusable: libcurl closes a broken connection itself.
  curl_easy_reset(curl);
  release(std::move(handle));
  if (rc != CURLE_OK) {
    throw HttpTransportError(detail + " (curl error " + std::to_string(static_cast<int>(rc)) + ")",
                             static_cast<int>(rc), rc == CURLE_OPERATION_TIMEDOUT);
  }
  return response;
}

}  // namespace ltxvfs::storage
