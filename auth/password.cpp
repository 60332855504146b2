#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <stdexcept>

#include "auth/users.hpp"

namespace depot::auth {

namespace {
// argon2id parameters: 64 MiB, 3 passes, 1 lane (OWASP's first recommendation).
constexpr uint32_t kTimeCost = 3;
constexpr uint32_t kMemoryKiB = 64 * 1024;
constexpr uint32_t kParallelism = 1;
constexpr std::size_t kSaltLen = 16;
constexpr std::size_t kHashLen = 32;

// The most common passwords (from public breach statistics); refused whatever their length.
constexpr std::array<const char*, 40> kCommon = {
    "password", "password1", "password123", "12345678", "123456789", "1234567890", "qwertyuiop", "qwerty123",
    "iloveyou", "11111111", "00000000", "abc12345", "passw0rd", "sunshine", "princess", "football", "baseball",
    "welcome1", "admin123", "letmein1", "trustno1", "superman", "whatever", "starwars", "dragon12", "monkey12",
    "michael1", "changeme", "qwertyui", "asdfghjk", "zxcvbnm1", "1q2w3e4r", "87654321", "12341234", "aaaaaaaa",
    "password!", "welcome123", "administrator", "depotdepot", "letmeinnow"};
}  // namespace

std::optional<std::string> password_problem(std::string_view password) {
  if (password.size() < 8) return "the password must be at least 8 characters long";
  if (password.size() > 1024) return "the password must be at most 1024 characters long";
  std::string lower(password);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* c : kCommon)
    if (lower == c) return "the password is one of the most common passwords; choose another";
  return std::nullopt;
}

std::string hash_password(std::string_view password) {
  unsigned char salt[kSaltLen];
  if (RAND_bytes(salt, sizeof salt) != 1) throw std::runtime_error("RAND_bytes failed");
  std::size_t enc_len = argon2_encodedlen(kTimeCost, kMemoryKiB, kParallelism, kSaltLen, kHashLen, Argon2_id);
  std::string encoded(enc_len, '\0');
  int rc = argon2id_hash_encoded(kTimeCost, kMemoryKiB, kParallelism, password.data(), password.size(), salt,
                                 kSaltLen, kHashLen, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) throw std::runtime_error(std::string("argon2: ") + argon2_error_message(rc));
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

bool verify_password_hash(std::string_view encoded, std::string_view password) {
  std::string enc(encoded);  // argon2 wants a NUL-terminated string
  // argon2_verify compares in constant time.
  return argon2id_verify(enc.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace depot::auth
