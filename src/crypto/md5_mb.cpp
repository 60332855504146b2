#include "src/crypto/md5_mb.hpp"

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace depot::crypto::md5mb {
namespace {

// RFC 1321 3.4: K[i] = floor(2^32 * |sin(i + 1)|).
constexpr std::uint32_t kK[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};

// Left-rotation of step i: four amounts per round, cycling.
constexpr int shift(int i) {
  constexpr int s[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};
  return s[i / 16][i % 4];
}
// Message word consumed by step i.
constexpr int word(int i) {
  switch (i / 16) {
    case 0: return i;
    case 1: return (5 * i + 1) % 16;
    case 2: return (3 * i + 5) % 16;
    default: return (7 * i) % 16;
  }
}
// Step i updates the state word at index role(i, 0) of {a, b, c, d} (a, d, c, b in turn) from the
// next three. The indices are constants once the 64 steps are unrolled, so the state stays in
// registers and no words are moved between steps.
constexpr int role(int i, int k) { return (64 - i + k) % 4; }

#define DEPOT_MD5_INLINE inline __attribute__((always_inline))

// --- Scalar -------------------------------------------------------------------------------------

template <int I>
DEPOT_MD5_INLINE void step1(std::uint32_t (&s)[4], const std::uint32_t (&w)[16]) {
  const std::uint32_t b = s[role(I, 1)], c = s[role(I, 2)], d = s[role(I, 3)];
  std::uint32_t f;
  if constexpr (I < 16) f = d ^ (b & (c ^ d));       // F: b ? c : d
  else if constexpr (I < 32) f = c ^ (d & (b ^ c));  // G: d ? b : c
  else if constexpr (I < 48) f = b ^ c ^ d;          // H
  else f = c ^ (b | ~d);                             // I
  const std::uint32_t t = s[role(I, 0)] + w[word(I)] + kK[I] + f;
  s[role(I, 0)] = b + ((t << shift(I)) | (t >> (32 - shift(I))));
}

template <std::size_t... I>
DEPOT_MD5_INLINE void rounds1(std::uint32_t (&s)[4], const std::uint32_t (&w)[16], std::index_sequence<I...>) {
  (step1<I>(s, w), ...);
}

#if defined(__x86_64__)
// GCC 12 flags the deliberately undefined vector inside the AVX-512 intrinsics (_mm512_undefined_*)
// once they are inlined into a target("avx512f") function (GCC PR 105593); nothing here is read
// uninitialized.
#pragma GCC diagnostic push
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define DEPOT_MD5_AVX512 __attribute__((target("avx512f")))
#define DEPOT_MD5_AVX2 __attribute__((target("avx2")))

// Where null lanes read from: they run the rounds on zeros and their result is discarded.
alignas(64) const unsigned char kZeroBlock[64] = {};

// --- AVX-512F: 16 lanes -------------------------------------------------------------------------

template <int I>
DEPOT_MD5_AVX512 DEPOT_MD5_INLINE void step16(__m512i (&s)[4], const __m512i (&w)[16]) {
  // One vpternlogd per round function; the immediate is the truth table of f(b, c, d).
  constexpr int kTable = I < 16 ? 0xca : I < 32 ? 0xe4 : I < 48 ? 0x96 : 0x39;
  const __m512i b = s[role(I, 1)], c = s[role(I, 2)], d = s[role(I, 3)];
  // a was produced four steps ago, so a + M + K is ready early; only f, the sum, the rotate and
  // the add of b wait on the previous step. The empty asm keeps that sum whole: GCC would otherwise
  // reassociate it to add f first, one more add on the critical path.
  __m512i t = _mm512_add_epi32(s[role(I, 0)], _mm512_add_epi32(w[word(I)], _mm512_set1_epi32(static_cast<int>(kK[I]))));
  __asm__("" : "+v"(t));
  t = _mm512_add_epi32(t, _mm512_ternarylogic_epi32(b, c, d, kTable));
  constexpr int kShift = shift(I);  // a constant even at -O0, where the intrinsic is a macro
  s[role(I, 0)] = _mm512_add_epi32(b, _mm512_rol_epi32(t, kShift));
}

template <std::size_t... I>
DEPOT_MD5_AVX512 DEPOT_MD5_INLINE void rounds16(__m512i (&s)[4], const __m512i (&w)[16], std::index_sequence<I...>) {
  (step16<I>(s, w), ...);
}

// r[i] holds lane i's block; afterwards r[j] holds word j of every lane. 4x4 transposes inside each
// 128-bit chunk (unpack 32, unpack 64), then two shuffle_i32x4 passes move chunk k of the four row
// groups into r[4k + j]: 64 shuffles per 16 blocks.
DEPOT_MD5_AVX512 DEPOT_MD5_INLINE void transpose16(__m512i (&r)[16]) {
  __m512i t[16], u[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  // u[4g + j], chunk k = word 4k + j of rows 4g..4g+3.
#pragma GCC unroll 4
  for (int g = 0; g < 16; g += 4) {
    u[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
    u[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
    u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
    u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    // Chunks 0,1 (lo) and 2,3 (hi) of row groups 0,1 and 2,3; then pick even/odd chunks.
    const __m512i lo01 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x44), hi01 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xee);
    const __m512i lo23 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x44),
                  hi23 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xee);
    r[j] = _mm512_shuffle_i32x4(lo01, lo23, 0x88);
    r[4 + j] = _mm512_shuffle_i32x4(lo01, lo23, 0xdd);
    r[8 + j] = _mm512_shuffle_i32x4(hi01, hi23, 0x88);
    r[12 + j] = _mm512_shuffle_i32x4(hi01, hi23, 0xdd);
  }
}

// Each block is one serial chain of 64 steps of four dependent ops (f, add, rotate, add), so the
// latency, not the op count, sets the speed: ~8 cycles a step on Zen 5 (2-cycle vector latency).
DEPOT_MD5_AVX512 void compress16(State* st, const unsigned char* const* data, std::size_t blocks) {
  alignas(64) std::uint32_t v[4][16] = {};
  const unsigned char* p[16];
  std::size_t stride[16];
  bool any = false;
  for (int i = 0; i < 16; ++i) {
    p[i] = data[i] ? data[i] : kZeroBlock;
    stride[i] = data[i] ? 64 : 0;
    if (!data[i]) continue;
    any = true;
    v[0][i] = st[i].a, v[1][i] = st[i].b, v[2][i] = st[i].c, v[3][i] = st[i].d;
  }
  if (!any) return;
  __m512i s[4];
  for (int k = 0; k < 4; ++k) s[k] = _mm512_load_si512(v[k]);
  for (; blocks; --blocks) {
    __m512i w[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
      w[i] = _mm512_loadu_si512(p[i]);
      p[i] += stride[i];
    }
    transpose16(w);
    const __m512i a = s[0], b = s[1], c = s[2], d = s[3];
    rounds16(s, w, std::make_index_sequence<64>{});
    s[0] = _mm512_add_epi32(s[0], a);
    s[1] = _mm512_add_epi32(s[1], b);
    s[2] = _mm512_add_epi32(s[2], c);
    s[3] = _mm512_add_epi32(s[3], d);
  }
  for (int k = 0; k < 4; ++k) _mm512_store_si512(v[k], s[k]);
  for (int i = 0; i < 16; ++i)
    if (data[i]) st[i] = State{v[0][i], v[1][i], v[2][i], v[3][i]};
}

// --- AVX2: 8 lanes ------------------------------------------------------------------------------

template <int S>
DEPOT_MD5_AVX2 DEPOT_MD5_INLINE __m256i rol8(__m256i x) {
  return _mm256_or_si256(_mm256_slli_epi32(x, S), _mm256_srli_epi32(x, 32 - S));
}

template <int I>
DEPOT_MD5_AVX2 DEPOT_MD5_INLINE void step8(__m256i (&s)[4], const __m256i (&w)[16]) {
  const __m256i b = s[role(I, 1)], c = s[role(I, 2)], d = s[role(I, 3)];
  __m256i t = _mm256_add_epi32(s[role(I, 0)], _mm256_add_epi32(w[word(I)], _mm256_set1_epi32(static_cast<int>(kK[I]))));
  __asm__("" : "+x"(t));  // as in step16: add f last
  // Each f is written so that b, the newest word, enters as late as possible.
  if constexpr (I < 16) {
    t = _mm256_add_epi32(t, _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d))));
  } else if constexpr (I < 32) {
    // (b & d) | (c & ~d): the two halves share no bits, so add them separately and c & ~d goes
    // in before b is known.
    t = _mm256_add_epi32(t, _mm256_andnot_si256(d, c));
    t = _mm256_add_epi32(t, _mm256_and_si256(b, d));
  } else if constexpr (I < 48) {
    t = _mm256_add_epi32(t, _mm256_xor_si256(b, _mm256_xor_si256(c, d)));
  } else {
    const __m256i not_d = _mm256_xor_si256(d, _mm256_set1_epi32(-1));
    t = _mm256_add_epi32(t, _mm256_xor_si256(c, _mm256_or_si256(b, not_d)));
  }
  s[role(I, 0)] = _mm256_add_epi32(b, rol8<shift(I)>(t));
}

