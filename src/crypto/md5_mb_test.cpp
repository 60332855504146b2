#include <catch2/catch.hpp>

#include "src/crypto/md5_mb.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace mb = depot::crypto::md5mb;

namespace {

std::string hex(const unsigned char* d) {
  static const char* kHex = "0123456789abcdef";
  std::string h;
  for (int i = 0; i < 16; ++i) {
    h += kHex[d[i] >> 4];
    h += kHex[d[i] & 15];
  }
  return h;
}

std::string openssl_md5(const unsigned char* p, std::size_t n) {
  unsigned char d[16];
  unsigned int len = 0;
  REQUIRE(EVP_Digest(p, n, d, &len, EVP_md5(), nullptr) == 1);
  return hex(d);
}

// Restores automatic kernel choice however the test ends.
struct ForcedLanes {
  explicit ForcedLanes(int n) { mb::force_lanes(n); }
  ~ForcedLanes() { mb::force_lanes(0); }
};

// Kernels this CPU runs, widest first; always ends with the scalar one.
std::vector<int> kernels() {
  std::vector<int> k;
  for (int n : {16, 8, 1}) {
    try {
      ForcedLanes f(n);
      k.push_back(n);
    } catch (const std::invalid_argument&) {
    }
  }
  return k;
}

bool same(const mb::State& x, const mb::State& y) { return x.a == y.a && x.b == y.b && x.c == y.c && x.d == y.d; }

struct Message {
  std::vector<unsigned char> buf;
  const unsigned char* p;  // at an odd offset in buf, so kernels see unaligned blocks
  std::size_t n;
  std::string want;
};

// Edge lengths around the one/two-block padding split and block boundaries, a few large ones,
// then random lengths: 48 in all so that 16 lanes get 3 each, 8 lanes 6 and the scalar path all.
std::vector<Message> message_pool() {
  std::vector<std::size_t> lengths = {0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 119, 120, 1000, 4096, 65536 + 17,
                                      (1u << 20) + 3};
  std::mt19937_64 rng(1321);
  while (lengths.size() < 48) lengths.push_back(rng() % 2 ? rng() % 20000 : (rng() % 300) * 64 + rng() % 3);
  std::vector<Message> pool(lengths.size());
  for (std::size_t i = 0; i < pool.size(); ++i) {
    Message& m = pool[i];
    m.n = lengths[i];
    m.buf.resize(m.n + 8);
    for (auto& c : m.buf) c = static_cast<unsigned char>(rng());
    m.p = m.buf.data() + 1 + i % 7;
    m.want = openssl_md5(m.p, m.n);
  }
  return pool;
}

}  // namespace

