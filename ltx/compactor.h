// Compaction: N LTX files with contiguous TXIDs become one. The newest copy of each page wins,
// pages above the last file's commit are dropped; min TXID and pre-apply checksum come from the
// first input, max TXID, commit, timestamp and post-apply checksum from the last; WAL fields and
// node id are zero (they describe one source WAL, which a compaction no longer has). If the first
// input is a snapshot, so is the output.
//
// Inputs are streamed side by side (a k-way merge by page number), so memory is one page per
// input, and every input is fully verified (file checksum included) on the way.
//
// A page whose input encoding is already the output's is copied through as stored (its payload
// was just decompressed once, to verify it and to feed the file checksum) instead of being
// compressed again: compression is most of the cost of compacting. The copied payload keeps the
// input's compression (e.g. its zstd level); it decodes to the same page either way.
//
// Encrypted inputs must all belong to one database (Header::database_id), the one
// `options.database_id` names when it is set: the output is sealed for that database. A file of
// another database sealed with the same key (a bucket writer's splice) is refused here, before
// anything is written (kAuthentication). With a key but no database id known (neither
// options.database_id nor an encrypted input: the CLI compacting files written before a key was
// given), the output is written unencrypted, as its inputs were: only the writer knows which
// database id to give a history it starts encrypting (docs/SECURITY.md).
#pragma once

#include <span>
#include <string>

#include "ltx/encoder.h"
#include "ltx/header.h"
#include "ltx/sink.h"
#include "ltx/source.h"

namespace ltxvfs::ltx {

struct CompactResult {
  Header header;
  Trailer trailer;
  std::uint64_t pages_copied = 0;     // frames copied through as stored
  std::uint64_t pages_reencoded = 0;  // pages compressed again (another encoding, or copying off)
};

struct CompactOptions {
  // Copy frames whose encoding is the output's. Off re-encodes every page (tests and benchmarks
  // compare the two; the output decodes to the same pages).
  bool copy_frames = true;
  // Read-ahead memory for all inputs together: the merge holds every input open at once, so a
  // fixed buffer per input would grow with the number of inputs (a group of 232 spooled batches
  // held 16 MiB). Each input gets budget / inputs, between 4 KiB and 256 KiB.
  std::size_t read_buffer_budget = std::size_t{1} << 20;
};

// Throws kTxidGap (naming both files) when inputs are not contiguous, kBadPageSize when page
// sizes differ, kInvalidArgument when `options` asks for checksums that an input lacks,
// kAuthentication when an encrypted input belongs to another database (above), and
// whatever the decoder finds wrong in an input. On exception, discard what `out` received.
CompactResult compact(std::span<const NamedSource> inputs, Sink& out, const EncodeOptions& options,
                      std::string output_name = {}, const CompactOptions& compact_options = {});

}  // namespace ltxvfs::ltx
