// Everything about a store that is not in its URL: where configuration comes from (an injectable
// environment), network behaviour, retries, cancellation, file permissions, logging. Defaults
// are usable as they are.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>

#include "storage/cancellation.h"
#include "storage/s3/credentials.h"
#include "storage/s3/endpoint_health.h"
#include "storage/s3/env.h"
#include "storage/s3/http_client.h"
#include "storage/s3/retry_policy.h"
#include "storage/store_stats.h"

namespace ltxvfs::storage {

struct StoreSettings {
  // Environment variables honoured (S3): AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
  // AWS_SESSION_TOKEN, AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, HOME, AWS_REGION,
  // AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_CA_BUNDLE, HTTPS_PROXY,
  // HTTP_PROXY, NO_PROXY (and their lower-case forms).
  Env env = Env::process();
  // When set, used instead of looking in the environment and credentials file.
  std::optional<Credentials> credentials;
  RetryPolicy retry;
  // S3: when attempts to the endpoint are refused at once because it has stopped answering (see
  // s3/endpoint_health.h); shared by every store of the process on that endpoint.
  SilentEndpointPolicy silent_endpoint;
  HttpOptions http;
  // Warnings (e.g. "TLS verification disabled"). Never receives a secret. Default: stderr.
  LogFn log;
  // File stores: create the root directory when it does not exist (a writer wants this; a reader
  // that must not invent an empty replica sets it to false and gets kNoSuchBucket instead).
  bool create_if_missing = true;
  // File stores: the permission bits of every file the store creates (objects, metadata, its
  // lock file), exactly, whatever the process umask. Directories it creates get the same bits
  // plus execute wherever read is set (0600 → 0700, 0640 → 0750, 0644 → 0755). A writer passes
  // its database file's mode, so a private database gets a private replica. Only 0..0777; S3
  // stores ignore it.
  mode_t file_mode = 0644;
  // When set, cancel() makes every call of the store in flight, and every later one, fail at
  // once with StoreError(kCancelled) (see cancellation.h). Null: calls are never cancelled.
  std::shared_ptr<Cancellation> cancel;
  // Where the store counts its requests and bytes; one is created when null.
  std::shared_ptr<StoreStats> stats;
  // ListObjectsV2 page size (1..1000); smaller only to exercise paging in tests.
  int list_page_size = 1000;

  // The longest one S3 call can take against a store that accepts connections and then says
  // nothing (before answering, or mid-transfer), or does not accept them at all: no attempt
  // starts after retry.max_total, and the last one ends within its connect timeout plus the
  // stall abort (or http.request_timeout_ms, when set and shorter); a second of slack covers the
  // stall detector's one-second granularity. A store that keeps sending or receiving data is not
  // cut off by this (a large object may take longer to move); request_timeout_ms caps that too.
  // Not counted: hashing a PUT body before the first attempt (~1 s per 400 MiB). About 26 s with
  // the defaults (10 s + 5 s + 10 s + 1 s).
  std::chrono::milliseconds silent_store_bound() const;

  // Makes every call return, or throw kUnavailable, within about `budget` even against a silent
  // store, for a short probe ("is the store there, and what does it hold?"): half the budget for
  // starting attempts (retry.max_total), half as the cap of each attempt
  // (http.request_timeout_ms), connect timeout no longer than that. Other settings stay.
  StoreSettings& limit_calls_to(std::chrono::milliseconds budget);
};

}  // namespace ltxvfs::storage
