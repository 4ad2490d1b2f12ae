#include "history/remote_compactor.h"

#include "history/same_transactions.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>

#include "base/posix_file.h"
#include "base/time_spec.h"
#include "history/head_record.h"
#include "history/remote_source.h"
#include "ltx/compactor.h"
#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/sink.h"
#include "storage/body_source.h"

namespace ltxvfs::history {
namespace {

// The decoder reads its source in 256 KiB steps (ltx/sequential_reader.cpp).
constexpr uint64_t kDecoderBuffer = 256u << 10;

// An anonymous file: nothing is left behind whenever the process dies. O_TMPFILE makes it
// nameless from the start; where the filesystem lacks it, mkstemp + unlink leaves a name for an
// instant only.
base::Fd anonymous_temp_file(const std::string& dir_hint) {
  std::string dir = dir_hint;
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
#ifdef O_TMPFILE
  base::Fd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) return fd;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    base::throw_errno("create a temporary file for a compaction in", dir);
  }
#endif
  std::string path = dir + "/ltxvfs-compaction-XXXXXX";
  base::Fd named(::mkstemp(path.data()));
  if (!named) base::throw_errno("create a temporary file for a compaction in", dir);
  ::unlink(path.c_str());
  return named;
}

ltx::EncodeOptions output_options(ltx::OutputFormat format, bool inputs_have_checksums,
                                  const CompactionWork& work) {
  ltx::EncodeOptions o = ltx::EncodeOptions::of(format, work.encryption_key, work.database_id);
  // A checksum cannot be made up for history written without one (Litestream's files).
  if (format == ltx::OutputFormat::kNative) o.checksums = inputs_have_checksums;
  return o;
}

}  // namespace

uint64_t compaction_memory_of(const RemoteFile& input, const CompactionWork& work) {
  return std::min(input.size, work.chunk_bytes + kDecoderBuffer);
}

RemoteCompactor::RemoteCompactor(storage::ObjectStore& store, storage::LayoutStyle layout,
                                 ltx::OutputFormat format, CompactionWork work)
    : store_(store), layout_(layout), format_(format), work_(std::move(work)) {}

void RemoteCompactor::check_existing(const std::string& key, int output_fd) {
  // The key exists: our own earlier upload (its acknowledgement lost, or a run that died before
  // it could list it), or another writer's file.
  const auto existing = store_.head(key);
  bool same = false;
  if (existing) {
    RemoteSource theirs(store_, key, existing->size, work_.chunk_bytes);
    ltx::FdSource ours(output_fd, key);
    same = same_transactions(theirs, ours);
  }
  if (!same) {
    throw HistoryConflict(store_.describe() + "/" + key +
                          " already exists with other transactions: another writer shapes "
                          "this replica's history. Nothing was overwritten; compaction stops "
                          "(make sure one writer owns the replica, then restart it)");
  }
}

WrittenFile RemoteCompactor::write(uint32_t level, const std::vector<RemoteFile>& inputs,
                                   int64_t now_ms) {
  if (inputs.empty()) throw std::invalid_argument("RemoteCompactor::write: no inputs");
  WrittenFile result;
  const std::string key =
      storage::ltx_key(layout_, level, inputs.front().min_txid, inputs.back().max_txid);

  std::vector<std::unique_ptr<RemoteSource>> sources;
  std::vector<RemoteSource*> small;
  for (const auto& f : inputs) {
    sources.push_back(std::make_unique<RemoteSource>(store_, f.key, f.size, work_.chunk_bytes,
                                                     work_.stop_requested));
    if (f.size <= work_.chunk_bytes) small.push_back(sources.back().get());
  }
  // Many small inputs (a level-1 compaction of level-0 files) would otherwise cost one round
  // trip each, one after another.
  prefetch_all(small, work_.prefetch_threads);
  bool checksums = true;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<uint8_t> head(ltx::kHeaderSize);
    sources[i]->read_at(0, head);
    checksums = checksums && ltx::Header::decode(head, inputs[i].key).has_checksums();
  }
  std::vector<ltx::NamedSource> named;
  for (size_t i = 0; i < inputs.size(); ++i) named.push_back({sources[i].get(), inputs[i].key});

  base::Fd fd = anonymous_temp_file(work_.temp_dir);
  ltx::FdSink file(fd.get(), "temporary file for " + key);
  ltx::BufferedSink sink(file);
  const ltx::CompactResult r =
      ltx::compact(named, sink, output_options(format_, checksums, work_), key);
  sink.flush();
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) base::throw_errno("stat the temporary file for", key);
  const auto size = static_cast<uint64_t>(st.st_size);
  for (const auto& s : sources) {
    result.bytes_read += s->stats().bytes;
    result.gets += s->stats().gets;
  }
  sources.clear();  // free the inputs' buffers before uploading
  if (work_.stop_requested && work_.stop_requested()) {
    throw WorkStopped("stopped before uploading " + key + " (asked to stop)");
  }

  storage::PutOptions put;
  put.if_none_match = true;
  put.metadata["litestream-timestamp"] = base::format_rfc3339_ms(r.header.timestamp_ms);
  const storage::FileRangeBody body(fd.get(), 0, size, "compacted " + key);
  if (work_.confirm_owner) work_.confirm_owner();
  try {
    store_.put_body(key, body, put);
  } catch (const storage::StoreError& e) {
    if (e.kind() != storage::StoreErrorKind::kPreconditionFailed) throw;
    check_existing(key, fd.get());
    result.already_there = true;
  }
  result.header = r.header;
  result.pages_copied = r.pages_copied;
  result.pages_reencoded = r.pages_reencoded;
  result.file = RemoteFile{level, r.header.min_txid, r.header.max_txid, key, size, now_ms};
  // The store holds these bytes: where their page index, page 1 and roots are, hints for replicas.
  if (!result.already_there && work_.written) {
    result.hints =
        index_hints_of(body, work_.hinted_pages ? work_.hinted_pages() : std::vector<uint32_t>{});
    work_.written(result);
  }
  return result;
}

}  // namespace ltxvfs::history
