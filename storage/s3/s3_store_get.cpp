// S3Store's GET and HEAD: an object, a byte range of it (cut out locally when a server ignores
// Range), or its size, etag, date and metadata.
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "base/time_util.h"
#include "storage/s3/s3_store.h"
#include "storage/s3/s3_store_op.h"
#include "storage/validation.h"

namespace ltxvfs::storage {
namespace {

std::map<std::string, std::string> metadata_from(const HttpResponse& response) {
  std::map<std::string, std::string> out;
  static constexpr std::string_view kMetaPrefix = "x-amz-meta-";
  for (const auto& [name, value] : response.headers) {
    if (name.rfind(kMetaPrefix, 0) == 0) out[name.substr(kMetaPrefix.size())] = value;
  }
  return out;
}

int64_t last_modified_of(const HttpResponse& response) {
  const std::string* value = response.header("last-modified");
  return value ? base::parse_http_date_ms(*value).value_or(0) : 0;
}

// The server's clock when it answered (Date, RFC 7231): with Last-Modified, an object's age that
// no other host's clock enters (history/writer_lease.h judges leases by it).
int64_t date_of(const HttpResponse& response) {
  const std::string* value = response.header("date");
  return value ? base::parse_http_date_ms(*value).value_or(0) : 0;
}

std::optional<uint64_t> parse_u64(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::strtoull(s.c_str(), nullptr, 10);
}

// A Content-Range header's "bytes FIRST-LAST/TOTAL", when it is one that can be: first <= last <
// total.
struct ContentRange {
  uint64_t first = 0, last = 0, total = 0;
};
std::optional<ContentRange> parse_content_range(const std::string& text) {
  if (text.rfind("bytes ", 0) != 0) return std::nullopt;
  const auto dash = text.find('-', 6), slash = text.rfind('/');
  if (dash == std::string::npos || slash == std::string::npos || dash > slash) return std::nullopt;
  const auto first = parse_u64(text.substr(6, dash - 6));
  const auto last = parse_u64(text.substr(dash + 1, slash - dash - 1));
  const auto total = parse_u64(text.substr(slash + 1));
  if (!first || !last || !total || *first > *last || *last >= *total) return std::nullopt;
  return ContentRange{*first, *last, *total};
}

// Where the bytes of `range` start in the body of an answer still arriving (a 206 for bytes
// from a first byte at or before the range's, or a 200 with the whole object), or nullopt when
// the answer does not hold them (get_with's checks then say what is wrong).
std::optional<uint64_t> range_start_in_body(long status, const HttpHeaders& headers,
                                            const ByteRange& range) {
  if (status == 200) return range.offset;
  const std::string* text = find_header(headers, "content-range");
  const auto cr = text ? parse_content_range(*text) : std::nullopt;
  if (status != 206 || !cr || cr->first > range.offset || cr->last < range.offset) {
    return std::nullopt;
  }
  return range.offset - cr->first;
}

// What an answer to a GET or HEAD says about the object besides its body and size.
GetResult described_by(const HttpResponse& response) {
  GetResult result;
  result.etag = response.header("etag") ? *response.header("etag") : "";
  result.last_modified_ms = last_modified_of(response);
  result.store_time_ms = date_of(response);
  result.metadata = metadata_from(response);
  return result;
}

StoreError invalid_range(const std::string& subject, const ByteRange& range, uint64_t size) {
  return StoreError(StoreErrorKind::kInvalidRange,
                    subject + ": 416 InvalidRange: range " +
                        (range.suffix ? "last " + std::to_string(range.length) + " bytes"
                                      : "offset " + std::to_string(range.offset)) +
                        " is outside the object of " + std::to_string(size) + " bytes");
}

// The Range header for a non-empty range.
std::string range_header(const ByteRange& range) {
  return range.suffix ? "bytes=-" + std::to_string(range.length)
                      : "bytes=" + std::to_string(range.offset) + "-" +
                            std::to_string(range.offset + range.length - 1);
}

// An empty range, answered from a HEAD: HTTP cannot express one. Empty, or 416 as S3 would.
GetResult empty_range_from_head(const HttpResponse& head, const ByteRange& range,
                                const std::string& subject) {
  GetResult result = described_by(head);
  const std::string* length = head.header("content-length");
  result.object_size = length ? parse_u64(*length).value_or(0) : 0;
  if (range.suffix || range.offset > result.object_size) {
    throw invalid_range(subject, range, result.object_size);
  }
  return result;
}

// A 206's answer, checked against what was asked: its Content-Range ("bytes 0-9/443") must cover
// the range asked for and agree with the body, so a proxy or cache answering with other bytes
// fails the read instead of handing a decoder the wrong part of the object. Returns the object's
// size; cuts `body` down to the range asked when the answer holds more (s3rver answers bytes=0-0
// with two bytes). A 206 to a GET without Range must cover the whole object. `received`: the
// body's length; `body`: null when the body went elsewhere as it arrived (get_streamed, which
// passes on only the range's bytes).
uint64_t take_partial(const HttpResponse& response, const std::optional<ByteRange>& range,
                      const std::string& subject, uint64_t received, std::vector<uint8_t>* body) {
  const std::string* header = response.header("content-range");
  const std::string text = header ? *header : "missing";
  const std::optional<ContentRange> cr = parse_content_range(text);
  if (!cr) {
    throw StoreError(StoreErrorKind::kProtocol,
                     subject + ": 206 without a usable Content-Range (" + text + ")");
  }
  const uint64_t first = cr->first, last = cr->last, total = cr->total;
  uint64_t want_first = 0, want_last = total - 1;
  if (range && range->suffix) {
    want_first = total - std::min(range->length, total);
  } else if (range && range->offset < total) {
    want_first = range->offset;
    want_last = range->offset + std::min(range->length, total - range->offset) - 1;
  } else if (range) {
    want_first = total;  // nothing of the object can answer it (S3 would say 416)
  }
  if (first > want_first || last < want_last || received != last - first + 1) {
    throw StoreError(StoreErrorKind::kProtocol,
                     subject + ": asked for " +
                         (range ? range_header(*range) : "the whole object") + ", the answer was " +
                         text + " with " + std::to_string(received) +
                         " bytes; a proxy or cache between here and the store served other "
                         "bytes than those asked (the read was not used)");
  }
  if (body != nullptr && (first != want_first || last != want_last)) {
    *body =
        std::vector<uint8_t>(body->begin() + static_cast<std::ptrdiff_t>(want_first - first),
                             body->begin() + static_cast<std::ptrdiff_t>(want_last - first + 1));
  }
  return total;
}

// A 200 to a ranged request: the server ignored Range; cut the range out of the whole `body`.
std::vector<uint8_t> cut_range(const std::vector<uint8_t>& body, const ByteRange& range,
                               const std::string& subject) {
  const uint64_t size = body.size();
  uint64_t begin = 0, end = size;
  if (range.suffix) {
    begin = size - std::min(range.length, size);
  } else {
    if (range.offset >= size) throw invalid_range(subject, range, size);
    begin = range.offset;
    end = begin + std::min(range.length, size - begin);
  }
  return {body.begin() + static_cast<std::ptrdiff_t>(begin),
          body.begin() + static_cast<std::ptrdiff_t>(end)};
}

}  // namespace

S3Store::Op S3Store::get_op(const std::string& key, std::vector<long> ok_statuses) {
  StoreStats::add(stats_->gets);
  validate_key(key, "GET " + describe() + "/" + key);
  Op op;
  op.verb = "GET";
  op.method = "GET";
  op.full_key = full_key(key);
  op.ok_statuses = std::move(ok_statuses);
  return op;
}

GetResult S3Store::get(const std::string& key, std::optional<ByteRange> range) {
  return get_with(key, range, nullptr);
}

GetResult S3Store::get_streamed(const std::string& key, const ByteRange& range,
                                const Received& received) {
  // A suffix or an empty range is answered by other requests (no Range to place pieces by, a
  // HEAD): read whole, as any store.
  if (range.suffix || range.length == 0) return ObjectStore::get_streamed(key, range, received);
  // The pieces of the body that fall in the range, passed on where they start in it.
  const HttpRequest::BodyPieceFn on_body = [&](long status, const HttpHeaders& headers, uint64_t at,
                                               std::span<const uint8_t> piece) {
    const std::optional<uint64_t> start = range_start_in_body(status, headers, range);
    if (!start) return;
    const uint64_t from = std::max(at, *start);
    const uint64_t to = std::min(at + piece.size(), *start + range.length);
    if (from >= to) return;
    const std::string* etag = find_header(headers, "etag");
    received(etag ? *etag : "", from - *start, piece.subspan(from - at, to - from));
  };
  return get_with(key, range, &on_body);
}

GetResult S3Store::get_with(const std::string& key, std::optional<ByteRange> range,
                            const HttpRequest::BodyPieceFn* on_body) {
  try {
    Op op = get_op(key, {200, 206});
    op.on_body = on_body;
    const std::string subject = "GET " + where(op.full_key);
    if (range && range->length == 0) {
      op.verb = "HEAD";
      op.method = "HEAD";
      op.ok_statuses = {200};
      return empty_range_from_head(execute(op), *range, subject);
    }
    if (range) op.headers.emplace_back("range", range_header(*range));
    HttpResponse response = execute(op);

    GetResult result = described_by(response);
    const bool streamed = on_body != nullptr;
    const uint64_t received = streamed ? response.streamed : response.body.size();
    if (response.status == 206) {
      // A 206 to a request without Range is as wrong as one for other bytes.
      result.body = std::move(response.body);
      result.object_size =
          take_partial(response, range, subject, received, streamed ? nullptr : &result.body);
    } else if (streamed) {
      // The whole object went by; its range's bytes were passed on.
      result.object_size = received;
      if (range && range->offset >= received) throw invalid_range(subject, *range, received);
    } else {
      result.object_size = received;
      result.body = range ? cut_range(response.body, *range, subject) : std::move(response.body);
    }
    return result;
  } catch (const StoreError& e) {
    if (e.counts_as_failure()) StoreStats::add(stats_->failures);
    throw;
  }
}

std::optional<GetResult> S3Store::get_if_changed(const std::string& key, const std::string& etag) {
  try {
    Op op = get_op(key, {200, 304});
    if (!etag.empty()) op.headers.emplace_back("if-none-match", etag);
    HttpResponse response = execute(op);
    if (response.status == 304) return std::nullopt;
    GetResult result = described_by(response);
    // A store that ignores If-None-Match answers 200: the etag still tells.
    if (!etag.empty() && result.etag == etag) return std::nullopt;
    result.object_size = response.body.size();
    result.body = std::move(response.body);
    return result;
  } catch (const StoreError& e) {
    if (e.counts_as_failure()) StoreStats::add(stats_->failures);
    throw;
  }
}

std::optional<ObjectInfo> S3Store::head(const std::string& key) {
  try {
    StoreStats::add(stats_->heads);
    validate_key(key, "HEAD " + describe() + "/" + key);
    Op op;
    op.verb = "HEAD";
    op.method = "HEAD";
    op.full_key = full_key(key);
    op.ok_statuses = {200, 404};
    HttpResponse response = execute(op);
    if (response.status == 404) return std::nullopt;
    ObjectInfo info;
    info.key = key;
    const std::string* length = response.header("content-length");
    info.size = length ? parse_u64(*length).value_or(0) : 0;
    info.etag = response.header("etag") ? *response.header("etag") : "";
    info.last_modified_ms = last_modified_of(response);
    return info;
  } catch (const StoreError& e) {
    if (e.counts_as_failure()) StoreStats::add(stats_->failures);
    throw;
  }
}

}  // namespace ltxvfs::storage
