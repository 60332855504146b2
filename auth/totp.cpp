#include "auth/totp.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>

#include "auth/tokens.hpp"
#include "src/http/semantics.hpp"

namespace depot::auth {

std::string totp_code(const std::string& secret, std::int64_t t) {
  std::uint64_t counter = std::uint64_t(t / 30);
  unsigned char msg[8];
  for (int i = 7; i >= 0; --i) {
    msg[i] = counter & 0xff;
    counter >>= 8;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), secret.data(), int(secret.size()), msg, sizeof msg, md, &len);
  int off = md[len - 1] & 0x0f;
  std::uint32_t bin = (std::uint32_t(md[off] & 0x7f) << 24) | (std::uint32_t(md[off + 1]) << 16) |
                      (std::uint32_t(md[off + 2]) << 8) | std::uint32_t(md[off + 3]);
  char out[8];
  std::snprintf(out, sizeof out, "%06u", bin % 1000000);
  return out;
}

bool totp_check(const std::string& secret, const std::string& code, std::int64_t t) {
  return totp_step_of(secret, code, t).has_value();
}

std::optional<std::int64_t> totp_step_of(const std::string& secret, const std::string& code, std::int64_t t) {
  std::optional<std::int64_t> step;
  for (int d = -1; d <= 1; ++d)  // all three compared, whichever matches
    if (constant_time_equal(totp_code(secret, t + d * 30), code)) step = t / 30 + d;
  return step;
}

std::string totp_uri(const std::string& issuer, const std::string& account, const std::string& secret) {
  return "otpauth://totp/" + http::percent_encode(issuer, false) + ":" + http::percent_encode(account, false) +
         "?secret=" + base32(secret) + "&issuer=" + http::percent_encode(issuer, false) + "&algorithm=SHA1&digits=6&period=30";
}

}  // namespace depot::auth
