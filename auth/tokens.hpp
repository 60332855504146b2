// Small cryptographic helpers for credentials: random tokens, hashes stored instead of tokens,
// HMAC-SHA256, base64url and constant-time comparison (OpenSSL underneath).
// Thread-safety: all functions may be called concurrently.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace depot::auth {

// n random bytes from the OpenSSL CSPRNG, as unpadded base64url (throws if the RNG fails).
std::string random_token(std::size_t n = 32);
// Lowercase hex SHA-256: what the database keeps instead of a token sent to a client.
std::string sha256_hex(std::string_view data);
// Raw 32-byte HMAC-SHA256.
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hex(std::string_view raw);
std::string base64url(std::string_view raw);
std::optional<std::string> base64url_decode(std::string_view text);
std::string base32(std::string_view raw);  // RFC 4648, no padding (TOTP secrets)
std::optional<std::string> base32_decode(std::string_view text);
// Constant time in the length of the longer input.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace depot::auth
