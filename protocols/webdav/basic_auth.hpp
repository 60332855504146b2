// HTTP Basic authentication for WebDAV (RFC 7617), with a cache of verified credentials so that
// argon2 does not run on every request. (Repeated failures are throttled by auth::Throttle.)
//
// The cache never holds a password: an entry is keyed by HMAC-SHA256(process secret, name,
// password) and remembers whose credentials they were (user id, name) at which
// credentials_version, with a short expiry. A password change, an app-password revocation or a
// suspension bumps credentials_version (or the status), which the caller confirms in PostgreSQL
// on every request, so the entry stops counting everywhere at once. Thread-safety: every method
// may be called concurrently.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "src/resumer.hpp"

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

  struct Entry {
    std::int64_t user = 0;
    std::string name;
    std::int64_t credentials_version = 0;
  };
  // The account these credentials were verified for, while the entry lives.
  std::optional<Entry> find(const BasicCredentials& c, Clock::time_point now = Clock::now());
  bool contains(const BasicCredentials& c, std::int64_t credentials_version, Clock::time_point now = Clock::now()) {
    auto e = find(c, now);
    return e && e->credentials_version == credentials_version;
  }
  void insert(const BasicCredentials& c, Entry e, Clock::time_point now = Clock::now());
  void erase(const BasicCredentials& c);
  // True once per entry, for the first caller in the last sixth of its life (the last 5 s of
  // 30: far more than a check takes, and no more checks than when entries simply expired): that caller
  // checks the password again in the background and insert()s it anew, so credentials in steady
  // use are renewed before they expire and no request waits for the hash (argon2id took 0.6 s
  // here, and every request of the account waited for it each time its entry expired). The entry
  // keeps counting meanwhile; if the check fails it simply expires.
  bool claim_refresh(const BasicCredentials& c, Clock::time_point now = Clock::now());

  // One password check at a time per set of credentials. Clients open several connections at
  // once, and when an entry expired every request in flight ran the password hash together;
  // now one checks and the others wait for its outcome (then find() has it, or, after a failed
  // check, each checks for itself).
  class Check {
   public:
    Check(CredentialCache& cache, const BasicCredentials& c) : cache_(cache), key_(cache.key(c)) {}
    Check(const Check&) = delete;
    Check& operator=(const Check&) = delete;
    ~Check();  // ends the check this caller leads: its waiters resume
    // true: waited for another caller's check (look in the cache again); false: this caller
    // leads the check (it is ended when the Check is destroyed).
    boost::asio::awaitable<bool> join();

   private:
    CredentialCache& cache_;
    std::string key_;
    bool leading_ = false;
  };

 private:
  std::string key(const BasicCredentials& c) const;
  struct Slot {
    Entry entry;
    Clock::time_point expires;
    Clock::time_point refresh_at;  // five sixths through its life
    bool refreshing = false;       // claim_refresh() has answered true
  };
  std::string secret_;
  std::chrono::seconds ttl_;
  std::size_t max_entries_;
  std::mutex mu_;
  std::unordered_map<std::string, Slot> entries_;
  // Checks in progress by key, with the callers waiting for each.
  std::unordered_map<std::string, std::vector<std::unique_ptr<Resumer<>>>> checks_;
};

}  // namespace depot::webdav
