// HTTP Basic authentication for WebDAV (RFC 7617), with a cache of verified credentials so that
// argon2 does not run on every request, and a throttle for repeated failures.
//
// The cache never holds a password: an entry is HMAC-SHA256(process secret, name, password,
// credentials_version) with an expiry. A password change bumps credentials_version, so the old
// entry no longer matches. Thread-safety: every method may be called concurrently.
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
  explicit CredentialCache(std::chrono::seconds ttl = std::chrono::seconds(60), std::size_t max_entries = 10000);

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

// Counts failed sign-ins per client address; after max_failures within window the address is
// refused (429) until the window passes.
class FailureThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit FailureThrottle(int max_failures = 20, std::chrono::seconds window = std::chrono::seconds(60))
      : max_(max_failures), window_(window) {}
  bool blocked(const std::string& addr, Clock::time_point now = Clock::now());
  void failed(const std::string& addr, Clock::time_point now = Clock::now());

 private:
  struct Entry {
    int count = 0;
    Clock::time_point start;
  };
  int max_;
  std::chrono::seconds window_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace depot::webdav
