// Invites for the invite-only sign-up mode: a random code given to one person, stored only as its
// SHA-256, single-use, expiring, optionally bound to one email address.
#pragma once
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "storage/types.hpp"

namespace depot::auth {

// Inside the caller's transaction: a new invite valid for `days` days; returns the code in clear
// (shown once). created_by may be empty (an operator on the command line).
std::string create_invite(pqxx::work& w, std::optional<storage::UserId> created_by, const std::string& email, int days);

}  // namespace depot::auth
