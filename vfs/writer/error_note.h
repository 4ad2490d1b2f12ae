// ErrorNote: the writer's newest store or build error, as ltx_stats() shows it ("last_error").
// Every stage notes its failures; a successful upload clears it (the pipeline works again).
// Thread-safe; output only: no stage decides anything from it.
#pragma once

#include <string>

#include "base/mutex.h"

namespace ltxvfs::writer {

class ErrorNote {
 public:
  // Returns whether it differs from the previous note (log only what changed).
  bool set(const std::string& error) EXCLUDES(mu_) {
    base::MutexLock lock(mu_);
    if (error_ == error) return false;
    error_ = error;
    return true;
  }
  void clear() EXCLUDES(mu_) {
    base::MutexLock lock(mu_);
    error_.clear();
  }
  std::string get() const EXCLUDES(mu_) {
    base::MutexLock lock(mu_);
    return error_;
  }

 private:
  mutable base::Mutex mu_;
  std::string error_ GUARDED_BY(mu_);
};

}  // namespace ltxvfs::writer
