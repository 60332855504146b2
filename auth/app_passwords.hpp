// AppPasswords: named, revocable WebDAV passwords, shown once. They are long random tokens, so
// the database keeps their SHA-256 (no slow hash needed) and UserStore::verify_webdav_password
// finds one with a single indexed lookup.
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

struct AppPassword {
  std::int64_t id = 0;
  std::string name;
  std::string prefix;    // the first characters, to recognise it in a list
  std::string password;  // in clear: only from create()
  storage::TimePoint created;
  std::optional<storage::TimePoint> last_used;
};

class AppPasswords {
 public:
  explicit AppPasswords(storage::Database& db) : db_(db) {}
  boost::asio::awaitable<Result<AppPassword>> create(storage::UserId user, std::string name);
  boost::asio::awaitable<std::vector<AppPassword>> list(storage::UserId user);
  boost::asio::awaitable<Result<void>> revoke(storage::UserId user, std::int64_t id);

 private:
  storage::Database& db_;
};

}  // namespace depot::auth
