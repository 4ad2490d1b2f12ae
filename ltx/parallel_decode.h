// decode_file on several threads, for one large file: a snapshot of a big database, which a
// restore streams (history/restorer.cpp). One thread decoded it at 270-500 MB/s of objects while
// the link brought more, and a restore of one 65 MiB snapshot took 1.9-2.2x its raw download on
// s3rver at 64 MiB/s per connection (bench/RESULTS.md).
//
// The calling thread walks the file (Decoder::next_stored: every check of each frame's header,
// page number and length) and copies its frames in batches of ~1 MiB; `threads` others
// decompress, hash and write them. The file checksum is the batches' CRCs combined in file order
// (Crc64::append), a snapshot's post-apply checksum the XOR of its page checksums. An encrypted
// file's frames are opened by the walking thread (AES-GCM, ~1/5 of zstd's time), which feeds
// the file MAC in order, and decompressed by the others.
//
// `writer` takes writes from the worker threads at once: each page once, runs in any order
// (RestoreOutput::FileWriter). Otherwise decode_file's contract holds (decoded_file.h), errors
// included: the first failure in file order is the one thrown, as decode_file throws it. Holds
// at most 2 x `threads` batches.
#pragma once

#include <string>

#include "ltx/decoded_file.h"

namespace ltxvfs::ltx {

DecodedFile decode_file_parallel(const Source& source, std::string name, unsigned threads,
                                 PageWriter& writer);

}  // namespace ltxvfs::ltx
