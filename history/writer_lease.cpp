#include "history/writer_lease.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "base/time_util.h"

namespace ltxvfs::history {
namespace {

// Rounds of read-decide-write before try_acquire gives up on a lease that keeps changing.
constexpr int kAcquireRounds = 4;
// Rounds of renew() while the record read back after a failed write is still ours.
constexpr int kRenewRounds = 3;

int64_t to_ms(WallClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

WallClock::time_point from_ms(int64_t ms) {
  return WallClock::time_point(
      std::chrono::duration_cast<WallClock::duration>(std::chrono::milliseconds(ms)));
}

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

bool LeaseRecord::expired_at(WallClock::time_point now) const {
  return expires_at_ms <= to_ms(now);
}

std::string LeaseRecord::to_json() const {
  // Ordered as Litestream writes it; readers do not depend on the order.
  nlohmann::ordered_json j;
  j["generation"] = generation;
  j["expires_at"] = base::format_rfc3339_ms(std::max<int64_t>(0, expires_at_ms));
  j["owner"] = owner;
  return j.dump();
}

std::optional<LeaseRecord> LeaseRecord::from_json(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  const auto generation = j.find("generation");
  const auto expires_at = j.find("expires_at");
  const auto owner = j.find("owner");
  if (generation == j.end() || !generation->is_number_integer() || *generation < 0 ||
      expires_at == j.end() || !expires_at->is_string() || owner == j.end() ||
      !owner->is_string()) {
    return std::nullopt;
  }
  const auto ms = base::parse_rfc3339_ms(expires_at->get<std::string>());
  if (!ms) return std::nullopt;
  LeaseRecord record;
  record.generation = generation->get<uint64_t>();
  record.expires_at_ms = std::max<int64_t>(0, *ms);  // Go's zero time (year 1) is "released" too
  record.owner = owner->get<std::string>();
  return record;
}

std::string LeaseRecord::describe() const {
  const std::string gen = " (generation " + std::to_string(generation) + ")";
  if (released()) return "released by " + owner + gen;
  return "held by " + owner + " until " + base::format_rfc3339_ms(expires_at_ms) + gen;
}

std::chrono::milliseconds holder_ttl(const LeaseRecord& record, int64_t last_modified_ms,
                                     std::chrono::milliseconds min_ttl) {
  // expires_at - LastModified mixes the holder's clock with the store's, so it only ever
  // lengthens the TTL we assume, within kMaxHolderTtl.
  if (last_modified_ms <= 0 || record.expires_at_ms <= last_modified_ms) return min_ttl;
  return std::clamp(std::chrono::milliseconds(record.expires_at_ms - last_modified_ms), min_ttl,
                    std::max(min_ttl, kMaxHolderTtl));
}

std::optional<bool> expired_by_store_clock(const LeaseRecord& record, int64_t last_modified_ms,
                                           int64_t store_time_ms,
                                           std::chrono::milliseconds min_ttl) {
  if (record.released()) return true;
  if (store_time_ms <= 0 || last_modified_ms <= 0) return std::nullopt;
  const auto age = std::chrono::milliseconds(store_time_ms - last_modified_ms);
  return age >= holder_ttl(record, last_modified_ms, min_ttl) + kStoreClockResolution;
}

std::optional<LeaseOwner> parse_lease_owner(std::string_view owner) {
  // The host may itself contain ':' (an IPv6 literal): pid and random part are the last two.
  const auto last = owner.rfind(':');
  if (last == std::string_view::npos || last == 0) return std::nullopt;
  const auto middle = owner.rfind(':', last - 1);
  if (middle == std::string_view::npos || middle == 0) return std::nullopt;
  const std::string_view pid = owner.substr(middle + 1, last - middle - 1);
  if (pid.empty() || pid.size() > 9 ||
      pid.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  return LeaseOwner{std::string(owner.substr(0, middle)), std::stol(std::string(pid))};
}

std::string make_lease_owner() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof host, "unknown-host");
  }
  std::random_device rd;
  const uint64_t r = (static_cast<uint64_t>(rd()) << 32) | rd();
  char buf[320];
  std::snprintf(buf, sizeof buf, "%s:%d:%016llx", host, static_cast<int>(::getpid()),
                static_cast<unsigned long long>(r));
  return buf;
}

WriterLease::WriterLease(storage::ObjectStore& store, storage::LayoutStyle layout,
                         WriterLeaseOptions options)
    : store_(store),
      key_(storage::lock_key(layout)),
      owner_(options.owner.empty() ? make_lease_owner() : options.owner),
      ttl_(options.ttl),
      renew_interval_(options.renew_interval.count() > 0 ? options.renew_interval
                                                         : options.ttl / 3),
      clock_(options.clock ? options.clock : [] { return WallClock::now(); }),
      steady_(options.steady ? options.steady : [] { return SteadyClock::now(); }),
      holder_is_gone_(std::move(options.holder_is_gone)),
      record_ttl_(options.ttl),
      written_ttl_(options.ttl) {
  if (ttl_.count() <= 0) {
    throw storage::StoreError(storage::StoreErrorKind::kInvalidArgument,
                              describe() + ": the lease TTL must be positive");
  }
}

WallClock::time_point WriterLease::now() const {
  return clock_();
}

SteadyClock::time_point WriterLease::steady_now() const {
  return steady_();
}

std::string WriterLease::describe() const {
  return "lease " + store_.describe() + "/" + key_;
}

bool WriterLease::held() const {
  base::MutexLock lock(mutex_);
  return held_;
}

void WriterLease::set_record_ttl(std::chrono::milliseconds ttl) {
  base::MutexLock lock(mutex_);
  record_ttl_ = std::max(ttl, ttl_);
}

std::chrono::milliseconds WriterLease::written_ttl() const {
  base::MutexLock lock(mutex_);
  return written_ttl_;
}

SteadyClock::time_point WriterLease::renewed_at() const {
  base::MutexLock lock(mutex_);
  return renewed_at_;
}

bool WriterLease::needs_renewal() const {
  base::MutexLock lock(mutex_);
  return held_ && steady_now() - renewed_at_ >= renew_interval_;
}

SteadyClock::time_point WriterLease::valid_until() const {
  base::MutexLock lock(mutex_);
  return renewed_at_ + ttl_;
}

WallClock::time_point WriterLease::expires_at() const {
  base::MutexLock lock(mutex_);
  return from_ms(record_.expires_at_ms);
}

uint64_t WriterLease::generation() const {
  base::MutexLock lock(mutex_);
  return record_.generation;
}

std::optional<WriterLease::Observed> WriterLease::read_locked() {
  storage::GetResult got;
  try {
    got = store_.get(key_);
  } catch (const storage::StoreError& e) {
    if (e.kind() == storage::StoreErrorKind::kNotFound) return std::nullopt;
    throw;
  }
  const std::string text(got.body.begin(), got.body.end());
  auto record = LeaseRecord::from_json(text);
  if (!record) {
    throw storage::StoreError(
        storage::StoreErrorKind::kProtocol,
        describe() + ": the object is not a lease record (expected " +
            "{\"generation\":N,\"expires_at\":\"RFC 3339\",\"owner\":\"...\"}, " + "found " +
            std::to_string(text.size()) + " bytes) — another program wrote it. `ltxvfs lease " +
            store_.describe() + "` shows it; if no writer uses this replica, `ltxvfs lease " +
            store_.describe() + " --break` replaces it by a released lease");
  }
  return Observed{std::move(*record), std::move(got.etag), got.last_modified_ms, got.store_time_ms};
}

bool WriterLease::holder_expired_locked(const Observed& theirs) {
  if (const auto by_store = expired_by_store_clock(theirs.record, theirs.last_modified_ms,
                                                   theirs.store_time_ms, ttl_)) {
    return *by_store;
  }
  // No time from the store: watch the record on our own clock. Any change restarts the count.
  const auto steady = steady_now();
  if (theirs.etag.empty() || theirs.etag != watched_etag_) {
    watched_etag_ = theirs.etag;
    watched_since_ = steady;
    return false;
  }
  return steady - watched_since_ >= holder_ttl(theirs.record, theirs.last_modified_ms, ttl_);
}

bool WriterLease::write_locked(const LeaseRecord& record, const storage::PutOptions& conditions,
                               std::string* etag) {
  storage::PutResult result;
  // Not durable (a directory store fsyncs nothing for it): the head fences every upload and the
  // history confirms the lease with a conditional write before each of its writes and deletes,
  // so a lease write lost to a power failure of the store's machine costs a takeover or a
  // confirmation that fails, never a forked or deleted history (docs/HISTORY.md).
  storage::PutOptions put = conditions;
  put.durable = false;
  try {
    result = store_.put(key_, bytes_of(record.to_json()), put);
  } catch (const storage::StoreError& e) {
    if (e.kind() == storage::StoreErrorKind::kPreconditionFailed) return false;
    // If-Match on an object that was deleted meanwhile: the condition failed, too.
    if (e.kind() == storage::StoreErrorKind::kNotFound && conditions.if_match) return false;
    throw;
  }
  *etag = result.etag;
  if (etag->empty()) {
    // Without an etag the lease cannot be renewed conditionally. Read it back, and only take
    // it when the record there is the one just written (someone may have replaced it since).
    auto current = read_locked();
    if (!current || current->record.owner != record.owner ||
        current->record.generation != record.generation ||
        current->record.expires_at_ms != record.expires_at_ms || current->etag.empty()) {
      throw storage::StoreError(
          storage::StoreErrorKind::kProtocol,
          describe() + ": the store returned no ETag for the lease, which needs " +
              "conditional writes (If-Match) — use a store that supports them");
    }
    *etag = current->etag;
  }
  return true;
}

void WriterLease::adopt_locked(const LeaseRecord& record, std::string etag,
                               SteadyClock::time_point started) {
  held_ = true;
  record_ = record;
  etag_ = std::move(etag);
  written_ttl_ = record_ttl_;
  // The lease runs from when the write began (the store may have applied it any time after).
  renewed_at_ = started;
}

LeaseAttempt WriterLease::try_acquire() {
  base::MutexLock lock(mutex_);
  LeaseAttempt attempt;
  for (int round = 0; round < kAcquireRounds; ++round) {
    const auto current = read_locked();
    const auto started = steady_now();
    LeaseRecord mine{1, to_ms(now() + record_ttl_), owner_};
    storage::PutOptions conditions;
    if (!current) {
      conditions.if_none_match = true;
    } else {
      const LeaseRecord& theirs = current->record;
      if (theirs.owner != owner_ && !theirs.released() &&
          !(holder_is_gone_ && holder_is_gone_(theirs)) && !holder_expired_locked(*current)) {
        held_ = false;
        attempt.record = theirs;
        attempt.holder = theirs.describe();
        return attempt;
      }
      mine.generation = theirs.generation + 1;
      conditions.if_match = current->etag;
    }
    std::string etag;
    if (write_locked(mine, conditions, &etag)) {
      adopt_locked(mine, std::move(etag), started);
      attempt.acquired = true;
      attempt.record = mine;
      return attempt;
    }
    // Lost a race (or our own write landed and its answer was lost): read again and decide.
  }
  held_ = false;
  const auto current = read_locked();
  if (current) attempt.record = current->record;
  attempt.holder = (current ? current->record.describe() : std::string("absent")) +
                   "; it changed under every attempt to take it — another writer is contending";
  return attempt;
}

void WriterLease::renew() {
  base::MutexLock lock(mutex_);
  if (!held_) throw std::logic_error(describe() + ": renew() of a lease that is not held");
  for (int round = 0; round < kRenewRounds; ++round) {
    const auto started = steady_now();
    LeaseRecord mine = record_;
    mine.expires_at_ms = to_ms(now() + record_ttl_);
    storage::PutOptions conditions;
    conditions.if_match = etag_;
    std::string etag;
    if (write_locked(mine, conditions, &etag)) {
      adopt_locked(mine, std::move(etag), started);
      return;
    }
    // Someone replaced the record — or an earlier write of ours landed after its answer was
    // lost. Only the record itself tells which. (A StoreError here leaves the lease held.)
    const auto current = read_locked();
    if (!current || current->record.owner != owner_ ||
        current->record.generation != record_.generation || current->record.released()) {
      held_ = false;
      throw LeaseLost(
          describe() + ": another writer took the lease over (" +
          (current ? current->record.describe() : std::string("the object was deleted")) +
          "; ours was generation " + std::to_string(record_.generation) + ", " + owner_ +
          ") — this process must stop writing the replica");
    }
    // Ours: go on from its etag, so the expiry written is a fresh one.
    record_ = current->record;
    etag_ = current->etag;
  }
  throw storage::StoreError(storage::StoreErrorKind::kProtocol,
                            describe() +
                                ": the lease changed under every renewal although it stays ours "
                                "— the store's conditional writes look unreliable");
}

void WriterLease::release() {
  base::MutexLock lock(mutex_);
  if (!held_) return;
  held_ = false;
  LeaseRecord released = record_;
  released.expires_at_ms = 0;
  storage::PutOptions conditions;
  conditions.if_match = etag_;
  std::string etag;
  // A failed condition means another writer holds it now (or our release already landed):
  // either way there is nothing of ours left to give up.
  write_locked(released, conditions, &etag);
}

std::string break_lease(storage::ObjectStore& store, storage::LayoutStyle layout,
                        const std::string& breaker) {
  const std::string key = storage::lock_key(layout);
  storage::GetResult got;
  try {
    got = store.get(key);
  } catch (const storage::StoreError& e) {
    if (e.kind() == storage::StoreErrorKind::kNotFound) return "absent";
    throw;
  }
  const auto theirs = LeaseRecord::from_json(
      std::string_view(reinterpret_cast<const char*>(got.body.data()), got.body.size()));
  LeaseRecord released{theirs ? theirs->generation + 1 : 1, 0, breaker};
  storage::PutOptions conditions;
  conditions.if_match = got.etag;
  store.put(key, bytes_of(released.to_json()), conditions);
  return theirs ? theirs->describe()
                : "an object that is not a lease (" + std::to_string(got.body.size()) + " bytes)";
}

}  // namespace ltxvfs::history
