// Private to S3Store (storage/s3/s3_store*.cpp): one logical request as the calls describe it to
// S3Store::execute, and the mapping of S3's answers to StoreErrorKind. Split out so that the
// get, put, list and delete files share them; nothing outside S3Store includes this.
#pragma once

#include <string>
#include <vector>

#include "storage/body_source.h"
#include "storage/object_store.h"
#include "storage/s3/http_client.h"
#include "storage/s3/s3_store.h"
#include "storage/s3/sigv4.h"

namespace ltxvfs::storage {

// One logical S3 request, retried as a unit.
struct S3Store::Op {
  std::string verb;      // for messages: "PUT", "GET", "LIST", ...
  std::string method;    // HTTP method
  std::string full_key;  // bucket-relative key, "" for bucket-level requests
  sigv4::Params query;
  HttpHeaders headers;                                // sent and signed
  const BodySource* body = nullptr;                   // PUT/POST; null = empty
  const HttpRequest::BodyPieceFn* on_body = nullptr;  // GET: takes the body (HttpRequest::on_body)
  std::vector<long> ok_statuses{200};
  std::string hint_context;  // e.g. "If-None-Match" to explain a 412
  std::string subject;       // what messages name; default: s3://bucket/full_key
};

// The kind of error an S3 answer is: by its error code when it has one, else by its status.
StoreErrorKind s3_error_kind(long status, const std::string& code);

}  // namespace ltxvfs::storage
