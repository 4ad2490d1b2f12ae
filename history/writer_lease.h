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
// Expiry never compares two hosts' wall clocks (issue 16: a taker whose clock ran 45 s ahead
// took a live writer's lease at once). Another holder's lease has expired when the record is
// older than its TTL by the store's own clock — the store's time when it answered the read minus
// the object's LastModified, plus a second for their whole-second resolution on S3 — or, on a
// store that reports no time, when the taker has seen the same record (etag) unchanged for the
// TTL on its own monotonic clock. The holder's TTL is read from the record as expires_at minus
// LastModified, at least our own TTL and at most kMaxHolderTtl (a lease "until year 9999"
// does not block a replica for ever). expires_at itself is written for Litestream and for people;
// the holder judges its own lease on its monotonic clock: valid for the TTL from when its last
// write began (the store applied it later, so a taker's count starts later still). This rests on
// clock rates, not offsets; a holder too slow to act on its own expiry (paused, swapped out) is
// stopped by the conditional writes it must make before it writes history (history/
// remote_compactor.h CompactionWork::confirm_owner).
//
// Its writes are not durable (PutOptions::durable false: a directory store fsyncs nothing for
// them). The head fences uploads and confirm_owner's conditional write fences the history's, so a
// lease write lost to a power failure of the store's machine makes a condition fail or a taker
// come sooner, never a fork (docs/HISTORY.md).
//
// "Ours" is the owner string, unique per WriterLease object: host name, pid and 64 random bits,
// so a new process that got a dead one's pid is not mistaken for it. It also settles the one
// ambiguity of retried writes: when a conditional PUT reached the store but its answer was lost,
// the store's retry fails with 412, and the record read back is ours — adopted, not lost.
//
// Timing is the caller's: acquire once, renew whenever needs_renewal() says so (every TTL/3 by
// default, so two renewals may fail before the lease runs out), release when done. A holder that
// cannot renew before valid_until() must stop writing: from then on another process may take the
// lease. A renewal after that still succeeds when nobody took the lease meanwhile (the unchanged
// etag proves it).
//
// An idle holder may advertise a longer TTL than the one it acts on (set_record_ttl; issue 18:
// a writer with no commit for a minute renews every 150 s with a 5-minute record instead of every
// 10 s). The record's expires_at then says the longer TTL, and takers honour it as above (within
// kMaxHolderTtl); the holder's own validity stays the TTL from its last write. It cannot rely on
// more: a taker reads the record's TTL as expires_at - LastModified, which mixes the holder's wall
// clock with the store's, so a holder whose clock runs behind the store's by d is believed to
// have asked for d less — never for less than the taker's own TTL, which is why the holder acts
// on that one. The longer record only makes takers wait longer; it is never what keeps two
// writers apart.
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
using SteadyClock = std::chrono::steady_clock;

