#include <catch2/catch.hpp>

#include "protocols/webdav/dav_headers.hpp"

using namespace depot::webdav;
using namespace std::chrono_literals;

TEST_CASE("Depth header", "[webdav][headers]") {
  CHECK(parse_depth("", Depth::infinity) == Depth::infinity);
  CHECK(parse_depth("0", Depth::infinity) == Depth::zero);
  CHECK(parse_depth(" 1 ", Depth::zero) == Depth::one);
  CHECK(parse_depth("Infinity", Depth::zero) == Depth::infinity);
  CHECK_FALSE(parse_depth("2", Depth::zero));
  CHECK_FALSE(parse_depth("infinite", Depth::zero));
}

TEST_CASE("Overwrite header", "[webdav][headers]") {
  CHECK(parse_overwrite("") == true);
  CHECK(parse_overwrite("T") == true);
  CHECK(parse_overwrite("F") == false);
  CHECK_FALSE(parse_overwrite("yes"));
}

TEST_CASE("Timeout header", "[webdav][headers]") {
  CHECK(parse_timeout("", 600s, 3600s) == 600s);
  CHECK(parse_timeout("Second-100", 600s, 3600s) == 100s);
  CHECK(parse_timeout("Infinite", 600s, 3600s) == 3600s);
  CHECK(parse_timeout("Infinite, Second-4100000000", 600s, 3600s) == 3600s);
  CHECK(parse_timeout("Second-4100000000", 600s, 3600s) == 3600s);
  CHECK(parse_timeout("Second-99999999999999999999999", 600s, 3600s) == 3600s);
  CHECK(parse_timeout("Bogus, Second-5", 600s, 3600s) == 5s);
  CHECK(parse_timeout("Second-x", 600s, 3600s) == 600s);
}

TEST_CASE("Destination header", "[webdav][headers]") {
  auto d = parse_destination("http://example.com:8080/dav/b/a%20b?x=1");
  REQUIRE(d);
  CHECK(d->authority == "example.com:8080");
  CHECK(d->path == "/dav/b/a%20b");
  auto p = parse_destination("/dav/b/c#frag");
  REQUIRE(p);
  CHECK(p->authority.empty());
  CHECK(p->path == "/dav/b/c");
  CHECK_FALSE(parse_destination(""));
  CHECK_FALSE(parse_destination("ftp://x/y"));
  CHECK_FALSE(parse_destination("relative/path"));
}

TEST_CASE("Lock-Token header", "[webdav][headers]") {
  CHECK(parse_lock_token_header("<opaquelocktoken:abc>") == "opaquelocktoken:abc");
  CHECK(parse_lock_token_header("opaquelocktoken:abc") == "opaquelocktoken:abc");  // Windows
  CHECK_FALSE(parse_lock_token_header("<opaquelocktoken:abc"));
  CHECK_FALSE(parse_lock_token_header("<>"));
  CHECK_FALSE(parse_lock_token_header(""));
}

TEST_CASE("Fragments do not name another resource", "[webdav][headers]") {
  CHECK(strip_fragment("/dav/b/f#x") == "/dav/b/f");
  CHECK(strip_fragment("/dav/b/f") == "/dav/b/f");
}
