// SessionStore: console sessions, server-side in PostgreSQL so any server can serve any request.
// The client holds a random token (HttpOnly cookie); the database keeps only its SHA-256, the
// user, a CSRF token the console must echo on state-changing calls, and the expiry.
// Thread-safety: all methods may be called concurrently.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "src/result.hpp"
#include "storage/types.hpp"

namespace depot::storage { class Database; }

namespace depot::auth {

struct Session {
  std::int64_t id = 0;
  storage::UserId user = 0;
  std::string csrf_token;
  std::string remote_addr;
  std::string user_agent;
  storage::TimePoint created;
  storage::TimePoint last_seen;
  storage::TimePoint expires;
};

class SessionStore {
 public:
  SessionStore(storage::Database& db, std::chrono::seconds ttl) : db_(db), ttl_(ttl) {}

  // A new session; returns it and the token for the cookie (shown nowhere else).
  boost::asio::awaitable<std::pair<Session, std::string>> create(storage::UserId user, std::string remote_addr,
                                                                std::string user_agent);
  // The live session for a token; unauthenticated if unknown or expired. Touches last_seen.
  boost::asio::awaitable<Result<Session>> lookup(std::string token);
  boost::asio::awaitable<void> remove(std::string token);
  // not_found unless the session belongs to the user.
  boost::asio::awaitable<Result<void>> remove_by_id(storage::UserId user, std::int64_t id);
  // "Sign out everywhere"; also used on password change, suspension and deletion.
  boost::asio::awaitable<void> remove_all(storage::UserId user);
  boost::asio::awaitable<std::vector<Session>> list(storage::UserId user);
  // Deletes expired sessions (sweeper task).
  boost::asio::awaitable<void> expire();

 private:
  storage::Database& db_;
  std::chrono::seconds ttl_;
};

}  // namespace depot::auth