template <std::size_t... I>
DEPOT_MD5_AVX2 DEPOT_MD5_INLINE void rounds8(__m256i (&s)[4], const __m256i (&w)[16], std::index_sequence<I...>) {
  (step8<I>(s, w), ...);
}

// 8x8 transpose of 32-bit words: r[i] = 8 words of lane i in, r[j] = word j of every lane out.
DEPOT_MD5_AVX2 DEPOT_MD5_INLINE void transpose8(__m256i* r) {
  __m256i t[8], u[8];
#pragma GCC unroll 4
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
  }
  // u[4g + j], 128-bit half h = word 4h + j of rows 4g..4g+3.
#pragma GCC unroll 2
  for (int g = 0; g < 8; g += 4) {
    u[g] = _mm256_unpacklo_epi64(t[g], t[g + 2]);
    u[g + 1] = _mm256_unpackhi_epi64(t[g], t[g + 2]);
    u[g + 2] = _mm256_unpacklo_epi64(t[g + 1], t[g + 3]);
    u[g + 3] = _mm256_unpackhi_epi64(t[g + 1], t[g + 3]);
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm256_permute2x128_si256(u[j], u[4 + j], 0x20);
    r[4 + j] = _mm256_permute2x128_si256(u[j], u[4 + j], 0x31);
  }
}