// The TTL of a writer's lease unless configured otherwise.
inline constexpr std::chrono::milliseconds kDefaultTtl{30'000};
// The longest TTL a holder's record is believed to ask for (see the header comment).
inline constexpr std::chrono::milliseconds kMaxHolderTtl{600'000};
// What the store's two times (LastModified, and the time of its answer) may each be rounded
// down by: S3 gives both in whole seconds.
inline constexpr std::chrono::milliseconds kStoreClockResolution{1'000};

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
  std::chrono::milliseconds ttl = kDefaultTtl;
  // How often needs_renewal() asks for a renewal; zero: ttl / 3.
  std::chrono::milliseconds renew_interval{0};
  // This holder's identity; empty: make_lease_owner().
  std::string owner;
  // The wall clock, for the expires_at written. Empty: system_clock::now.
  std::function<WallClock::time_point()> clock;
  // The monotonic clock, for our own lease's validity and for watching another holder's record
  // on a store that reports no time. Empty: steady_clock::now.
  std::function<SteadyClock::time_point()> steady;
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

  // The TTL written into the record (expires_at) by the next acquisitions and renewals, at
  // least the TTL (zero: the TTL itself). The holder's own validity stays the TTL (see the
  // header comment): a longer record only makes takers wait longer.
  void set_record_ttl(std::chrono::milliseconds ttl);
  // What the newest write of the record asked for (the TTL or a longer record TTL).
  std::chrono::milliseconds written_ttl() const;

  bool held() const;
  // True when held and the last acquisition or renewal began renew_interval ago or more.
  bool needs_renewal() const;
  // When our newest acquisition or renewal began (meaningful while held).
  SteadyClock::time_point renewed_at() const;
  std::chrono::milliseconds ttl() const { return ttl_; }
  // When our lease runs out by our monotonic clock (meaningful while held): stop writing then
  // unless renewed.
  SteadyClock::time_point valid_until() const;
  // The expiry written in our record (for people and Litestream; decisions use valid_until()).
  WallClock::time_point expires_at() const;
  uint64_t generation() const;
  const std::string& owner() const { return owner_; }
  // The lease object's key and the store it lives in, for messages.
  const std::string& key() const { return key_; }
  std::string describe() const;

 private:
  // lock.json as read: the record, its etag and the store's times (0: not reported).
  struct Observed {
    LeaseRecord record;
    std::string etag;
    int64_t last_modified_ms = 0;
    int64_t store_time_ms = 0;
  };

  WallClock::time_point now() const;
  SteadyClock::time_point steady_now() const;
  // Reads lock.json: nullopt when absent. Throws kProtocol for something that is not a lease.
  std::optional<Observed> read_locked() REQUIRES(mutex_);
  // Another owner's unreleased lease: has it run out? (See the header comment.)
  bool holder_expired_locked(const Observed& theirs) REQUIRES(mutex_);
  // PUT of `record` with `conditions`; false when the condition failed (412, or 404 for If-Match).
  bool write_locked(const LeaseRecord& record, const storage::PutOptions& conditions,
                    std::string* etag) REQUIRES(mutex_);
  void adopt_locked(const LeaseRecord& record, std::string etag, SteadyClock::time_point started)
      REQUIRES(mutex_);

  storage::ObjectStore& store_;
  const std::string key_;
  const std::string owner_;
  const std::chrono::milliseconds ttl_;
  const std::chrono::milliseconds renew_interval_;
  const std::function<WallClock::time_point()> clock_;
  const std::function<SteadyClock::time_point()> steady_;
  const std::function<bool(const LeaseRecord&)> holder_is_gone_;

  mutable base::Mutex mutex_;
  bool held_ GUARDED_BY(mutex_) = false;
  LeaseRecord record_ GUARDED_BY(mutex_);  // ours, while held
  std::string etag_ GUARDED_BY(mutex_);
  SteadyClock::time_point renewed_at_ GUARDED_BY(mutex_){};   // when our last good write began
  std::chrono::milliseconds record_ttl_ GUARDED_BY(mutex_);   // what the next write asks for
  std::chrono::milliseconds written_ttl_ GUARDED_BY(mutex_);  // what record_ asks for
  // Another holder's record being watched (stores without times): its etag, and since when.
  std::string watched_etag_ GUARDED_BY(mutex_);
  SteadyClock::time_point watched_since_ GUARDED_BY(mutex_){};
};

// The TTL another holder's record asks for, judged without its clock: expires_at minus the
// store's LastModified, at least `min_ttl` (ours) and at most kMaxHolderTtl.
std::chrono::milliseconds holder_ttl(const LeaseRecord& record, int64_t last_modified_ms,
                                     std::chrono::milliseconds min_ttl);
// Whether a lease record read from the store has run out, by the store's clock alone (its answer's
// time minus the object's LastModified, against holder_ttl): nullopt when the store reported no
// time (then only watching the record for a TTL tells). A released record has run out.
std::optional<bool> expired_by_store_clock(const LeaseRecord& record, int64_t last_modified_ms,
                                           int64_t store_time_ms,
                                           std::chrono::milliseconds min_ttl);

// What `ltxvfs lease --break` does: replaces lock.json — a lease, released or not, or an object
// that is not one — by a released record of generation + 1 owned by `breaker`, with If-Match of
// the etag read, so a holder's renewal after it fails (LeaseLost) and the next writer takes the
// lease at once. Returns the replaced record's description ("absent": nothing written). Throws
// StoreError (kPreconditionFailed: lock.json changed meanwhile; look again).
std::string break_lease(storage::ObjectStore& store, storage::LayoutStyle layout,
                        const std::string& breaker);

// "host:pid:<16 hex digits>", random per call: unique per holder and per process incarnation.
std::string make_lease_owner();

}  // namespace ltxvfs::history
