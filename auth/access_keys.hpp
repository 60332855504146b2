// AccessKeys: S3 access keys. Secrets are stored encrypted (AES-256-GCM) under the server's
// master key and are shown in clear exactly once, when created.
// Thread-safety: all methods may be called concurrently.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "src/result.hpp"
#include "storage/types.hpp"

namespace depot::storage { class Database; }

namespace depot::auth {

struct AccessKey {
  std::string id;             // the access key id, e.g. DKXXXXXXXXXXXXXXXXXX
  storage::UserId user = 0;
  std::string user_name;
  std::string secret;         // in clear: only from create() and lookup()
  bool user_active = false;   // the owner may use storage now
  std::string label;
  storage::TimePoint created;
};

class MasterKey {
 public:
  // Reads the 32-byte key from path, creating it (mode 0600) if missing.
  static MasterKey load_or_create(const std::string& path);
  static MasterKey from_bytes(std::string raw32);
  std::string encrypt(std::string_view plain) const;          // base64(nonce|ciphertext|tag)
  Result<std::string> decrypt(std::string_view sealed) const;
 private:
  MasterKey() = default;
  std::string key_;
};

class AccessKeys {
 public:
  AccessKeys(storage::Database& db, MasterKey master) : db_(db), master_(std::move(master)) {}

  Result<AccessKey> create_sync(const std::string& user_name, std::string label = {});
  boost::asio::awaitable<Result<AccessKey>> create(storage::UserId user, std::string label);
  std::vector<AccessKey> list_sync(const std::string& user_name);
  boost::asio::awaitable<std::vector<AccessKey>> list(storage::UserId user);
  Result<void> revoke_sync(const std::string& id);
  boost::asio::awaitable<Result<void>> revoke(storage::UserId user, std::string id);
  // The key with its secret in clear, for signature checks; not_found if unknown or revoked.
  boost::asio::awaitable<Result<AccessKey>> lookup(std::string id);
  // The key that seals secrets at rest (also TOTP secrets: auth/totp_secrets.hpp).
  const MasterKey& master() const { return master_; }

 private:
  storage::Database& db_;
  MasterKey master_;
};

}  // namespace depot::auth
