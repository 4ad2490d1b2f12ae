// CheckpointGate: SQLite checkpoints without waiting for the builder, except while the builder
// reads the database file.
//
// A checkpoint copies WAL frames into the database file; it never changes the WAL. Building a
// batch of commits reads only the WAL (the newest frame of each page it changed), so a checkpoint
// need not wait for it: SQLite waits for the builder at the WAL restart that follows
// (Replicator::before_wal_overwrite), while the checkpoint's own copying and fsyncs run beside
// the build. Until issue 17 every checkpoint waited for everything queued to be compressed: W9
// (speedtest1-like) spent 240 ms of its 1,300 ms there (bench/RESULTS.md).
//
// What a checkpoint does change is what a read of the database file returns. A full file (the
// first run, a snapshot, a resync) and a page the database grew by without a frame of its own are
// read from there, and must see the database as of the WAL position they are built at. So:
//   - such a read holds the gate (hold()): a checkpoint beginning meanwhile waits for it to end,
//     and it waits for a checkpoint in progress;
//   - a checkpoint records how far into the WAL it may have copied (end_checkpoint()); reading the
//     database file for an earlier position would mix two states, so the builder then builds at
//     the WAL's end instead, or refuses (LtxBuilder, ahead_of()).
//
// Concurrency contract: every method may be called from any thread. begin_checkpoint() waits
// while a hold exists, hold() while a checkpoint is in progress; neither waits for anything else,
// so SQLite's checkpointing thread and the builder cannot deadlock here.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <optional>
#include <utility>

#include "base/mutex.h"
#include "vfs/writer/wal_format.h"

namespace ltxvfs::writer {

class CheckpointGate {
 public:
  // How far checkpoints may have copied: the frames of WAL generation `salts` up to `offset`.
  // No salts: every frame of the current generation (its restart is next, and nothing new is
  // committed to it before that).
  struct Copied {
    std::optional<WalSalts> salts;
    uint64_t offset = UINT64_MAX;
  };

  // The builder reads the database file while one exists.
  class Hold {
   public:
    Hold() = default;  // holds nothing (a builder without a gate)
    explicit Hold(CheckpointGate* gate) : gate_(gate) {}
    Hold(Hold&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    Hold& operator=(Hold&& other) noexcept {
      if (this != &other) {
        reset();
        gate_ = std::exchange(other.gate_, nullptr);
      }
      return *this;
    }
    Hold(const Hold&) = delete;
    ~Hold() { reset(); }
    bool holds() const { return gate_ != nullptr; }
    void reset() {
      if (gate_ != nullptr) std::exchange(gate_, nullptr)->release();
    }

   private:
    CheckpointGate* gate_ = nullptr;
  };

  // SQLite took the checkpoint lock: waits until no build reads the database file.
  void begin_checkpoint() EXCLUDES(mu_);
  // It released it, having copied at most `copied`. Also called, with everything, before a WAL
  // restart, truncation or deletion (copying is over by then), so a build the restart waits for
  // may read the database file.
  void end_checkpoint(const Copied& copied) EXCLUDES(mu_);
  // Everything in the WAL is built: what checkpoints copied is behind the builder.
  void all_built() EXCLUDES(mu_);

  // Waits until no checkpoint is in progress; none begins until the hold is released.
  [[nodiscard]] Hold hold() EXCLUDES(mu_);
  // Whether the database file may hold frames past `offset` of generation `salts`: a read of it
  // is then not the state at that position. Ask under a hold.
  bool ahead_of(const WalSalts& salts, uint64_t offset) const EXCLUDES(mu_);
  bool checkpointing() const EXCLUDES(mu_);

 private:
  void release() EXCLUDES(mu_);

  mutable base::Mutex mu_;
  std::condition_variable cv_;
  bool checkpointing_ GUARDED_BY(mu_) = false;
  int holds_ GUARDED_BY(mu_) = 0;
  std::optional<Copied> copied_ GUARDED_BY(mu_);
};

}  // namespace ltxvfs::writer
