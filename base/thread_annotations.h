// Clang's thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html), as
// LevelDB and Abseil spell them. Under clang with -Wthread-safety the compiler checks that every
// member marked GUARDED_BY(mu) is touched only with mu held, and that functions marked
// REQUIRES(mu) / EXCLUDES(mu) are called accordingly; CI runs that check
// (scripts/check-thread-safety.sh). Under other compilers the macros expand to nothing.
#pragma once

#if defined(__clang__)
#define LTX_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define LTX_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) LTX_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY LTX_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) LTX_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) LTX_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRE(...) LTX_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) LTX_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) LTX_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define REQUIRES(...) LTX_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) LTX_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ACQUIRED_BEFORE(...) LTX_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define RETURN_CAPABILITY(x) LTX_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS LTX_THREAD_ANNOTATION(no_thread_safety_analysis)
