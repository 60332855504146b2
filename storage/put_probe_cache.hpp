#pragma once
// What a small write's probe read, the bucket and its user's usage, kept for a second per
// principal (an S3 access key, a WebDAV user) and bucket name, so the writes that follow on that
// bucket need no query before their bodies. Their commits confirm what the probe would have (the
// key or the account, the bucket, and for WebDAV the path: PutOptions::verify_access_key and
// dav_checks), and the quota limit holds at the commit as it does for every small upload; the
// usage only decides whether to refuse early, and a refusal reads it again first
// (PutOptions::known_usage_may_be_stale). Thread-safe.
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "storage/types.hpp"

namespace depot::storage {

class PutProbeCache {
 public:
  struct Entry {
    Bucket bucket;
    Usage usage;
    std::chrono::steady_clock::time_point at;
  };
  static constexpr std::chrono::seconds kFresh{1};

  std::optional<Entry> get(const std::string& principal, const std::string& bucket) {
    std::lock_guard lk(mu_);
    auto it = entries_.find(name(principal, bucket));
    if (it == entries_.end() || std::chrono::steady_clock::now() - it->second.at > kFresh) return std::nullopt;
    return it->second;
  }
  void put(const std::string& principal, const std::string& bucket, const Bucket& b, const Usage& u) {
    std::lock_guard lk(mu_);
    if (entries_.size() >= 10000) entries_.clear();
    entries_[name(principal, bucket)] = Entry{b, u, std::chrono::steady_clock::now()};
  }
  void drop(const std::string& principal, const std::string& bucket) {
    std::lock_guard lk(mu_);
    entries_.erase(name(principal, bucket));
  }
  // Every principal's entry for the bucket name (when the bucket goes or comes).
  void drop_bucket(const std::string& bucket) {
    std::lock_guard lk(mu_);
    std::erase_if(entries_, [&](const auto& e) {
      return e.first.size() > bucket.size() && e.first.ends_with(bucket) && e.first[e.first.size() - bucket.size() - 1] == '\n';
    });
  }

 private:
  static std::string name(const std::string& principal, const std::string& bucket) {
    return principal + '\n' + bucket;
  }
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace depot::storage
