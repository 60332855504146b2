#include <catch2/catch.hpp>

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
  CHECK_FALSE(parse_basic_authorization("Basic !!!"));
  CHECK_FALSE(parse_basic_authorization("Basic YWxpY2U="));  // no colon
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
