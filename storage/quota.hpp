// QuotaEngine: per-user usage and in-flight reservations, as PostgreSQL rows changed atomically.
//
// reserve() adds to usage.bytes_reserved only if bytes_used + bytes_reserved + n stays within the
// user's limit (plan or override), in one UPDATE, so every server and both protocols enforce one
// limit with no overshoot. A reservation row records which node holds it: when a node stops
// heartbeating (crash, kill -9) the sweeper releases its reservations.
// Thread-safety: all methods may be called concurrently.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/result.hpp"
#include "storage/types.hpp"

namespace depot::storage {

class Database;
class QuotaEngine;

class Reservation {
 public:
  Reservation(QuotaEngine& q, UserId user, std::int64_t id, std::int64_t bytes) : q_(&q), user_(user), id_(id), bytes_(bytes) {}
  ~Reservation();  // releases (in the background) unless consumed or released
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  UserId user() const { return user_; }
  std::int64_t id() const { return id_; }
  std::int64_t bytes() const { return bytes_; }
  bool done() const { return done_; }  // consumed by a commit or released

 private:
  friend class QuotaEngine;
  QuotaEngine* q_;
  UserId user_;
  std::int64_t id_;
  std::int64_t bytes_;
  bool done_ = false;
};

class QuotaEngine {
 public:
  QuotaEngine(Database& db, std::string node_id) : db_(db), node_id_(std::move(node_id)) {}
  const std::string& node_id() const { return node_id_; }

  // quota_exceeded if n more bytes would pass the limit.
  boost::asio::awaitable<Result<std::unique_ptr<Reservation>>> reserve(UserId user, std::int64_t bytes);
  // Grows a reservation by n bytes (uploads of unknown size); quota_exceeded if over.
  boost::asio::awaitable<Result<void>> grow(Reservation& r, std::int64_t bytes);
  boost::asio::awaitable<void> release(Reservation& r);

  // Inside a caller's transaction: turns the reservation into usage, applying the byte and
  // object deltas of the write. Returns quota_exceeded (the caller rolls back) when the
  // object count would pass the object limit.
  Result<void> commit(pqxx::work& w, Reservation* r, UserId user, std::int64_t bytes_delta, std::int64_t objects_delta);
  // Inside a caller's transaction, for several writes of one user at once (a commit batch):
  // deletes the reservations rs (not yet marked consumed: call consumed() on each once the
  // transaction committed), moves their bytes to usage with the deltas, and checks the limits:
  // objects when objects_delta > 0, bytes when unreserved_bytes (bytes written without a
  // reservation) > 0. quota_exceeded when a limit would pass (the caller rolls back).
  Result<void> commit_batch(pqxx::work& w, UserId user, const std::vector<Reservation*>& rs, std::int64_t bytes_delta,
                            std::int64_t objects_delta, std::int64_t unreserved_bytes);
  static void consumed(Reservation& r) { r.done_ = true; }
  // Inside a caller's transaction, with no reservation (copies): adds bytes only if they fit.
  static Result<void> charge(pqxx::work& w, UserId user, std::int64_t bytes_delta, std::int64_t objects_delta);
  // Inside a caller's transaction: frees usage (deletes).
  static void credit(pqxx::work& w, UserId user, std::int64_t bytes, std::int64_t objects);

  boost::asio::awaitable<Result<Usage>> usage(UserId user);
  static Result<Usage> usage(pqxx::transaction_base& w, UserId user);
  // The same read as a part of another statement (Engine::probe): kUsageColumns from a
  // usage_join(user parameter) FROM item, parsed by usage_from_row (nullopt when no row joined).
  static constexpr int kUsageColumnCount = 5;
  static std::string usage_columns();
  static std::string usage_join(const std::string& condition_param, const std::string& user_param);
  template <class Row>  // a pqxx::row or a PgRow
  static std::optional<Usage> usage_from_row(const Row& r, int f) {
    if (r[f].is_null()) return std::nullopt;
    Usage u;
    u.bytes_used = r[f].template as<std::int64_t>();
    u.objects_used = r[f + 1].template as<std::int64_t>();
    u.bytes_reserved = r[f + 2].template as<std::int64_t>();
    u.bytes_limit = r[f + 3].template as<std::int64_t>();
    if (!r[f + 4].is_null()) u.objects_limit = r[f + 4].template as<std::int64_t>();
    return u;
  }

  // Node liveness: heartbeat() marks this node alive; release_dead_nodes() frees the
  // reservations of nodes silent longer than timeout. Used by the sweeper.
  boost::asio::awaitable<void> heartbeat();
  boost::asio::awaitable<std::int64_t> release_dead_nodes(std::chrono::seconds timeout);

 private:
  friend class Reservation;
  void release_in_background(UserId user, std::int64_t id, std::int64_t bytes);
  Database& db_;
  std::string node_id_;
};

// The room under the byte limit that each user's usage showed when this server last read it.
// A small upload that asks for `100 Continue` gets it before its first query answers when its
// user had ample room a moment ago: nobody that is over the limit, or near it, has that, so the
// refusal of an upload that does not fit still comes before 100 Continue; the quota itself is
// enforced where it always is, before the body is read and again at the commit.
// Thread-safe.
class UsageHints {
 public:
  static constexpr std::chrono::seconds kFresh{2};
  static constexpr std::int64_t kMargin = 64ll << 20;  // room kept for the uploads of kFresh

  void note(UserId user, const Usage& u);
  // True when `user` had room for `bytes` plus kMargin, seen within kFresh.
  bool ample(UserId user, std::uint64_t bytes) const;

 private:
  struct Seen {
    std::int64_t room;
    std::chrono::steady_clock::time_point at;
  };
  mutable std::mutex mu_;
  std::unordered_map<UserId, Seen> seen_;
};

}  // namespace depot::storage
