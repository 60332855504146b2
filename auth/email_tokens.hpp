// EmailTokens: the single-use, expiring tokens carried by links in emails (verify the address,
// reset the password, confirm a new address). Only the SHA-256 of a token is stored.
// Thread-safety: all methods may be called concurrently.
#pragma once
#include <chrono>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "src/result.hpp"
#include "storage/types.hpp"

namespace depot::auth {

struct EmailToken {
  storage::UserId user = 0;
  std::string purpose;    // verify, reset, email_change
  std::string new_email;  // email_change only
};

// Inside the caller's transaction: a new token (returned in clear, to put in the mail). Earlier
// unused tokens of the same user and purpose stop working.
std::string issue_email_token(pqxx::work& w, storage::UserId user, const std::string& purpose,
                              std::chrono::seconds ttl, const std::string& new_email = {});
// Inside the caller's transaction: marks the token used and returns what it was for; a token
// unknown, used, expired or issued for another purpose gives invalid_argument.
Result<EmailToken> consume_email_token(pqxx::work& w, const std::string& token, const std::string& purpose);

}  // namespace depot::auth