TEST_CASE("md5mb: RFC 1321 test vectors through finish", "[md5]") {
  const std::pair<std::string, std::string> vectors[] = {
      {"", "d41d8cd98f00b204e9800998ecf8427e"},
      {"a", "0cc175b9c0f1b6a831c399e269772661"},
      {"abc", "900150983cd24fb0d6963f7d28e17f72"},
      {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
      {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
      {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"},
      {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
       "57edf4a22be3c955ac49da2e2107b67a"},
  };
  for (const auto& [msg, want] : vectors) {
    INFO("message \"" << msg << "\"");
    auto p = reinterpret_cast<const unsigned char*>(msg.data());
    unsigned char out[16];
    // Whole message as the tail (finish compresses the whole blocks itself).
    mb::finish(mb::kInit, 0, p, msg.size(), out);
    CHECK(hex(out) == want);
    // Whole blocks through each kernel on the last lane, the rest through finish.
    const std::size_t blocks = msg.size() / 64;
    for (int k : kernels()) {
      ForcedLanes f(k);
      mb::State st[mb::kMaxLanes];
      const unsigned char* data[mb::kMaxLanes] = {};
      st[k - 1] = mb::kInit;
      data[k - 1] = p;
      mb::compress(st, data, blocks);
      mb::finish(st[k - 1], blocks * 64, p + blocks * 64, msg.size() - blocks * 64, out);
      INFO("kernel " << k);
      CHECK(hex(out) == want);
    }
  }
}

TEST_CASE("md5mb: force_lanes accepts only kernels the CPU runs", "[md5]") {
  const auto k = kernels();
  REQUIRE(k.back() == 1);
  for (int n : k) {
    ForcedLanes f(n);
    CHECK(mb::lanes() == n);
  }
  CHECK(mb::lanes() == k.front());  // automatic again: the widest one
  CHECK_THROWS_AS(mb::force_lanes(4), std::invalid_argument);
  CHECK(mb::lanes() == k.front());
}

TEST_CASE("md5mb: every kernel matches OpenSSL on concurrent streams", "[md5]") {
  const std::vector<Message> pool = message_pool();
  for (int L : kernels()) {
    ForcedLanes f(L);
    REQUIRE(mb::lanes() == L);
    std::mt19937_64 rng(L);

    // Lane i hashes pool[i], pool[i + L], ... one after another: at any time the lanes hold
    // different lengths, and they start and finish at different calls.
    struct Lane {
      std::size_t next;
      const Message* msg = nullptr;
      std::size_t off = 0;
    };
    Lane lane[mb::kMaxLanes];
    mb::State st[mb::kMaxLanes];
    for (int i = 0; i < L; ++i) lane[i].next = i;
    auto start_next = [&](int i) {
      Lane& l = lane[i];
      if (l.next < pool.size()) {
        l.msg = &pool[l.next];
        l.next += L;
        l.off = 0;
        st[i] = mb::kInit;
      } else {
        l.msg = nullptr;
        st[i] = mb::State{0x1111u * i, ~0u, 0u, 0xdeadbeefu};  // idle: must stay as it is
      }
    };
    for (int i = 0; i < L; ++i) start_next(i);

    std::size_t digests = 0, calls = 0, null_lanes = 0, null_lanes_changed = 0;
    for (;;) {
      std::size_t max_blocks = 0;
      bool busy = false;
      for (int i = 0; i < L; ++i) {
        // Finish with the last partial block, and now and then with up to two whole blocks
        // still in the tail.
        while (lane[i].msg) {
          const std::size_t rest = lane[i].msg->n - lane[i].off;
          if (rest >= 192 || (rest >= 64 && rng() % 3)) break;
          unsigned char out[16];
          mb::finish(st[i], lane[i].off, lane[i].msg->p + lane[i].off, rest, out);
          INFO("kernel " << L << ", lane " << i << ", length " << lane[i].msg->n);
          CHECK(hex(out) == lane[i].msg->want);
          ++digests;
          start_next(i);
        }
        if (lane[i].msg) {
          busy = true;
          max_blocks = std::max(max_blocks, (lane[i].msg->n - lane[i].off) / 64);
        }
      }
      if (!busy) break;
      if (max_blocks == 0) continue;

      // Mostly a few blocks per call, sometimes hundreds, now and then all a lane has left (unless
      // that is the 1 MiB stream, which would end the test's interleaving early).
      const unsigned pick = rng() % 50;
      const std::size_t k = pick < 30 ? 1 + rng() % std::min<std::size_t>(max_blocks, 8)
                            : pick < 49 || max_blocks > 2048 ? 1 + rng() % std::min<std::size_t>(max_blocks, 300)
                                                             : max_blocks;
      const unsigned char* data[mb::kMaxLanes] = {};
      mb::State before[mb::kMaxLanes];
      for (int i = 0; i < L; ++i) {
        before[i] = st[i];
        // A lane with fewer than k blocks left must sit this call out; others do so one time in 5.
        if (lane[i].msg && (lane[i].msg->n - lane[i].off) / 64 >= k && rng() % 5) data[i] = lane[i].msg->p + lane[i].off;
      }
      mb::compress(st, data, k);
      ++calls;
      for (int i = 0; i < L; ++i) {
        if (data[i]) {
          lane[i].off += k * 64;
        } else {
          ++null_lanes;
          null_lanes_changed += !same(st[i], before[i]);
        }
      }
    }
    INFO("kernel " << L);
    CHECK(digests == pool.size());
    CHECK(calls > 200);
    CHECK(null_lanes > 0);
    CHECK(null_lanes_changed == 0);
  }
}

TEST_CASE("md5mb: calls with no work change nothing", "[md5]") {
  std::vector<unsigned char> buf(64 * 3, 0x5a);
  for (int L : kernels()) {
    ForcedLanes f(L);
    mb::State st[mb::kMaxLanes], before[mb::kMaxLanes];
    for (int i = 0; i < mb::kMaxLanes; ++i) st[i] = before[i] = mb::State{1u + i, 2u, 3u, 4u};
    const unsigned char* none[mb::kMaxLanes] = {};
    mb::compress(st, none, 3);  // every lane null
    const unsigned char* all[mb::kMaxLanes];
    std::fill(std::begin(all), std::end(all), buf.data());
    mb::compress(st, all, 0);  // no blocks
    bool unchanged = true;
    for (int i = 0; i < mb::kMaxLanes; ++i) unchanged = unchanged && same(st[i], before[i]);
    INFO("kernel " << L);
    CHECK(unchanged);
  }
}

TEST_CASE("md5mb: throughput", "[.][md5bench]") {
  constexpr std::size_t kPerLane = 256 * 1024, kBlocks = kPerLane / 64;
  std::vector<std::vector<unsigned char>> bufs(mb::kMaxLanes, std::vector<unsigned char>(kPerLane));
  std::mt19937_64 rng(5);
  for (auto& b : bufs)
    for (auto& c : b) c = static_cast<unsigned char>(rng());

  // Best of several runs, in MB/s (10^6 bytes) of data hashed by the active lanes together.
  auto measure = [&](auto&& run, std::size_t bytes) {
    double best = 1e30;
    for (int rep = 0; rep < 15; ++rep) {
      auto t0 = std::chrono::steady_clock::now();
      run();
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return static_cast<double>(bytes) / best / 1e6;
  };
  auto kernel = [&](int L, int active) {
    ForcedLanes f(L);
    mb::State st[mb::kMaxLanes];
    const unsigned char* data[mb::kMaxLanes] = {};
    for (int i = 0; i < active; ++i) data[i] = bufs[i].data();
    return measure(
        [&] {
          std::fill(std::begin(st), std::end(st), mb::kInit);
          mb::compress(st, data, kBlocks);
        },
        active * kPerLane);
  };

  std::printf("md5 throughput, %zu KiB per lane, MB/s of data hashed:\n", kPerLane / 1024);
  unsigned char out[16];
  std::printf("  OpenSSL EVP MD5, 1 stream        %8.0f\n",
              measure([&] { EVP_Digest(bufs[0].data(), kPerLane, out, nullptr, EVP_md5(), nullptr); }, kPerLane));
  std::printf("  scalar, 1 lane                   %8.0f\n", kernel(1, 1));
  for (int L : kernels()) {
    if (L == 1) continue;
    const char* name = L == 16 ? "AVX-512" : "AVX2";
    for (int active : {1, 4, L}) std::printf("  %-7s %2d of %2d lanes active   %8.0f\n", name, active, L, kernel(L, active));
  }
}
