#include <catch2/catch.hpp>

#include "admin-ui/stripe.hpp"
#include "auth/tokens.hpp"

using namespace depot;

namespace {
std::string sign(const std::string& secret, std::int64_t t, const std::string& body) {
  return auth::hex(auth::hmac_sha256(secret, std::to_string(t) + "." + body));
}
}  // namespace

TEST_CASE("Stripe webhook signatures", "[billing]") {
  std::string body = R"({"id":"evt_1"})";
  std::int64_t t = 1700000000;
  auto good = "t=" + std::to_string(t) + ",v1=" + sign("whsec_a", t, body);
  CHECK(console::verify_stripe_signature(good, body, {"whsec_a"}, t + 10));
  // rotation: any configured secret, any v1
  CHECK(console::verify_stripe_signature(good, body, {"whsec_new", "whsec_a"}, t));
  auto two = "t=" + std::to_string(t) + ",v1=deadbeef,v1=" + sign("whsec_a", t, body);
  CHECK(console::verify_stripe_signature(two, body, {"whsec_a"}, t));
  CHECK_FALSE(console::verify_stripe_signature(good, body, {"whsec_b"}, t));
  CHECK_FALSE(console::verify_stripe_signature(good, body + " ", {"whsec_a"}, t));
  CHECK_FALSE(console::verify_stripe_signature(good, body, {"whsec_a"}, t + 301));  // stale
  CHECK_FALSE(console::verify_stripe_signature("v1=" + sign("whsec_a", t, body), body, {"whsec_a"}, t));
  CHECK_FALSE(console::verify_stripe_signature(good, body, {}, t));
  CHECK(console::split_secrets(" a, ,b ") == std::vector<std::string>{"a", "b"});
}
