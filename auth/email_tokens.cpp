#include "auth/email_tokens.hpp"

#include "auth/tokens.hpp"

namespace depot::auth {

std::string issue_email_token(pqxx::work& w, storage::UserId user, const std::string& purpose, std::chrono::seconds ttl,
                              const std::string& new_email) {
  std::string token = random_token(32);
  w.exec_params("UPDATE email_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL", user,
                purpose);
  w.exec_params(
      "INSERT INTO email_tokens (token_hash, user_id, purpose, new_email, expires_at) VALUES ($1, $2, $3, NULLIF($4, ''), "
      "now() + make_interval(secs => $5))",
      sha256_hex(token), user, purpose, new_email, double(ttl.count()));
  return token;
}

Result<EmailToken> consume_email_token(pqxx::work& w, const std::string& token, const std::string& purpose) {
  if (token.empty() || token.size() > 128) return make_error(Errc::invalid_argument, "this link is not valid");
  auto r = w.exec_params(
      "UPDATE email_tokens SET used_at = now() WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND "
      "expires_at > now() RETURNING user_id, COALESCE(new_email, '')",
      sha256_hex(token), purpose);
  if (r.empty()) return make_error(Errc::invalid_argument, "this link is not valid, was already used or has expired");
  return EmailToken{r[0][0].as<storage::UserId>(), purpose, r[0][1].as<std::string>()};
}

}  // namespace depot::auth
