#include <catch2/catch.hpp>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <thread>

#include "protocols/webdav/basic_auth.hpp"

using namespace depot::webdav;
using namespace std::chrono_literals;

TEST_CASE("Basic authorization header", "[webdav][auth]") {
  auto c = parse_basic_authorization("Basic YWxpY2U6czNjcjN0OndpdGg6Y29sb25z");  // alice:s3cr3t:with:colons
  REQUIRE(c);
  CHECK(c->name == "alice");
  CHECK(c->password == "s3cr3t:with:colons");
  CHECK(parse_basic_authorization("basic YWxpY2U6eA=="));
  CHECK_FALSE(parse_basic_authorization(""));
  CHECK_FALSE(parse_basic_authorization("Bearer abc"));
  CHECK_FALSE(parse_basic_authorization("Basic YWxpY2UAeHl6OnB3"));  // "alice\0xyz:pw": not alice
  CHECK_FALSE(parse_basic_authorization("Basic YQpiOnB3"));          // "a\nb:pw"
  CHECK_FALSE(parse_basic_authorization("Basic !!!"));
  CHECK_FALSE(parse_basic_authorization("Basic YWxpY2U="));  // no colon
  CHECK_FALSE(parse_basic_authorization("Basic //46cGFzcw=="));  // a name that is not UTF-8 ("\xff\xfe:pass")
}

TEST_CASE("credential cache: keyed by password and version, expires", "[webdav][auth]") {
  CredentialCache cache(60s);
  auto t0 = CredentialCache::Clock::now();
  BasicCredentials good{"alice", "pw"};
  cache.insert(good, {7, "alice", 1}, t0);
  CHECK(cache.contains(good, 1, t0 + 10s));
  auto e = cache.find(good, t0 + 10s);
  REQUIRE(e);
  CHECK(e->user == 7);
  CHECK(e->name == "alice");
  CHECK_FALSE(cache.contains(BasicCredentials{"alice", "pw2"}, 1, t0));
  CHECK_FALSE(cache.find(BasicCredentials{"alice", "pw2"}, t0));
  CHECK_FALSE(cache.contains(good, 2, t0));  // password changed since
  CHECK_FALSE(cache.contains(good, 1, t0 + 61s));
  cache.insert(good, {7, "alice", 1}, t0);
  cache.erase(good);
  CHECK_FALSE(cache.find(good, t0));
}

TEST_CASE("credential cache: one caller renews an entry in the last sixth of its life", "[webdav][auth]") {
  CredentialCache cache(60s);
  auto t0 = CredentialCache::Clock::now();
  BasicCredentials good{"alice", "pw"};
  CHECK_FALSE(cache.claim_refresh(good, t0));  // nothing cached
  cache.insert(good, {7, "alice", 1}, t0);
  CHECK_FALSE(cache.claim_refresh(good, t0 + 49s));
  CHECK_FALSE(cache.claim_refresh(BasicCredentials{"alice", "pw2"}, t0 + 51s));
  CHECK(cache.claim_refresh(good, t0 + 51s));
  CHECK_FALSE(cache.claim_refresh(good, t0 + 52s));  // once: the first caller renews it
  CHECK(cache.find(good, t0 + 59s));                  // and it counts meanwhile
  // Renewed: a new life, a new point to renew at.
  cache.insert(good, {7, "alice", 1}, t0 + 55s);
  CHECK(cache.find(good, t0 + 105s));
  CHECK_FALSE(cache.claim_refresh(good, t0 + 100s));
  CHECK(cache.claim_refresh(good, t0 + 106s));
  // A renewal that never came: the entry still expires.
  CHECK_FALSE(cache.find(good, t0 + 116s));
  CHECK_FALSE(cache.claim_refresh(good, t0 + 116s));
}

namespace {

// One request of the single-check test: waits for another's check or checks (for `check_time`,
// then caches the credentials when `succeed`). Counts the checks it ran.
boost::asio::awaitable<void> sign_in(CredentialCache& cache, BasicCredentials creds, bool succeed,
                                     std::atomic<int>& checks, std::atomic<int>& signed_in) {
  auto known = cache.find(creds);
  std::optional<CredentialCache::Check> check;
  if (!known) check.emplace(cache, creds);
  while (!known) {
    const bool waited = co_await check->join();
    if (!waited) break;
    known = cache.find(creds);
  }
  if (!known) {
    ++checks;
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, 20ms);  // the password hash
    co_await t.async_wait(boost::asio::use_awaitable);
    if (!succeed) co_return;
    cache.insert(creds, {7, creds.name, 1});
  }
  ++signed_in;
}

}  // namespace

TEST_CASE("credential cache: concurrent sign-ins with the same credentials check the password once", "[webdav][auth]") {
  CredentialCache cache;
  boost::asio::io_context io;
  std::atomic<int> checks{0}, signed_in{0};
  auto run = [&](const BasicCredentials& creds, bool succeed) {
    checks = 0;
    signed_in = 0;
    for (int i = 0; i < 16; ++i) boost::asio::co_spawn(io, sign_in(cache, creds, succeed, checks, signed_in), boost::asio::detached);
    io.restart();
    std::thread other([&] { io.run(); });  // two threads, as the server's I/O threads
    io.run();
    other.join();
  };
  run({"alice", "right"}, true);
  CHECK(checks == 1);
  CHECK(signed_in == 16);
  // Cached now: no check at all.
  run({"alice", "right"}, true);
  CHECK(checks == 0);
  CHECK(signed_in == 16);
  // A failed check leaves nothing cached: each waiter then checks for itself, one at a time.
  run({"alice", "wrong"}, false);
  CHECK(checks == 16);
  CHECK(signed_in == 0);
}
