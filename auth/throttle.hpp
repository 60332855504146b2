// Throttle: brute-force defence shared by every server, with the counters in PostgreSQL.
// Failures (console logins, WebDAV Basic, S3 signatures) count per address ("ip:1.2.3.4") and
// per account ("user:alice") within a window; each failure past the third is answered after a
// growing delay (back-off), and at the threshold the scope is banned for a while. Admins list
// and lift bans. An address is allowed four times the account threshold (several people may share
// one address behind NAT). Stateless in the process: construct one wherever needed.
// Thread-safety: all methods may be called concurrently.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "src/config.hpp"
#include "src/result.hpp"
#include "storage/types.hpp"

namespace depot::storage { class Database; }

namespace depot::auth {

struct Ban {
  std::string scope;  // ip:ADDR or user:NAME
  int failures = 0;
  storage::TimePoint banned_until;
};

class Throttle {
 public:
  Throttle(storage::Database& db, const Config& c)
      : db_(db), threshold_(c.auth_ban_threshold), ban_(c.auth_ban_duration), window_(std::chrono::seconds(900)) {}

  // Seconds left when the address or the account is banned; nullopt when neither is.
  boost::asio::awaitable<std::optional<std::int64_t>> banned(std::string addr, std::string account);
  // Counts a failure for both scopes (account may be empty); returns the back-off to wait
  // before answering.
  boost::asio::awaitable<std::chrono::milliseconds> record_failure(std::string addr, std::string account);
  // Counts one use of `scope` in the current window; false when the window already had `limit`
  // (the use is still counted). For rates of actions other than sign-in (scope "signup:ADDR").
  boost::asio::awaitable<bool> take(std::string scope, int limit);
  // The window the counters count in.
  std::chrono::seconds window() const { return window_; }
  // A success clears the account's counter (not the address's).
  boost::asio::awaitable<void> record_success(std::string account);
  boost::asio::awaitable<std::vector<Ban>> list_bans();
  // not_found if the scope is not banned.
  boost::asio::awaitable<Result<void>> lift(std::string scope);
  // The same two for the command line (`depot ban list|lift`), on the calling thread.
  std::vector<Ban> list_bans_sync();
  Result<void> lift_sync(const std::string& scope);
  // Drops old counters (sweeper task).
  boost::asio::awaitable<void> expire();

 private:
  storage::Database& db_;
  int threshold_;
  std::chrono::seconds ban_, window_;
};

}  // namespace depot::auth
