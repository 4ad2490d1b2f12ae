// What a writer tells replicas about an LTX file it has just PUT, read from the file itself:
// where its page index starts, where page 1 ends, the roots page 1's schema names and where the
// file holds them. The head keeps them (history/head_record.h: tails, page1, roots), and a
// replica's open reads exactly those bytes (issue 17).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "ltx/index_directory.h"
#include "storage/body_source.h"

namespace ltxvfs::history {

// How many schema roots a file's hints name (HeadRecord::kMaxRoots).
inline constexpr size_t kMaxSchemaRootHints = 16;

// A file whose page index is longer than this gets a directory in the head (ltx/index_directory.h),
// one mark every kIndexPartBytes of index: ~1.5 KiB of JSON for a 1 GiB snapshot's ~2 MiB index.
// Below it a replica reads the whole index at its open, as one part would cost about as much.
inline constexpr uint64_t kIndexDirectoryFrom = 128 * 1024;
inline constexpr uint64_t kIndexPartBytes = 64 * 1024;
// At most this many marks: the head is rewritten with every upload, so a 100 GB database's
// ~200 MiB index gets 1.6 MiB parts rather than a 100 KB head (128 marks: ~4 KiB of JSON).
inline constexpr uint64_t kMaxIndexMarks = 128;

// One frame of an LTX file, as its page index locates it.
struct FrameAt {
  uint32_t pgno = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  bool operator==(const FrameAt&) const = default;
};

// What a writer that has just PUT an LTX file tells replicas about it.
struct IndexHints {
  uint64_t tail_bytes = 0;  // TailHint::tail_bytes
  uint64_t page1_end = 0;   // where page 1's frame ends when it is the file's first; 0: no page 1
  // The roots page 1's schema names (ltx::schema_roots, at most kMaxSchemaRootHints) when the
  // file holds page 1 and it decodes; nullopt otherwise.
  std::optional<std::vector<uint32_t>> schema_roots;
  // Where the file holds the pages index_hints_of was asked for and those roots, by page number.
  std::vector<FrameAt> frames;
  // The index's directory when its varints are longer than kIndexDirectoryFrom; else empty.
  std::vector<ltx::IndexMark> directory;

  // Whether a head has anything to record of them.
  bool says_something() const { return tail_bytes != 0 || page1_end != 0 || !frames.empty(); }
};

// The IndexHints of the LTX file `body`, read from its last bytes (ltx::index_tail_bytes), its
// page index and page 1's frame; `wanted`: pages whose frames to report besides the roots its
// own page 1 names (the head's current roots). Zeros and empties for what cannot be read or is no
// LTX: a hint is not worth failing an upload for. An encrypted page 1 is opened with the
// process's registered keys (ltx/encryption_key.h); without its key there is no schema hint. The
// directory is made when the index's varints are longer than `directory_from`, a mark every
// `part_bytes` (or farther apart: at most kMaxIndexMarks).
IndexHints index_hints_of(const storage::BodySource& body, std::span<const uint32_t> wanted = {},
                          uint64_t directory_from = kIndexDirectoryFrom,
                          uint64_t part_bytes = kIndexPartBytes);

}  // namespace ltxvfs::history
