#include <catch2/catch.hpp>

#include "admin-ui/api_router.hpp"

using namespace depot::console;
using V = depot::http::bhttp::verb;

TEST_CASE("console API routes to typed endpoints", "[console]") {
  auto r = route(V::post, "/api/v1/auth/login");
  REQUIRE(r.endpoint);
  CHECK(r.endpoint->op == Op::login);
  CHECK(r.endpoint->access == Access::anyone);

  r = route(V::delete_, "/api/v1/users/alice/keys/DK123");
  REQUIRE(r.endpoint);
  CHECK(r.endpoint->op == Op::keys_revoke);
  CHECK(r.endpoint->params == std::vector<std::string>{"alice", "DK123"});

  r = route(V::delete_, "/api/v1/bans/ip%3A127.0.0.1");
  REQUIRE(r.endpoint);
  CHECK(r.endpoint->params[0] == "ip:127.0.0.1");
  CHECK(r.endpoint->access == Access::admin);

  r = route(V::get, "/api/v1/users/");
  REQUIRE(r.endpoint);
  CHECK(r.endpoint->op == Op::users_list);

  r = route(V::put, "/api/v1/users");
  CHECK_FALSE(r.endpoint);
  CHECK(r.path_known);  // 405

  r = route(V::get, "/api/v1/nothing");
  CHECK_FALSE(r.endpoint);
  CHECK_FALSE(r.path_known);

  r = route(V::get, "/api/v1/users//keys");
  CHECK_FALSE(r.endpoint);
  CHECK(route(V::get, "/api/v2/me").endpoint == std::nullopt);
}