DEPOT_MD5_AVX2 void compress8(State* st, const unsigned char* const* data, std::size_t blocks) {
  alignas(32) std::uint32_t v[4][8] = {};
  const unsigned char* p[8];
  std::size_t stride[8];
  bool any = false;
  for (int i = 0; i < 8; ++i) {
    p[i] = data[i] ? data[i] : kZeroBlock;
    stride[i] = data[i] ? 64 : 0;
    if (!data[i]) continue;
    any = true;
    v[0][i] = st[i].a, v[1][i] = st[i].b, v[2][i] = st[i].c, v[3][i] = st[i].d;
  }
  if (!any) return;
  __m256i s[4];
  for (int k = 0; k < 4; ++k) s[k] = _mm256_load_si256(reinterpret_cast<const __m256i*>(v[k]));
  for (; blocks; --blocks) {
    // Words 0-7 and 8-15 of each block, transposed separately.
    __m256i w[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      w[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[i]));
      w[8 + i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[i] + 32));
      p[i] += stride[i];
    }
    transpose8(w);
    transpose8(w + 8);
    const __m256i a = s[0], b = s[1], c = s[2], d = s[3];
    rounds8(s, w, std::make_index_sequence<64>{});
    s[0] = _mm256_add_epi32(s[0], a);
    s[1] = _mm256_add_epi32(s[1], b);
    s[2] = _mm256_add_epi32(s[2], c);
    s[3] = _mm256_add_epi32(s[3], d);
  }
  for (int k = 0; k < 4; ++k) _mm256_store_si256(reinterpret_cast<__m256i*>(v[k]), s[k]);
  for (int i = 0; i < 8; ++i)
    if (data[i]) st[i] = State{v[0][i], v[1][i], v[2][i], v[3][i]};
}
#pragma GCC diagnostic pop
#endif  // __x86_64__

