// JWT (RFC 7519) with HS256 only, through OpenSSL's HMAC. sign() makes a compact token from a
// JSON claims object; verify() checks the header, the signature (constant time) and `exp`.
// Revocation is the caller's business (the API checks the token's `sid` against api_tokens).
#pragma once
#include <boost/json.hpp>
#include <cstdint>
#include <string>

#include "src/result.hpp"

namespace depot::auth {

std::string jwt_sign(const boost::json::object& claims, const std::string& key);
// The claims if the token is well formed, signed with key, and not expired at `now` (Unix s).
Result<boost::json::object> jwt_verify(std::string_view token, const std::string& key, std::int64_t now);

}  // namespace depot::auth
