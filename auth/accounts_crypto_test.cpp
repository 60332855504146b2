#include <catch2/catch.hpp>

#include "auth/jwt.hpp"
#include "auth/tokens.hpp"
#include "auth/totp.hpp"

using namespace depot::auth;

TEST_CASE("base64url round trip and known values", "[accounts]") {
  CHECK(base64url("f") == "Zg");
  CHECK(base64url("fo") == "Zm8");
  CHECK(base64url("foo") == "Zm9v");
  CHECK(base64url("\xff\xfe") == "__4");
  for (std::string s : {"", "a", "ab", "abc", "abcd", "hello world!"}) CHECK(base64url_decode(base64url(s)) == s);
  CHECK_FALSE(base64url_decode("a$b").has_value());
}

TEST_CASE("base32 per RFC 4648", "[accounts]") {
  CHECK(base32("foobar") == "MZXW6YTBOI");
  CHECK(base32_decode("MZXW6YTBOI") == std::string("foobar"));
}

TEST_CASE("HMAC-SHA256 matches RFC 4231 case 2", "[accounts]") {
  CHECK(hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("constant_time_equal", "[accounts]") {
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK(constant_time_equal("", ""));
}

TEST_CASE("TOTP matches the RFC 6238 SHA-1 vectors", "[accounts]") {
  std::string secret = "12345678901234567890";
  // RFC 6238 appendix B gives 8 digits; the last 6 are the 6-digit code.
  CHECK(totp_code(secret, 59) == "287082");
  CHECK(totp_code(secret, 1111111109) == "081804");
  CHECK(totp_code(secret, 1234567890) == "005924");
  CHECK(totp_code(secret, 2000000000) == "279037");
  CHECK(totp_check(secret, "287082", 59 + 30));
  CHECK_FALSE(totp_check(secret, "287082", 59 + 90));
}

TEST_CASE("JWT HS256 sign and verify", "[accounts]") {
  boost::json::object claims{{"sub", 42}, {"exp", 2000}};
  auto t = jwt_sign(claims, "key");
  auto ok = jwt_verify(t, "key", 1000);
  REQUIRE(ok);
  CHECK(ok->at("sub").as_int64() == 42);
  CHECK_FALSE(jwt_verify(t, "other", 1000));
  CHECK_FALSE(jwt_verify(t, "key", 2000));  // expired
  auto tampered = t;
  tampered[tampered.find('.') + 2] ^= 1;
  CHECK_FALSE(jwt_verify(tampered, "key", 1000));
  CHECK_FALSE(jwt_verify("a.b", "key", 1000));
}
