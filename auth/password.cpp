#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
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

// The most common passwords of 8 characters or more (from public breach statistics), refused
// whatever their case; shorter ones fail the length rule anyway.
constexpr const char* kCommon[] = {
    "password", "password1", "password12", "password123", "password1234", "password!", "password01", "passw0rd",
    "p@ssw0rd", "p@ssword", "pa55word", "12345678", "123456789", "1234567890", "12345678910", "0123456789",
    "87654321", "987654321", "0987654321", "11111111", "111111111", "00000000", "88888888", "12341234", "11223344",
    "12121212", "123123123", "147258369", "159357456", "123456abc", "123qweasd", "1q2w3e4r", "1q2w3e4r5t",
    "1q2w3e4r5t6y", "1qaz2wsx", "1qazxsw2", "zaq12wsx", "zaq1zaq1", "qazwsxedc", "qwertyuiop", "qwerty123",
    "qwerty12", "qwerty1234", "qwertyui", "qwer1234", "1234qwer", "asdfghjk", "asdfghjkl", "asdf1234", "zxcvbnm1",
    "zxcvbnm123", "abc12345", "abcd1234", "abcdefgh", "a1234567", "aa123456", "aaaaaaaa", "iloveyou", "iloveyou1",
    "iloveyou2", "sunshine", "sunshine1", "princess", "princess1", "football", "football1", "baseball", "basketball",
    "welcome1", "welcome123", "admin123", "admin1234", "administrator", "letmein1", "letmeinnow", "trustno1",
    "superman", "batman123", "whatever", "starwars", "dragon12", "monkey12", "michael1", "jennifer", "jordan23",
    "michelle", "mustang1", "shadow12", "master12", "hello123", "charlie1", "liverpool", "chelsea1", "arsenal1",
    "manchester", "samsung1", "pokemon1", "blink182", "computer", "internet", "changeme", "changeme1", "test1234",
    "testtest", "secret123", "qwerty12345", "1234567a", "q1w2e3r4", "q1w2e3r4t5", "google123", "linkedin",
    "facebook", "starwars1", "whatever1", "freedom1", "matrix123", "depotdepot"};
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
