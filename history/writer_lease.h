// WriterLease: makes sure exactly one process writes a replica location, with a lease object
// in the store itself — so it also holds between machines, where a local file lock cannot.
//
// The object is lock_key(layout) ("lock.json" at the store root), as Litestream v0.5 defines it:
//   {"generation":N,"expires_at":"2026-12-01T10:00:03.250Z","owner":"host:pid:random"}
// It is only ever changed with conditional writes, so two contenders can never both win:
//   - absent                                   → PUT If-None-Match:* with generation 1;
//   - present and expired, released, or ours   → PUT If-Match:<its etag> with generation + 1;
//   - present and held by another, unexpired   → not acquired; the attempt describes the holder.
// A conditional write that loses a race (412, or 404 when the object vanished) reads the object
// again and decides anew. Renewal rewrites the same generation with If-Match of our own etag; a
// mismatch means another writer took over (LeaseLost). Release never deletes: it rewrites our
// record with expires_at at the Unix epoch (If-Match again), so it can never clobber the lease of
// a writer that took over meanwhile.
//
// "Ours" is the owner string, unique per WriterLease object: host name, pid and 64 random bits,
// so a new process that got a dead one's pid is not mistaken for it. It also settles the one
// ambiguity of retried writes: when a conditional PUT reached the store but its answer was lost,
// the store's retry fails with 412, and the record read back is ours — adopted, not lost.
//
// Timing is the caller's: acquire once, renew whenever needs_renewal(now) says so (every TTL/3
// by default, so two renewals may fail before the lease runs out), release when done. A holder
// that cannot renew before expires_at() must stop writing: from then on another process may take
// the lease. A renewal after expiry still succeeds when nobody took the lease meanwhile (the
// unchanged etag proves it). Expiry compares wall clocks of different machines; the conditional
// writes of the replica's objects remain the last line of defence against a clock that is far off.
//
// The lease's calls are small: give it a store bounded with StoreSettings::limit_calls_to. To
// release it while closing, use a store that is not cancelled (a cancelled one throws
// kCancelled), or release before cancelling.
//
// Errors: the store's StoreError (kUnavailable: try again later; kCancelled), LeaseLost from
// renew(), and StoreError(kProtocol) when lock.json holds something that is not a lease (never
// overwritten: a person must look). Thread-safe: calls are serialised (a renewal and a release
// from different threads do not interleave).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "base/mutex.h"
#include "storage/object_store.h"
#include "storage/replica_layout.h"

namespace ltxvfs::history {

using WallClock = std::chrono::system_clock;

// The owner string's parts ("host:pid:random"); nullopt when it is not in that form.
struct LeaseOwner {
  std::string host;
  long pid = 0;
};
std::optional<LeaseOwner> parse_lease_owner(std::string_view owner);

// The content of lock.json.
struct LeaseRecord {
  uint64_t generation = 0;
  int64_t expires_at_ms = 0;  // milliseconds since the Unix epoch (0: released)
  std::string owner;

  bool released() const { return expires_at_ms <= 0; }
  bool expired_at(WallClock::time_point now) const;
  // {"generation":N,"expires_at":"<RFC 3339 UTC>","owner":"..."}
  std::string to_json() const;
  // nullopt when `text` is not such an object (a missing field, a wrong type, a bad time).
  static std::optional<LeaseRecord> from_json(std::string_view text);
  // "held by host:123:9f2c… until 2026-12-01T10:00:03.250Z (generation 4)", or
  // "released by host:123:9f2c… (generation 4)".
  std::string describe() const;
};

struct WriterLeaseOptions {
  // How long a lease lasts after each acquisition or renewal.
  std::chrono::milliseconds ttl{30'000};
  // How often needs_renewal() asks for a renewal; zero: ttl / 3.
  std::chrono::milliseconds renew_interval{0};
  // This holder's identity; empty: make_lease_owner().
  std::string owner;
  // The wall clock, for expires_at and for judging others' leases. Empty: system_clock::now.
  std::function<WallClock::time_point()> clock;
  // Asked about another owner's unexpired lease: true when that owner is known to have stopped
  // writing (e.g. the previous writer of the same database on this host, which died without
  // releasing it), so the lease may be taken over at once instead of after its expiry. Empty:
  // never.
  std::function<bool(const LeaseRecord& holder)> holder_is_gone;
};

struct LeaseAttempt {
  bool acquired = false;
  // Acquired: the record we wrote. Otherwise: the holder's record.
  LeaseRecord record;
  // Not acquired: who holds the lease, for messages (LeaseRecord::describe of the holder).
  std::string holder;
};

// renew() found that another writer took the lease over: this process must stop writing.
class LeaseLost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class WriterLease {
 public:
  // `store` must outlive the lease. Nothing is read or written until try_acquire().
  WriterLease(storage::ObjectStore& store, storage::LayoutStyle layout,
              WriterLeaseOptions options = {});
  WriterLease(const WriterLease&) = delete;
  WriterLease& operator=(const WriterLease&) = delete;

  // One attempt to take the lease (a few store requests; it does not wait for a holder's
  // lease to run out). Taking it again while held starts a new generation.
  LeaseAttempt try_acquire();
  // Extends the lease by the TTL from now. Throws LeaseLost (and is no longer held) when another
  // writer took it over; StoreError when the store failed (still held until expires_at(): try
  // again). Throws std::logic_error when not held.
  void renew();
  // Gives the lease up so the next writer need not wait for it to expire. Not held afterwards,
  // whatever happens; a StoreError says the store could not be told (the lease then runs out by
  // itself). Does nothing when not held.
  void release();

  bool held() const;
  // True when held and the last acquisition or renewal began renew_interval ago or more.
  bool needs_renewal(WallClock::time_point now) const;
  // The expiry written in our record (meaningful while held): stop writing after it unless
  // renewed.
  WallClock::time_point expires_at() const;
  uint64_t generation() const;
  const std::string& owner() const { return owner_; }
  // The lease object's key and the store it lives in, for messages.
  const std::string& key() const { return key_; }
  std::string describe() const;

 private:
  WallClock::time_point now() const;
  // Reads lock.json: nullopt when absent. Throws kProtocol for something that is not a lease.
  std::optional<std::pair<LeaseRecord, std::string>> read_locked() REQUIRES(mutex_);
  // PUT of `record` with `conditions`; false when the condition failed (412, or 404 for If-Match).
  bool write_locked(const LeaseRecord& record, const storage::PutOptions& conditions,
                    std::string* etag) REQUIRES(mutex_);
  void adopt_locked(const LeaseRecord& record, std::string etag, WallClock::time_point started)
      REQUIRES(mutex_);

  storage::ObjectStore& store_;
  const std::string key_;
  const std::string owner_;
  const std::chrono::milliseconds ttl_;
  const std::chrono::milliseconds renew_interval_;
  const std::function<WallClock::time_point()> clock_;
  const std::function<bool(const LeaseRecord&)> holder_is_gone_;

  mutable base::Mutex mutex_;
  bool held_ GUARDED_BY(mutex_) = false;
  LeaseRecord record_ GUARDED_BY(mutex_);  // ours, while held
  std::string etag_ GUARDED_BY(mutex_);
  WallClock::time_point renewed_at_ GUARDED_BY(mutex_){};  // when the last successful write began
};

// "host:pid:<16 hex digits>", random per call: unique per holder and per process incarnation.
std::string make_lease_owner();

}  // namespace ltxvfs::history
