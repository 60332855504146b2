#include "auth/jwt.hpp"

#include "auth/tokens.hpp"

namespace depot::auth {

std::string jwt_sign(const boost::json::object& claims, const std::string& key) {
  std::string head = base64url(R"({"alg":"HS256","typ":"JWT"})");
  std::string body = base64url(boost::json::serialize(claims));
  std::string input = head + "." + body;
  return input + "." + base64url(hmac_sha256(key, input));
}

Result<boost::json::object> jwt_verify(std::string_view token, const std::string& key, std::int64_t now) {
  auto bad = [] { return make_error(Errc::unauthenticated, "the token is not valid"); };
  auto d1 = token.find('.');
  if (d1 == std::string_view::npos) return bad();
  auto d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) return bad();
  auto sig = base64url_decode(token.substr(d2 + 1));
  if (!sig || !constant_time_equal(*sig, hmac_sha256(key, token.substr(0, d2)))) return bad();
  auto head = base64url_decode(token.substr(0, d1));
  auto body = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  if (!head || !body) return bad();
  boost::system::error_code ec;
  auto hv = boost::json::parse(*head, ec);
  if (ec || !hv.is_object() || !hv.as_object().contains("alg") || hv.as_object().at("alg") != "HS256") return bad();
  auto bv = boost::json::parse(*body, ec);
  if (ec || !bv.is_object()) return bad();
  auto& claims = bv.as_object();
  auto exp = claims.if_contains("exp");
  if (!exp || !exp->is_int64() || exp->as_int64() <= now)
    return make_error(Errc::unauthenticated, "the token has expired");
  return claims;
}

}  // namespace depot::auth
