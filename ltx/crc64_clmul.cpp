// CRC-64/GO-ISO by folding 128-bit blocks with carry-less multiplication.
//
// In the reflected bit order this CRC uses, a 64-bit word w stands for the polynomial whose x^63
// coefficient is bit 0 (and a 128-bit register loaded little-endian from 16 message bytes stands
// for those 128 message bits, the first byte's bit 0 as x^127). PCLMULQDQ of two such words then
// yields x * A * B as a 128-bit reflected value. With the register X = H * x^64 + L (H: the first
// 8 bytes, the low lane), the next block D folds in as
//
//   X * x^128 + D  ==  clmul(H, x^191 mod P) + clmul(L, x^127 mod P) + D   (mod P)
//
// (the exponents are one less than the shifts because of the factor x); four registers 64 bytes
// apart fold by 512 bits the same way, then into one. The register before the
// message is XORed into its first 8 bytes (the same thing as starting from it), and the folded
// 16 bytes are finished by the table code from a zero register: a zero-initialised CRC of a
// message m is m * x^64 mod P, which is what is wanted. No Barrett reduction is needed, and the
// constants come from the polynomial itself at compile time.
#include "ltx/crc64_clmul.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ltxvfs::ltx::detail {
namespace {

// x^e mod P for P = x^64 + x^4 + x^3 + x + 1, bit i standing for x^i.
constexpr std::uint64_t x_pow_mod(int e) {
  std::uint64_t v = 1;
  for (int i = 0; i < e; ++i) v = (v << 1) ^ ((v >> 63) != 0 ? 0x1BULL : 0);
  return v;
}

constexpr std::uint64_t reflect(std::uint64_t v) {
  std::uint64_t r = 0;
  for (int i = 0; i < 64; ++i) r |= ((v >> i) & 1) << (63 - i);
  return r;
}

// The table code's polynomial, reflected, must be this P.
static_assert(reflect(0x1BULL) == 0xD800000000000000ULL);

// Folding one register forward by 128 bits, and four independent registers by 512 bits each (so
// that four multiplications are in flight instead of one).
constexpr std::uint64_t kFoldHigh = reflect(x_pow_mod(191));   // for H, the low lane
constexpr std::uint64_t kFoldLow = reflect(x_pow_mod(127));    // for L, the high lane
constexpr std::uint64_t kFold4High = reflect(x_pow_mod(575));  // x^(512+64-1)
constexpr std::uint64_t kFold4Low = reflect(x_pow_mod(511));   // x^(512-1)

}  // namespace

#if defined(__x86_64__)

namespace {

__attribute__((target("sse2"))) inline __m128i load(const std::uint8_t* at) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
}

// x * x^shift + d, with k holding the two constants of that shift.
__attribute__((target("pclmul,sse2"))) inline __m128i fold(__m128i x, __m128i k, __m128i d) {
  const __m128i high = _mm_clmulepi64_si128(x, k, 0x00);  // H * (x^(shift+63) mod P)
  const __m128i low = _mm_clmulepi64_si128(x, k, 0x11);   // L * (x^(shift-1) mod P)
  return _mm_xor_si128(_mm_xor_si128(high, low), d);
}

}  // namespace

bool crc64_clmul_supported() {
  return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2");
}

__attribute__((target("pclmul,sse2"))) std::uint64_t crc64_update_clmul(std::uint64_t crc,
                                                                        const std::uint8_t* p,
                                                                        std::size_t n) {
  if (n < 16) return crc64_update_tables(crc, p, n);
  const __m128i k1 =
      _mm_set_epi64x(static_cast<long long>(kFoldLow), static_cast<long long>(kFoldHigh));
  const __m128i start = _mm_set_epi64x(0, static_cast<long long>(crc));
  __m128i x;
  if (n >= 128) {
    const __m128i k4 =
        _mm_set_epi64x(static_cast<long long>(kFold4Low), static_cast<long long>(kFold4High));
    __m128i x0 = _mm_xor_si128(load(p), start);
    __m128i x1 = load(p + 16);
    __m128i x2 = load(p + 32);
    __m128i x3 = load(p + 48);
    p += 64;
    n -= 64;
    while (n >= 64) {
      x0 = fold(x0, k4, load(p));
      x1 = fold(x1, k4, load(p + 16));
      x2 = fold(x2, k4, load(p + 32));
      x3 = fold(x3, k4, load(p + 48));
      p += 64;
      n -= 64;
    }
    // The four registers are consecutive 16-byte blocks again: fold them into one.
    x = fold(fold(fold(x0, k1, x1), k1, x2), k1, x3);
  } else {
    x = _mm_xor_si128(load(p), start);
    p += 16;
    n -= 16;
  }
  while (n >= 16) {
    x = fold(x, k1, load(p));
    p += 16;
    n -= 16;
  }
  std::uint8_t folded[16];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(folded), x);
  return crc64_update_tables(crc64_update_tables(0, folded, sizeof folded), p, n);
}

#else

bool crc64_clmul_supported() {
  return false;
}

std::uint64_t crc64_update_clmul(std::uint64_t crc, const std::uint8_t* p, std::size_t n) {
  return crc64_update_tables(crc, p, n);
}

#endif

}  // namespace ltxvfs::ltx::detail
