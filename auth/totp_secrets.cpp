#include "auth/totp_secrets.hpp"

#include "auth/tokens.hpp"
#include "auth/totp.hpp"

namespace depot::auth {

void store_totp_secret(pqxx::work& w, const MasterKey& mk, storage::UserId user, std::string_view raw) {
  w.exec_params("UPDATE users SET totp_secret_enc = $2, totp_secret = NULL WHERE id = $1", user, mk.encrypt(raw));
}

std::optional<std::string> load_totp_secret(pqxx::work& w, const MasterKey& mk, storage::UserId user) {
  auto r = w.exec_params("SELECT totp_secret_enc, totp_secret FROM users WHERE id = $1", user);
  if (r.empty()) return std::nullopt;
  if (!r[0][0].is_null()) {
    auto raw = mk.decrypt(r[0][0].as<std::string>());
    if (!raw || raw->empty()) return std::nullopt;
    return *raw;
  }
  if (r[0][1].is_null()) return std::nullopt;
  auto raw = base32_decode(r[0][1].as<std::string>());
  if (!raw || raw->empty()) return std::nullopt;
  store_totp_secret(w, mk, user, *raw);
  return raw;
}

bool use_totp_code(pqxx::work& w, const MasterKey& mk, storage::UserId user, const std::string& code, std::int64_t now) {
  auto secret = load_totp_secret(w, mk, user);
  if (!secret) return false;
  auto step = totp_step_of(*secret, code, now);
  if (!step) return false;
  // The row lock orders two sign-ins racing with one code: the second finds the step taken.
  return !w.exec_params("UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2 RETURNING 1", user,
                        *step)
              .empty();
}

void start_totp_secret(pqxx::work& w, const MasterKey& mk, storage::UserId user, std::string_view raw) {
  store_totp_secret(w, mk, user, raw);
  w.exec_params("UPDATE users SET totp_last_step = 0 WHERE id = $1", user);
}

void clear_totp_secret(pqxx::work& w, storage::UserId user) {
  w.exec_params("UPDATE users SET totp_secret_enc = NULL, totp_secret = NULL WHERE id = $1", user);
}

int seal_clear_totp_secrets(pqxx::work& w, const MasterKey& mk) {
  int n = 0;
  for (const auto& r : w.exec("SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL FOR UPDATE")) {
    auto id = r[0].as<storage::UserId>();
    auto raw = base32_decode(r[1].as<std::string>());
    if (raw && !raw->empty()) {
      store_totp_secret(w, mk, id, *raw);
    } else {
      // Not base32: no code could ever match it. Drop it but keep two-factor sign-in on, so
      // the account stays behind its recovery codes.
      w.exec_params("UPDATE users SET totp_secret = NULL WHERE id = $1", id);
    }
    ++n;
  }
  return n;
}

}  // namespace depot::auth
