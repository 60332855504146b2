// Multi-buffer MD5: the MD5 block function (RFC 1321) run on 16 independent streams at once in the
// 32-bit lanes of an AVX-512 register, or 8 with AVX2. One MD5 stream is a single serial dependency
// chain, so hashing it alone leaves most of a core idle; concurrent uploads can share that latency.
// A caller keeps one State per stream, feeds whole 64-byte blocks through compress() and pads the
// tail with finish(). The kernel is picked at run time, so the binary still runs on any x86-64
// (and elsewhere only the scalar path is built).
// Thread-safety: everything is pure apart from force_lanes(), which is for tests.
#pragma once
#include <cstddef>
#include <cstdint>

namespace depot::crypto::md5mb {

// MD5 chaining values of one stream.
struct State {
  std::uint32_t a, b, c, d;
};
constexpr State kInit{0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
constexpr int kMaxLanes = 16;

// Lanes of the widest kernel this CPU runs: 16 (AVX-512F), 8 (AVX2), 1 (scalar loop).
// Decided once; force_lanes() overrides it.
int lanes();
// Tests only: 16, 8 or 1, or 0 for automatic again. Throws std::invalid_argument for a kernel
// this CPU (or build) cannot run. Process-wide, so not for use while other threads hash.
void force_lanes(int n);

// Runs `blocks` MD5 block compressions on every lane i < lanes() whose data[i] is not null: lane i
// reads blocks * 64 bytes from data[i] and updates st[i]. Lanes with a null data[i] are skipped and
// their st[i] is neither read nor written. st and data must have lanes() entries. Bit-exact with
// the scalar block function. Allocates nothing.
void compress(State* st, const unsigned char* const* data, std::size_t blocks);

// The scalar block function on one stream (tails, and the reference for the kernels).
void compress_one(State& st, const unsigned char* data, std::size_t blocks);

// Writes the 16-byte digest of a stream whose state `st` has absorbed `absorbed` bytes (a multiple
// of 64) and whose remaining bytes are tail[0..n) (any length: whole blocks are compressed first).
// Works on the copy `st`; the caller's state is untouched.
void finish(State st, std::uint64_t absorbed, const unsigned char* tail, std::size_t n, unsigned char out[16]);

}  // namespace depot::crypto::md5mb
