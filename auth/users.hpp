// UserStore: accounts, their passwords (argon2id) and plans.
// Thread-safety: all methods may be called concurrently.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "src/result.hpp"
#include "storage/types.hpp"

namespace depot::storage { class Database; }

namespace depot::auth {

using storage::UserId;

struct User {
  UserId id = 0;
  std::string name;
  std::string email;
  bool is_admin = false;
  std::string status;      // active, suspended, pending (email not verified)
  std::string plan;        // plan name
  std::optional<std::int64_t> quota_bytes_override;
  std::optional<std::int64_t> quota_objects_override;
  std::int64_t credentials_version = 0;  // bumped on password change: drops cached credentials
  storage::TimePoint created;
  bool email_verified = true;
  bool dav_password_disabled = false;  // WebDAV accepts only app passwords
  bool totp_enabled = false;
  std::string stripe_customer_id;
  bool active() const { return status == "active"; }
};

struct NewUser {
  std::string name;
  std::string email;
  std::string password;
  bool is_admin = false;
  std::string plan = "free";
  std::string status = "active";
  bool email_verified = true;
};

class UserStore {
 public:
  explicit UserStore(storage::Database& db) : db_(db) {}

  // invalid_argument (bad name, short or common password), already_exists, not_found (plan).
  Result<User> create_sync(const NewUser& u);
  boost::asio::awaitable<Result<User>> create(NewUser u);

  Result<User> find_by_name_sync(const std::string& name);
  boost::asio::awaitable<Result<User>> find_by_name(std::string name);
  boost::asio::awaitable<Result<User>> find_by_id(UserId id);
  std::vector<User> list_sync();

  // The user if name and password match and the account may sign in; unauthenticated
  // otherwise (same message whatever was wrong). The hash runs on a blocking pool thread.
  boost::asio::awaitable<Result<User>> verify_password(std::string name, std::string password);

  Result<void> set_plan_sync(const std::string& name, const std::string& plan);
  Result<void> set_password_sync(const std::string& name, const std::string& password);
  // Deletes the user with all their buckets and objects; blobs are freed by the sweeper.
  Result<void> remove_sync(const std::string& name);
  // Suspends the account (idempotent): every protocol refuses it from now on (WebDAV after its
  // few seconds of account cache), console sessions end and API tokens are revoked. Access keys
  // and app passwords are kept and work again after reactivation.
  Result<User> suspend_sync(const std::string& name);
  // Lifts a suspension (idempotent on an account that is not suspended): active, or pending when
  // require_verification and the email was never verified.
  Result<User> reactivate_sync(const std::string& name, bool require_verification);

  // --- Accounts (issue 5). Each bumps credentials_version where credentials change, so caches
  // (WebDAV Basic) drop the old ones.

  // Console sign-in by name or email: like verify_password but a pending (unverified) account
  // may sign in; suspended ones never.
  boost::asio::awaitable<Result<User>> verify_login(std::string name_or_email, std::string password);
  // WebDAV Basic: an app password of the user, or the account password unless the user turned
  // that off for WebDAV. unauthenticated otherwise; only active accounts.
  boost::asio::awaitable<Result<User>> verify_webdav_password(std::string name, std::string secret);
  boost::asio::awaitable<Result<User>> find_by_email(std::string email);
  // A page of users ordered by name, after `after` (exclusive).
  boost::asio::awaitable<std::vector<User>> list(std::string after, int limit);
  boost::asio::awaitable<Result<void>> set_password(UserId id, std::string password);
  boost::asio::awaitable<Result<void>> set_status(UserId id, std::string status);
  boost::asio::awaitable<Result<void>> set_email(UserId id, std::string email, bool verified);
  boost::asio::awaitable<Result<void>> set_plan(UserId id, std::string plan);
  boost::asio::awaitable<Result<void>> set_quota_override(UserId id, std::optional<std::int64_t> bytes,
                                                          std::optional<std::int64_t> objects);
  boost::asio::awaitable<Result<void>> set_admin(UserId id, bool admin);
  boost::asio::awaitable<Result<void>> set_dav_password_disabled(UserId id, bool disabled);
  boost::asio::awaitable<Result<void>> remove(UserId id);
  // Marks the email verified and, when the account was pending, activates it.
  boost::asio::awaitable<Result<User>> mark_email_verified(UserId id);

  static bool valid_name(std::string_view name);
  // An address mail can go to: one '@' with text on both sides, at most 254 bytes, UTF-8, and
  // nothing SMTP or a header would read as syntax (control characters such as CR LF, spaces,
  // <>, quotes, commas...). It goes into RCPT TO and To: as it is.
  static bool valid_email(std::string_view email);

 private:
  // The user whose row matches `where` ($1 = key) if the password is right, whatever the status.
  boost::asio::awaitable<Result<User>> check_password(const char* where, std::string key, std::string password);
  boost::asio::awaitable<Result<void>> update(UserId id, std::string set_sql, std::string value, bool bump_credentials);
  storage::Database& db_;
};

// argon2id with a random salt, encoded in the PHC string format.
std::string hash_password(std::string_view password);
bool verify_password_hash(std::string_view encoded, std::string_view password);
// nullopt when acceptable; otherwise a sentence saying why not.
std::optional<std::string> password_problem(std::string_view password);

}  // namespace depot::auth
