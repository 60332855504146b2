// Sweeper: the background work that keeps the store clean.
// Every interval: releases reservations of servers that stopped heartbeating (crashes), removes
// stale temporary files and blob files no committed row refers to (older than the grace period,
// so an upload in flight is never touched), and runs tasks other parts register (S3 registers
// the expiry of stale multipart uploads).
#pragma once
#include <boost/asio/awaitable.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace depot::storage {

class Database;
class BlobStore;
class QuotaEngine;

struct SweepStats {
  std::int64_t runs = 0;
  std::int64_t reservations_released = 0;
  std::int64_t orphans_removed = 0;
  std::chrono::system_clock::time_point last_run{};
  std::string last_error;
};

class Sweeper {
 public:
  Sweeper(Database& db, BlobStore& blobs, QuotaEngine& quota, std::chrono::seconds interval,
          std::chrono::seconds orphan_grace, std::chrono::seconds node_timeout);

  void add_task(std::string name, std::function<boost::asio::awaitable<void>()> task);
  // Heartbeats often, sweeps every interval, until stop() is called.
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> sweep_once();
  void stop() { stopped_ = true; }
  SweepStats stats() const;

 private:
  boost::asio::awaitable<std::int64_t> remove_orphans();
  Database& db_;
  BlobStore& blobs_;
  QuotaEngine& quota_;
  std::chrono::seconds interval_, grace_, node_timeout_;
  std::atomic<bool> stopped_{false};
  mutable std::mutex mu_;
  SweepStats stats_;
  std::vector<std::pair<std::string, std::function<boost::asio::awaitable<void>()>>> tasks_;
};

}  // namespace depot::storage
