#include "auth/invites.hpp"

#include "auth/tokens.hpp"

namespace depot::auth {

std::string create_invite(pqxx::work& w, std::optional<storage::UserId> created_by, const std::string& email, int days) {
  std::string code = random_token(18);
  w.exec_params(
      "INSERT INTO invites (code_hash, email, created_by, expires_at) VALUES ($1, NULLIF($2, ''), $3, now() + "
      "make_interval(days => $4))",
      sha256_hex(code), email, created_by, days);
  return code;
}

}  // namespace depot::auth
