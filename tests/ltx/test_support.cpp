#include "test_support.h"

#include <random>

#include "base/byte_order.h"
#include "ltx/checksum.h"
#include "ltx/crc64.h"
#include "ltx/decoder.h"
#include "ltx/page_frame.h"
#include "ltx/sink.h"
#include "ltx/source.h"

namespace ltxtest {

using namespace ltxvfs::ltx;

Bytes random_page(std::uint32_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(size);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

Bytes compressible_page(std::uint32_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(size, 0);
  for (std::size_t i = 0; i < 16 && i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(rng());
  const std::string text = "row " + std::to_string(seed) + " lorem ipsum dolor sit amet; ";
  for (std::size_t i = size / 2; i < b.size(); ++i) {
    b[i] = static_cast<std::uint8_t>(text[i % text.size()]);
  }
  return b;
}

Bytes filled_page(std::uint32_t size, std::uint8_t value) {
  return Bytes(size, value);
}

Bytes encode(const Header& header, const std::vector<Page>& pages, const EncodeOptions& options,
             std::uint64_t post_apply) {
  VectorSink sink;
  Encoder enc(sink, header, options);
  for (const auto& p : pages) enc.add_page(p.pgno, p.data);
  enc.finish(post_apply);
  return sink.take();
}

Header make_header(std::uint32_t page_size, std::uint32_t commit, std::uint64_t min_txid,
                   std::uint64_t max_txid, std::uint64_t pre_apply) {
  Header h;
  h.page_size = page_size;
  h.commit = commit;
  h.min_txid = min_txid;
  h.max_txid = max_txid;
  h.timestamp_ms = 1700000000123;
  h.pre_apply_checksum = pre_apply;
  return h;
}

std::vector<Page> decode_pages(std::span<const std::uint8_t> file, const std::string& name) {
  MemorySource src(file);
  std::vector<Page> out;
  for_each_page(src, name, [&](std::uint32_t pgno, std::span<const std::uint8_t> data) {
    out.push_back(Page{pgno, Bytes(data.begin(), data.end())});
  });
  return out;
}

std::optional<LtxErrorKind> decode_error(std::span<const std::uint8_t> file) {
  try {
    MemorySource src(file);
    verify_file(src, "test.ltx");
  } catch (const LtxError& e) {
    return e.kind();
  }
  return std::nullopt;
}

void RawFile::add(std::uint32_t pgno, std::span<const std::uint8_t> page, PageEncoding encoding) {
  PageCompressor c(encoding);
  Frame f{pgno, static_cast<std::uint16_t>(encoding), {}, Bytes(page.begin(), page.end())};
  c.compress(page, f.payload);
  frames.push_back(std::move(f));
}

Bytes RawFile::build() const {
  Bytes out(header.begin(), header.end());
  Crc64 crc;
  crc.update(out);
  std::vector<PageIndexEntry> implied;
  for (const auto& f : frames) {
    std::uint8_t ph[6];
    ltxvfs::base::store_be32(ph, f.pgno);
    ltxvfs::base::store_be16(ph + 4, f.flags);
    implied.push_back(PageIndexEntry{f.pgno, out.size(), 6 + f.payload.size()});
    out.insert(out.end(), ph, ph + 6);
    out.insert(out.end(), f.payload.begin(), f.payload.end());
    crc.update(ph);
    // The size prefix is hashed for every encoding that has one (all but the LZ4 frame).
    if (f.flags != 0) crc.update(std::span(f.payload).first(4));
    crc.update(f.decompressed);
  }
  const std::size_t tail_start = out.size();
  out.insert(out.end(), 6, 0);
  std::size_t area_start = out.size();
  for (const auto& e : index.value_or(implied)) {
    for (std::uint64_t v : {std::uint64_t{e.pgno}, e.offset, e.size}) {
      while (v >= 0x80) {
        out.push_back(static_cast<std::uint8_t>(v | 0x80));
        v >>= 7;
      }
      out.push_back(static_cast<std::uint8_t>(v));
    }
  }
  out.push_back(0);
  const std::uint64_t area = out.size() - area_start;
  out.resize(out.size() + 16);
  ltxvfs::base::store_be64(out.data() + out.size() - 16, area);
  ltxvfs::base::store_be64(out.data() + out.size() - 8, post_apply);
  crc.update(std::span(out).subspan(tail_start));
  out.resize(out.size() + 8);
  ltxvfs::base::store_be64(out.data() + out.size() - 8,
                           file_checksum.value_or(kChecksumFlag | crc.value()));
  return out;
}

Bytes ModelDb::commit(const std::map<std::uint32_t, Bytes>& changes, std::uint32_t commit,
                      std::int64_t timestamp_ms) {
  const std::uint64_t pre = checksum();
  const bool snapshot = txid_ == 0;
  for (const auto& [pgno, data] : changes) pages_[pgno] = data;
  pages_.erase(pages_.upper_bound(commit), pages_.end());
  commit_ = commit;
  ++txid_;
  Header h = make_header(page_size_, commit, txid_, txid_, snapshot ? 0 : pre);
  h.timestamp_ms = timestamp_ms;
  std::vector<Page> pages;
  for (const auto& [pgno, data] : changes) {
    if (pgno <= commit) pages.push_back(Page{pgno, data});
  }
  return encode(h, pages, options_, checksum());
}

std::uint64_t ModelDb::checksum() const {
  DatabaseChecksum c;
  for (const auto& [pgno, data] : pages_) c.toggle(pgno, data);
  return c.value();
}

Bytes ModelDb::image() const {
  Bytes out(std::size_t{commit_} * page_size_, 0);
  for (const auto& [pgno, data] : pages_) {
    std::copy(data.begin(), data.end(), out.begin() + std::ptrdiff_t{pgno - 1} * page_size_);
  }
  return out;
}

}  // namespace ltxtest