// --- Dispatch -----------------------------------------------------------------------------------

struct Cpu {
  bool avx2 = false, avx512 = false;
};

const Cpu& cpu() {
  static const Cpu c = [] {
    Cpu r;
#if defined(__x86_64__)
    // libgcc's check includes the OS having enabled the ymm/zmm register state (XGETBV).
    __builtin_cpu_init();
    r.avx2 = __builtin_cpu_supports("avx2");
    r.avx512 = __builtin_cpu_supports("avx512f");
#endif
    return r;
  }();
  return c;
}

std::atomic<int> g_forced{0};

}  // namespace

int lanes() {
  if (int f = g_forced.load(std::memory_order_relaxed)) return f;
  static const int automatic = cpu().avx512 ? 16 : cpu().avx2 ? 8 : 1;
  return automatic;
}

void force_lanes(int n) {
  const bool ok = n == 0 || n == 1 || (n == 8 && cpu().avx2) || (n == 16 && cpu().avx512);
  if (!ok) throw std::invalid_argument("md5mb::force_lanes: kernel not available on this CPU");
  g_forced.store(n, std::memory_order_relaxed);
}

void compress(State* st, const unsigned char* const* data, std::size_t blocks) {
  if (blocks == 0) return;
  switch (lanes()) {
#if defined(__x86_64__)
    case 16: compress16(st, data, blocks); return;
    case 8: compress8(st, data, blocks); return;
#endif
    default:
      if (data[0]) compress_one(st[0], data[0], blocks);
  }
}

void compress_one(State& st, const unsigned char* data, std::size_t blocks) {
  std::uint32_t s[4] = {st.a, st.b, st.c, st.d};
  for (; blocks; --blocks, data += 64) {
    std::uint32_t w[16];
    // Little-endian words whatever the host; compilers turn this into plain loads on x86.
    for (int j = 0; j < 16; ++j)
      w[j] = std::uint32_t{data[4 * j]} | std::uint32_t{data[4 * j + 1]} << 8 | std::uint32_t{data[4 * j + 2]} << 16 |
             std::uint32_t{data[4 * j + 3]} << 24;
    const std::uint32_t a = s[0], b = s[1], c = s[2], d = s[3];
    rounds1(s, w, std::make_index_sequence<64>{});
    s[0] += a, s[1] += b, s[2] += c, s[3] += d;
  }
  st = State{s[0], s[1], s[2], s[3]};
}

void finish(State st, std::uint64_t absorbed, const unsigned char* tail, std::size_t n, unsigned char out[16]) {
  const std::size_t whole = n / 64, rest = n % 64;
  compress_one(st, tail, whole);
  // Padding (RFC 1321 3.1-3.2): 0x80, zeros up to 56 mod 64, then the length in bits, little-endian,
  // modulo 2^64. One block if the tail leaves room for the length, else two.
  unsigned char buf[128] = {};
  if (rest) std::memcpy(buf, tail + whole * 64, rest);
  buf[rest] = 0x80;
  const std::size_t len = rest < 56 ? 64 : 128;
  const std::uint64_t bits = (absorbed + n) * 8;
  for (int i = 0; i < 8; ++i) buf[len - 8 + i] = static_cast<unsigned char>(bits >> (8 * i));
  compress_one(st, buf, len / 64);
  const std::uint32_t words[4] = {st.a, st.b, st.c, st.d};
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 4; ++i) out[4 * k + i] = static_cast<unsigned char>(words[k] >> (8 * i));
}

}  // namespace depot::crypto::md5mb
