#include "ltx/compactor.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

#include "ltx/decoder.h"
#include "ltx/encryption_key.h"
#include "ltx/error.h"

namespace ltxvfs::ltx {
namespace {

std::string describe_range(const Decoder& d) {
  return d.name() + " (TXID " + std::to_string(d.header().min_txid) + ".." +
         std::to_string(d.header().max_txid) + ")";
}

void check_inputs(const std::vector<std::unique_ptr<Decoder>>& decoders,
                  const EncodeOptions& options, const std::string& output_name) {
  for (std::size_t i = 0; i < decoders.size(); ++i) {
    const Header& h = decoders[i]->header();
    if (options.checksums && !h.has_checksums()) {
      throw LtxError(LtxErrorKind::kInvalidArgument, output_name,
                     "cannot write checksums: input " + decoders[i]->name() +
                         " was written without them (NoChecksum)");
    }
    if (i == 0) continue;
    const Header& prev = decoders[i - 1]->header();
    if (h.page_size != prev.page_size) {
      throw LtxError(LtxErrorKind::kBadPageSize, output_name,
                     "inputs have different page sizes: " + decoders[i - 1]->name() + " has " +
                         std::to_string(prev.page_size) + ", " + decoders[i]->name() + " has " +
                         std::to_string(h.page_size));
    }
    if (h.min_txid != prev.max_txid + 1) {
      throw LtxError(LtxErrorKind::kTxidGap, output_name,
                     "inputs are not contiguous: " + describe_range(*decoders[i - 1]) +
                         " is followed by " + describe_range(*decoders[i]) + ", expected TXID " +
                         std::to_string(prev.max_txid + 1));
    }
  }
}

// The database the output belongs to (compactor.h): the caller's, which every encrypted input
// must share, or else the one the encrypted inputs share; 0 when none is known.
std::uint64_t database_of(const std::vector<std::unique_ptr<Decoder>>& decoders,
                          std::uint64_t expected, const std::string& output_name) {
  std::uint64_t id = expected;
  for (const auto& d : decoders) {
    const Header& h = d->header();
    if (!h.is_encrypted()) continue;
    if (id == 0) id = h.database_id;
    if (h.database_id != id) {
      throw LtxError(LtxErrorKind::kAuthentication, output_name,
                     "input " + d->name() + " belongs to database " +
                         database_id_hex(h.database_id) + ", not " + database_id_hex(id) +
                         " (this history's): a file of another database sealed with the same "
                         "key was put among this one's; delete it, or restore to before it");
    }
  }
  return id;
}

}  // namespace

CompactResult compact(std::span<const NamedSource> inputs, Sink& out, const EncodeOptions& options,
                      std::string output_name, const CompactOptions& compact_options) {
  if (inputs.empty()) {
    throw LtxError(LtxErrorKind::kInvalidArgument, output_name, "compaction needs an input");
  }
  // One decompression context for all inputs: the merge decodes one page at a time, and a
  // group upload may compact a thousand small files.
  PageDecompressor decompressor;
  const std::size_t read_chunk = std::clamp<std::size_t>(
      compact_options.read_buffer_budget / inputs.size(), 4096, SequentialReader::kDefaultChunk);
  std::vector<std::unique_ptr<Decoder>> decoders;
  decoders.reserve(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::string name = inputs[i].name.empty() ? "input " + std::to_string(i) : inputs[i].name;
    decoders.push_back(
        std::make_unique<Decoder>(*inputs[i].source, std::move(name), decompressor, read_chunk));
  }
  check_inputs(decoders, options, output_name);
  EncodeOptions output_options = options;
  output_options.database_id = database_of(decoders, options.database_id, output_name);
  if (output_options.database_id == 0) output_options.key = nullptr;  // compactor.h

  const Header& first = decoders.front()->header();
  const Header& last = decoders.back()->header();
  Header h;
  h.page_size = first.page_size;
  h.commit = last.commit;
  h.min_txid = first.min_txid;
  h.max_txid = last.max_txid;
  h.timestamp_ms = last.timestamp_ms;
  h.pre_apply_checksum = first.pre_apply_checksum;
  Encoder enc(out, h, output_options, output_name);

  // Each decoder keeps its own page buffer, so every input's current page stays valid while
  // the others advance. A min-heap of (page number, input) finds the next page in O(log inputs):
  // a level compaction may merge thousands of small files.
  CompactResult result;
  std::vector<std::optional<DecodedPage>> heads(decoders.size());
  using Head = std::pair<std::uint32_t, std::size_t>;
  std::priority_queue<Head, std::vector<Head>, std::greater<>> queue;
  for (std::size_t i = 0; i < decoders.size(); ++i) {
    heads[i] = decoders[i]->next();
    if (heads[i]) queue.emplace(heads[i]->pgno, i);
  }
  std::vector<std::size_t> holders;  // the inputs holding the current page
  while (!queue.empty()) {
    const std::uint32_t pgno = queue.top().first;
    holders.clear();
    while (!queue.empty() && queue.top().first == pgno) {
      holders.push_back(queue.top().second);
      queue.pop();
    }
    const std::size_t newest = *std::max_element(holders.begin(), holders.end());  // later is newer
    if (pgno <= h.commit) {
      const DecodedPage& page = *heads[newest];
      if (compact_options.copy_frames && page.encoding == output_options.encoding) {
        enc.add_encoded_page(pgno, page.data, page.encoding, page.payload);
        ++result.pages_copied;
      } else {
        enc.add_page(pgno, page.data);
        ++result.pages_reencoded;
      }
    }
    for (std::size_t i : holders) {
      heads[i] = decoders[i]->next();
      if (heads[i]) queue.emplace(heads[i]->pgno, i);
    }
  }
  // Every decoder has now verified its whole file.
  result.trailer = enc.finish(decoders.back()->trailer().post_apply_checksum);
  result.header = enc.header();
  return result;
}

}  // namespace ltxvfs::ltx
