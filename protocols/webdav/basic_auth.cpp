#include "protocols/webdav/basic_auth.hpp"

#include <openssl/rand.h>
#include <boost/asio/use_awaitable.hpp>

#include "src/crypto/checksum.hpp"
#include "src/utf8.hpp"

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
  // No account has such a name; a NUL would end it early in the database driver's C string
  // ("alice\0anything" signed in as alice).
  auto name = std::string_view(*raw).substr(0, colon);
  if (!valid_utf8(name) || has_control_chars(name)) return std::nullopt;
  return BasicCredentials{raw->substr(0, colon), raw->substr(colon + 1)};
}

CredentialCache::CredentialCache(std::chrono::seconds ttl, std::size_t max_entries)
    : ttl_(ttl), max_entries_(max_entries) {
  secret_.resize(32);
  RAND_bytes(reinterpret_cast<unsigned char*>(secret_.data()), int(secret_.size()));
}

std::string CredentialCache::key(const BasicCredentials& c) const {
  std::string msg = c.name;
  msg += '\0';
  msg += c.password;
  return crypto::hmac_sha256(secret_, msg);
}

std::optional<CredentialCache::Entry> CredentialCache::find(const BasicCredentials& c, Clock::time_point now) {
  auto k = key(c);
  std::lock_guard lock(mu_);
  auto it = entries_.find(k);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.entry;
}

void CredentialCache::insert(const BasicCredentials& c, Entry e, Clock::time_point now) {
  auto k = key(c);
  std::lock_guard lock(mu_);
  if (entries_.size() >= max_entries_) {
    for (auto it = entries_.begin(); it != entries_.end();)
      it = it->second.expires <= now ? entries_.erase(it) : std::next(it);
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_[k] = Slot{std::move(e), now + ttl_, now + ttl_ - ttl_ / 6, false};
}

bool CredentialCache::claim_refresh(const BasicCredentials& c, Clock::time_point now) {
  auto k = key(c);
  std::lock_guard lock(mu_);
  auto it = entries_.find(k);
  if (it == entries_.end() || it->second.refreshing || now < it->second.refresh_at || it->second.expires <= now)
    return false;
  it->second.refreshing = true;
  return true;
}

void CredentialCache::erase(const BasicCredentials& c) {
  auto k = key(c);
  std::lock_guard lock(mu_);
  entries_.erase(k);
}

CredentialCache::Check::~Check() {
  if (!leading_) return;
  std::vector<std::unique_ptr<Resumer<>>> waiters;
  {
    std::lock_guard lock(cache_.mu_);
    auto it = cache_.checks_.find(key_);
    if (it == cache_.checks_.end()) return;
    waiters = std::move(it->second);
    cache_.checks_.erase(it);
  }
  for (auto& w : waiters) w->resume();
}

boost::asio::awaitable<bool> CredentialCache::Check::join() {
  if (leading_) co_return false;
  bool wait = false;
  auto initiate = [this, &wait](auto handler) {
    std::unique_lock lock(cache_.mu_);
    auto [it, fresh] = cache_.checks_.try_emplace(key_);
    if (fresh) {
      leading_ = true;
    } else {
      wait = true;
      it->second.push_back(make_resumer<>(std::move(handler)));
      return;
    }
    lock.unlock();
    PostResumer<decltype(handler)>(std::move(handler)).resume();
  };
  auto token = boost::asio::use_awaitable;
  co_await boost::asio::async_initiate<decltype(token), void()>(initiate, token);
  co_return wait;
}

}  // namespace depot::webdav
