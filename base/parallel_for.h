// parallel_for: runs one function over N independent items on up to K threads, for the one-shot
// fan-outs of small store requests (page-index tails at a replica's open and poll, the first
// chunks of a compaction's inputs). Each of them used to start its own threads.
//
// Contract:
//  - fn(i) runs at most once for each i in [0, n), and exactly once for each when nothing throws.
//    Items are handed out in index order (each thread takes the lowest index not yet taken);
//    nothing is promised about the order in which they finish.
//  - At most min(k, n) items run at once: on the caller's thread and on min(k, n) - 1 threads
//    started for the call (named `thread_name`, 15 characters at most) and joined before it
//    returns. k == 0 counts as 1; n == 0 calls nothing and starts no thread. fn must be safe to
//    call from that many threads at once.
//  - The first exception thrown by an fn (the first one recorded) is rethrown on the caller's
//    thread once every thread has stopped. From the moment it is recorded no item starts; the
//    items already running finish, and what they throw is dropped. A thread that cannot be
//    started counts as such an error (std::system_error).
//  - parallel_for returns (or throws) only after every fn call has returned: fn may capture the
//    caller's locals by reference.
//
// It is not a pool: threads live for one call. Long-lived workers fed over time (PageFetcher's
// prefetchers) and pipelines whose caller consumes results while they are produced (restore)
// keep their own threads.
#pragma once

#include <cstddef>
#include <functional>

namespace ltxvfs::base {

void parallel_for(size_t n, unsigned k, const char* thread_name,
                  const std::function<void(size_t)>& fn);

}  // namespace ltxvfs::base
