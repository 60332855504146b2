// TOTP (RFC 6238): HMAC-SHA1, 30-second steps, 6 digits, one step of clock drift either way.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace depot::auth {

// The code for a raw secret at Unix time t.
std::string totp_code(const std::string& secret, std::int64_t t);
// True if code matches the step of t or a neighbour.
bool totp_check(const std::string& secret, const std::string& code, std::int64_t t);
// The step (Unix time / 30) whose code `code` is, among t's and its neighbours; nullopt if none.
std::optional<std::int64_t> totp_step_of(const std::string& secret, const std::string& code, std::int64_t t);
// otpauth://totp/ URI for authenticator apps (secret in base32).
std::string totp_uri(const std::string& issuer, const std::string& account, const std::string& secret);

}  // namespace depot::auth
