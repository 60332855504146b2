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
  bool active() const { return status == "active"; }
};

struct NewUser {
  std::string name;
  std::string email;
  std::string password;
  bool is_admin = false;
  std::string plan = "free";
  std::string status = "active";
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

  static bool valid_name(std::string_view name);

 private:
  storage::Database& db_;
};

// argon2id with a random salt, encoded in the PHC string format.
std::string hash_password(std::string_view password);
bool verify_password_hash(std::string_view encoded, std::string_view password);
// nullopt when acceptable; otherwise a sentence saying why not.
std::optional<std::string> password_problem(std::string_view password);

}  // namespace depot::auth
