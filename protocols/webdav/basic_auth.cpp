#include "protocols/webdav/basic_auth.hpp"

#include <openssl/rand.h>

#include "src/crypto/checksum.hpp"

namespace depot::webdav {

std::optional<BasicCredentials> parse_basic_authorization(std::string_view h) {
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  if (h.size() < 6) return std::nullopt;
  for (int i = 0; i < 5; ++i)
    if (std::tolower(static_cast<unsigned char>(h[i])) != "basic"[i]) return std::nullopt;
  if (h[5] != ' ') return std::nullopt;
  h.remove_prefix(6);
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  auto raw = crypto::base64_decode(h);
  if (!raw) return std::nullopt;
  auto colon = raw->find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  return BasicCredentials{raw->substr(0, colon), raw->substr(colon + 1)};
}

CredentialCache::CredentialCache(std::chrono::seconds ttl, std::size_t max_entries)
    : ttl_(ttl), max_entries_(max_entries) {
  secret_.resize(32);
  RAND_bytes(reinterpret_cast<unsigned char*>(secret_.data()), int(secret_.size()));
}

std::string CredentialCache::key(const BasicCredentials& c, std::int64_t version) const {
  std::string msg = c.name;
  msg += '\0';
  msg += c.password;
  msg += '\0';
  msg += std::to_string(version);
  return crypto::hmac_sha256(secret_, msg);
}

bool CredentialCache::contains(const BasicCredentials& c, std::int64_t version, Clock::time_point now) {
  auto k = key(c, version);
  std::lock_guard lock(mu_);
  auto it = entries_.find(k);
  if (it == entries_.end()) return false;
  if (it->second <= now) {
    entries_.erase(it);
    return false;
  }
  return true;
}

void CredentialCache::insert(const BasicCredentials& c, std::int64_t version, Clock::time_point now) {
  auto k = key(c, version);
  std::lock_guard lock(mu_);
  if (entries_.size() >= max_entries_) {
    for (auto it = entries_.begin(); it != entries_.end();) it = it->second <= now ? entries_.erase(it) : std::next(it);
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_[k] = now + ttl_;
}

}  // namespace depot::webdav
