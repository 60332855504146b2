// PlanStore: the plans users can be on (rows: name, byte and object limits, the billing
// provider's price id, public or hidden). `free` and `premium` are seeded by migration 001.
// Thread-safety: all methods may be called concurrently.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "src/result.hpp"

namespace depot::storage {

class Database;

struct Plan {
  std::string name;
  std::int64_t bytes_limit = 0;
  std::optional<std::int64_t> objects_limit;  // none = unlimited
  std::string price_id;                       // empty: not sold through the billing provider
  bool is_public = true;
};

// A change to a plan: only the fields set are changed. objects_limit = -1 means unlimited.
struct PlanChange {
  std::optional<std::int64_t> bytes_limit;
  std::optional<std::int64_t> objects_limit;
  std::optional<std::string> price_id;
  std::optional<bool> is_public;
};

class PlanStore {
 public:
  explicit PlanStore(Database& db) : db_(db) {}
  boost::asio::awaitable<std::vector<Plan>> list(bool include_hidden);
  boost::asio::awaitable<Result<Plan>> find(std::string name);
  // already_exists, invalid_argument.
  boost::asio::awaitable<Result<Plan>> create(Plan p);
  boost::asio::awaitable<Result<Plan>> update(std::string name, PlanChange c);
  // not_found; conflict while users are on it or for `free`.
  boost::asio::awaitable<Result<void>> remove(std::string name);

  static bool valid_name(std::string_view name);

 private:
  Database& db_;
};

}  // namespace depot::storage
