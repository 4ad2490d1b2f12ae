#include "ltx/parallel_decode.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "base/named_thread.h"
#include "ltx/crc64.h"
#include "ltx/decoder.h"
#include "ltx/file_digest.h"

namespace ltxvfs::ltx {
namespace {

// Stored bytes per batch: ~250 pages of 4 KiB at 2:1, a few hundred microseconds of decoding
// each, against a few microseconds of handing one over.
constexpr std::size_t kBatchBytes = std::size_t{1} << 20;

// Consecutive frames of the file, copied, and what decoding them gave. No lock: the walking
// thread fills it, the worker that takes it from the queue decodes it, and the walking thread
// reads the results once the workers are joined.
struct Batch {
  struct Frame {
    std::uint32_t pgno = 0;
    PageEncoding encoding = PageEncoding::kLz4Frame;
    std::array<std::uint8_t, kPageHeaderSize> header{};
    std::size_t offset = 0;  // of the payload in `bytes`
    std::size_t size = 0;
  };
  std::vector<Frame> frames;
  std::vector<std::uint8_t> bytes;
  // Results.
  std::vector<std::uint64_t> sums;  // page_checksum() of each frame's page
  std::uint64_t crc = 0;            // of what the file checksum covers of these frames
  std::uint64_t hashed = 0;         // its length
  std::exception_ptr error;
};

// Decompresses, hashes and writes one batch's pages, each decompressed straight into its run.
void decode_batch(Batch& b, const std::string& name, std::uint32_t page_size,
                  const Crc64Shift& page_shift, PageDecompressor& decompressor, PageRuns& runs) {
  FileDigest crc;  // a CRC-64 of what the file checksum covers of these frames
  b.sums.reserve(b.frames.size());
  for (const Batch::Frame& f : b.frames) {
    const std::span<std::uint8_t> page = runs.add(f.pgno);
    const auto payload = std::span(b.bytes).subspan(f.offset, f.size);
    decompressor.decompress(f.encoding, payload, page, /*input_ends_file=*/true, name, f.pgno,
                            FrameCheck::kCallerChecksPage);
    crc.update(f.header);
    b.hashed += kPageHeaderSize + page_size;
    if (has_size_prefix(f.encoding)) {
      crc.update(payload.first(4));
      b.hashed += 4;
    }
    b.sums.push_back(crc.update_page(f.pgno, page, page_shift));
  }
  runs.flush();
  b.crc = crc.value();
}

// The worker threads and the batches between them and the walking thread.
class Workers {
 public:
  Workers(unsigned threads, const std::string& name, std::uint32_t page_size, PageWriter& writer)
      : name_(name), page_size_(page_size), writer_(writer), max_held_(2 * threads) {
    for (unsigned i = 0; i < threads; ++i) {
      threads_.push_back(base::start_named_thread("ltx-decode", [this] { work(); }));
    }
  }
  ~Workers() { close(); }

  // Queues `b` (waiting while 2 x threads batches are held); false once a batch has failed.
  bool submit(Batch* b) EXCLUDES(mu_) {
    base::MutexLock lock(mu_);
    lock.wait(cv_, [&]() REQUIRES(mu_) { return failed_ || held_ < max_held_; });
    if (failed_) return false;
    ++held_;
    todo_.push_back(b);
    cv_.notify_all();
    return true;
  }
  // Lets the workers finish what is queued, and joins them.
  void close() EXCLUDES(mu_) {
    {
      base::MutexLock lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void work() EXCLUDES(mu_) {
    PageDecompressor decompressor;
    const Crc64Shift page_shift(page_size_);
    PageRuns runs(writer_, page_size_);
    for (;;) {
      Batch* b = nullptr;
      bool skip = false;
      {
        base::MutexLock lock(mu_);
        lock.wait(cv_, [&]() REQUIRES(mu_) { return closed_ || !todo_.empty(); });
        if (todo_.empty()) return;
        b = todo_.front();
        todo_.pop_front();
        // Batches leave in file order: one that failed before this one was taken is earlier in
        // the file, and its failure ends the decode. (Read apart from the take, a later batch's
        // failure could skip an earlier one, whose own failure then went unseen.)
        skip = failed_;
      }
      if (!skip) {
        try {
          decode_batch(*b, name_, page_size_, page_shift, decompressor, runs);
        } catch (...) {
          b->error = std::current_exception();
        }
      }
      // Decoded: only the results stay (8 bytes a page).
      std::vector<std::uint8_t>().swap(b->bytes);
      std::vector<Batch::Frame>().swap(b->frames);
      base::MutexLock lock(mu_);
      failed_ = failed_ || b->error != nullptr;
      --held_;
      cv_.notify_all();
    }
  }

  // Constant after construction.
  const std::string& name_;
  const std::uint32_t page_size_;
  PageWriter& writer_;
  const std::size_t max_held_;
  std::vector<std::thread> threads_;  // the walking thread's

  base::Mutex mu_;
  std::condition_variable cv_;  // a batch queued or done, a failure, or closed
  std::deque<Batch*> todo_ GUARDED_BY(mu_);
  std::size_t held_ GUARDED_BY(mu_) = 0;  // queued or being decoded
  bool failed_ GUARDED_BY(mu_) = false;
  bool closed_ GUARDED_BY(mu_) = false;
};

}  // namespace

DecodedFile decode_file_parallel(const Source& source, std::string name, unsigned threads,
                                 PageWriter& writer) {
  if (threads < 2) {
    PageDecompressor decompressor;
    return decode_file(source, std::move(name), decompressor, writer);
  }
  Decoder dec(source, name);
  dec.pages_only();  // for the LZ4 frames next_stored() decodes to find their ends
  const std::uint32_t ps = dec.header().page_size;
  DecodedFile file;
  file.header = dec.header();
  std::vector<std::unique_ptr<Batch>> batches;
  std::exception_ptr walk_error;
  {
    Workers workers(threads, name, ps, writer);
    auto batch = std::make_unique<Batch>();
    auto hand_over = [&] {
      if (batch->frames.empty()) return true;
      batches.push_back(std::move(batch));
      batch = std::make_unique<Batch>();
      return workers.submit(batches.back().get());
    };
    try {
      while (auto f = dec.next_stored()) {
        file.pgnos.push_back(f->pgno);
        batch->frames.push_back(
            {f->pgno, f->encoding, f->header, batch->bytes.size(), f->payload.size()});
        batch->bytes.insert(batch->bytes.end(), f->payload.begin(), f->payload.end());
        if (batch->bytes.size() >= kBatchBytes && !hand_over()) break;
      }
    } catch (...) {
      walk_error = std::current_exception();
    }
    // The frames before a bad one are decoded too: one of them may fail first in file order.
    hand_over();
    workers.close();
  }
  for (const auto& b : batches) {
    if (b->error) std::rethrow_exception(b->error);
  }
  if (walk_error) std::rethrow_exception(walk_error);
  Crc64 frames;  // the CRC of every batch's hashed bytes, in file order
  std::uint64_t hashed = 0, sums_xor = 0;
  file.sums.reserve(file.pgnos.size());
  for (const auto& b : batches) {
    frames.append(b->crc, Crc64Shift(b->hashed));
    hashed += b->hashed;
    for (const std::uint64_t s : b->sums) sums_xor ^= s;
    file.sums.insert(file.sums.end(), b->sums.begin(), b->sums.end());
  }
  dec.finish_stored(frames.value(), Crc64Shift(hashed), sums_xor);
  file.trailer = dec.trailer();
  return file;
}

}  // namespace ltxvfs::ltx
