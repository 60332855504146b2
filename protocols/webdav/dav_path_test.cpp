#include <catch2/catch.hpp>

#include "protocols/webdav/dav_path.hpp"

using namespace depot::webdav;

TEST_CASE("DAV paths map to buckets and keys", "[webdav][path]") {
  auto root = parse_dav_path("/dav");
  REQUIRE(root.ok());
  CHECK(root->kind == DavPath::Kind::root);
  CHECK(parse_dav_path("/dav/")->kind == DavPath::Kind::root);

  auto b = parse_dav_path("/dav/photos/");
  REQUIRE(b.ok());
  CHECK(b->kind == DavPath::Kind::bucket);
  CHECK(b->bucket == "photos");
  CHECK(b->lock_path(true) == "/photos/");

  auto m = parse_dav_path("/dav/photos/2024/a%20b%23c%25d+e.jpg");
  REQUIRE(m.ok());
  CHECK(m->kind == DavPath::Kind::member);
  CHECK(m->key == "2024/a b#c%d+e.jpg");
  CHECK(m->parent_prefix() == "2024/");
  CHECK(m->name() == "a b#c%d+e.jpg");
  CHECK(m->href(false) == "/dav/photos/2024/a%20b%23c%25d%2Be.jpg");
  CHECK(m->lock_path(false) == "/photos/2024/a b#c%d+e.jpg");

  auto c = parse_dav_path("/dav/photos/2024/");
  REQUIRE(c.ok());
  CHECK(c->trailing_slash);
  CHECK(c->key == "2024");
  CHECK(c->collection_prefix() == "2024/");
  CHECK(c->href(true) == "/dav/photos/2024/");
}

TEST_CASE("DAV paths that cannot name a key are refused", "[webdav][path]") {
  for (const char* bad : {"/davx", "/dav/b//x", "/dav/b/./x", "/dav/b/../x", "/dav/../x", "/dav/b/x/..", "/dav/b/%zz"}) {
    INFO(bad);
    CHECK_FALSE(parse_dav_path(bad).ok());
  }
  CHECK(parse_dav_path("/dav/b/" + std::string(2000, 'a')).code() == depot::Errc::too_large);
  CHECK(parse_dav_path("/dav/b/" + std::string(1024, 'a')).ok());  // a file may use all 1024 bytes, as over S3
  CHECK(parse_dav_path("/dav/b/" + std::string(1024, 'a') + "/").code() == depot::Errc::too_large);
  CHECK(parse_dav_path("/dav/b/" + std::string(1025, 'a')).code() == depot::Errc::too_large);
}

TEST_CASE("showable keys", "[webdav][path]") {
  CHECK(key_is_showable("a/b.txt"));
  CHECK(key_is_showable("a/b/"));
  CHECK_FALSE(key_is_showable("a//b"));
  CHECK_FALSE(key_is_showable("/a"));
  CHECK_FALSE(key_is_showable("a/./b"));
  CHECK_FALSE(key_is_showable("a/.."));
  CHECK_FALSE(key_is_showable("a//"));
}
