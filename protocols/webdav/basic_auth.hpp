// HTTP Basic authentication for WebDAV (RFC 7617), with a cache of verified credentials so that
// argon2 does not run on every request. (Repeated failures are throttled by auth::Throttle.)
//
// The cache never holds a password: an entry is HMAC-SHA256(process secret, name, password,
// credentials_version) with a short expiry. A password change, an app-password revocation or a
// suspension bumps credentials_version, which the caller reads from the account row on every
// request, so the old entry no longer matches anywhere at once. Thread-safety: every method may be called concurrently.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace depot::webdav {

struct BasicCredentials {
  std::string name;
  std::string password;
};

// "Basic <base64(name:password)>"; nullopt when absent or malformed.
std::optional<BasicCredentials> parse_basic_authorization(std::string_view header);

class CredentialCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit CredentialCache(std::chrono::seconds ttl = std::chrono::seconds(30), std::size_t max_entries = 10000);

  bool contains(const BasicCredentials& c, std::int64_t credentials_version, Clock::time_point now = Clock::now());
  void insert(const BasicCredentials& c, std::int64_t credentials_version, Clock::time_point now = Clock::now());

 private:
  std::string key(const BasicCredentials& c, std::int64_t version) const;
  std::string secret_;
  std::chrono::seconds ttl_;
  std::size_t max_entries_;
  std::mutex mu_;
  std::unordered_map<std::string, Clock::time_point> entries_;  // key -> expiry
};

}  // namespace depot::webdav
