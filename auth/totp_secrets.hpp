// TOTP secrets at rest: sealed under the server master key (AES-256-GCM, like S3 secrets) in
// users.totp_secret_enc. users.totp_secret held them in clear before migration 302; those rows
// are sealed (and the clear column set to NULL) by seal_clear_totp_secrets at server start and,
// should one be left, by load_totp_secret when it first reads it.
// All functions run inside the caller's transaction; thread-safety is that of MasterKey (const).
#pragma once
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

#include "auth/access_keys.hpp"
#include "storage/types.hpp"

namespace depot::auth {

// Replaces the user's secret (raw bytes, not base32) with a sealed copy.
void store_totp_secret(pqxx::work& w, const MasterKey& mk, storage::UserId user, std::string_view raw);
// The user's raw secret; nullopt when there is none or it cannot be unsealed (wrong master key).
// A legacy clear secret is sealed on the way.
std::optional<std::string> load_totp_secret(pqxx::work& w, const MasterKey& mk, storage::UserId user);
// Forgets the secret (two-factor sign-in turned off).
void clear_totp_secret(pqxx::work& w, storage::UserId user);
// Seals every legacy clear secret; returns how many rows it sealed.
int seal_clear_totp_secrets(pqxx::work& w, const MasterKey& mk);

}  // namespace depot::auth
