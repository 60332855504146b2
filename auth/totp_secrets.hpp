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
// Accepts `code` once (RFC 6238 section 5.2): true when it is the user's code for now or a step
// next to it, and of a later step than every code accepted before; that step is then recorded
// (users.totp_last_step, migration 403), so a code seen by someone else cannot sign in again.
bool use_totp_code(pqxx::work& w, const MasterKey& mk, storage::UserId user, const std::string& code, std::int64_t now);
// Stores a newly made secret: its codes start a new sequence (store_totp_secret alone re-seals
// the same secret and keeps the last accepted step).
void start_totp_secret(pqxx::work& w, const MasterKey& mk, storage::UserId user, std::string_view raw);
// Forgets the secret (two-factor sign-in turned off).
void clear_totp_secret(pqxx::work& w, storage::UserId user);
// Seals every legacy clear secret; returns how many rows it sealed.
int seal_clear_totp_secrets(pqxx::work& w, const MasterKey& mk);

}  // namespace depot::auth
