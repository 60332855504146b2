#include "src/crypto/md5_stream.hpp"

#include <openssl/evp.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <random>
#include <thread>
#include <vector>

#include "src/crypto/checksum.hpp"

namespace asio = boost::asio;
using depot::crypto::Md5Stream;

namespace {

std::string openssl_md5(const std::string& s) {
  unsigned char out[16];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), out, &n, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<char*>(out), n);
}

// Hashes `msg` in pieces of random sizes (tiny, odd, and farm-sized), each piece submitted, then
// another coroutine's turn (as a writer's disk write would give), then waited for.
asio::awaitable<void> hash_in_pieces(const std::string& msg, unsigned seed, std::string& out) {
  std::mt19937 rng(seed);
  Md5Stream md5;
  std::size_t pos = 0;
  while (pos < msg.size()) {
    std::size_t n;
    switch (rng() % 4) {
      case 0: n = rng() % 100; break;
      case 1: n = Md5Stream::kFarmMin + rng() % 70000; break;
      case 2: n = 256 * 1024; break;
      default: n = rng() % 5000; break;
    }
    n = std::min(n, msg.size() - pos);
    md5.submit(msg.data() + pos, n);
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    co_await md5.wait();
    pos += n;
  }
  out = md5.finish();
}

}  // namespace

TEST_CASE("md5 stream: concurrent uploads hashed through the farm match OpenSSL", "[md5]") {
  std::mt19937 rng(7);
  const std::size_t sizes[] = {0, 1, 63, 64, 65, 32767, 32768, 32769, 262144, 262145, 1048576 + 3, 3000000};
  std::vector<std::string> msgs;
  for (int copy = 0; copy < 4; ++copy) {
    for (std::size_t s : sizes) {
      std::string m(s, '\0');
      for (auto& c : m) c = char(rng());
      msgs.push_back(std::move(m));
    }
  }
  const auto before = depot::crypto::md5_farm_stats();
  std::vector<std::string> got(msgs.size());
  // Two threads, as the server's I/O threads: every stream runs at once.
  asio::io_context io1, io2;
  for (std::size_t i = 0; i < msgs.size(); ++i)
    asio::co_spawn(i % 2 ? io1 : io2, hash_in_pieces(msgs[i], unsigned(i), got[i]), asio::detached);
  std::thread t([&] { io2.run(); });
  io1.run();
  t.join();
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    INFO("message " << i << " of " << msgs[i].size() << " bytes");
    CHECK(depot::crypto::to_hex(got[i]) == depot::crypto::to_hex(openssl_md5(msgs[i])));
  }
  const auto after = depot::crypto::md5_farm_stats();
  if (depot::crypto::md5mb::lanes() > 1) {
    CHECK(after.jobs > before.jobs);
    // Some of the farm's kernel calls had more than one stream in their lanes.
    CHECK(after.kernel_calls > before.kernel_calls);
  }
}

TEST_CASE("md5 stream: a stream destroyed with a hash in the farm waits for it", "[md5]") {
  std::string big(4 << 20, 'x');
  for (int i = 0; i < 20; ++i) {
    Md5Stream md5;
    md5.submit(big.data(), big.size());
  }  // no wait(): the destructor waits, and the bytes outlive it
  Md5Stream md5;
  md5.submit(big.data(), 100);
  md5.submit(big.data() + 100, big.size() - 100);  // a second submit settles the first itself
  CHECK(depot::crypto::to_hex(md5.finish()) == depot::crypto::to_hex(openssl_md5(big)));
}
