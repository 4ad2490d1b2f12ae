#include "vfs/writer/checkpoint_gate.h"

#include <algorithm>

namespace ltxvfs::writer {

void CheckpointGate::begin_checkpoint() {
  base::MutexLock lock(mu_);
  lock.wait(cv_, [&]() REQUIRES(mu_) { return holds_ == 0; });
  checkpointing_ = true;
}

void CheckpointGate::end_checkpoint(const Copied& copied) {
  base::MutexLock lock(mu_);
  checkpointing_ = false;
  // A claim on another generation replaces the older one: a generation starts only after
  // everything before it was built, so the older claim is behind the builder.
  if (copied_ && copied_->salts && copied.salts && *copied_->salts == *copied.salts) {
    copied_->offset = std::max(copied_->offset, copied.offset);
  } else {
    copied_ = copied;
  }
  cv_.notify_all();
}

void CheckpointGate::all_built() {
  base::MutexLock lock(mu_);
  if (!checkpointing_) copied_.reset();
}

CheckpointGate::Hold CheckpointGate::hold() {
  base::MutexLock lock(mu_);
  lock.wait(cv_, [&]() REQUIRES(mu_) { return !checkpointing_; });
  ++holds_;
  return Hold(this);
}

void CheckpointGate::release() {
  base::MutexLock lock(mu_);
  if (--holds_ == 0) cv_.notify_all();
}

bool CheckpointGate::ahead_of(const WalSalts& salts, uint64_t offset) const {
  base::MutexLock lock(mu_);
  if (!copied_) return false;
  if (copied_->salts && *copied_->salts != salts) return false;  // another generation's frames
  return copied_->offset > offset;
}

bool CheckpointGate::checkpointing() const {
  base::MutexLock lock(mu_);
  return checkpointing_;
}

}  // namespace ltxvfs::writer
