// BillingStore: what billing provider (Stripe) events do to accounts, each applied in ONE
// transaction with its record in billing_events, so an event id is applied at most once (a replay
// changes nothing) and every event is kept for the console. Events about a subscription older
// than the newest one applied to it are recorded but ignored (the newest `created` wins).
// Thread-safety: all methods may be called concurrently.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "src/result.hpp"
#include "storage/types.hpp"

namespace depot::storage {

class Database;

// Something the user must be told by email, enqueued by the caller inside the same transaction.
struct BillingNotice {
  UserId user = 0;
  std::string kind;    // plan_changed, payment_failed, over_quota
  std::string detail;  // a sentence
};
using NoticeSink = std::function<void(pqxx::work&, const BillingNotice&)>;

struct EventOutcome {
  bool replay = false;
  std::string effect;
};

struct BillingEvent {
  std::string id, type, effect;
  std::int64_t created = 0;
  std::optional<UserId> user;
  TimePoint received;
};

class BillingStore {
 public:
  BillingStore(Database& db, std::chrono::seconds grace) : db_(db), grace_(grace) {}

  // event: the parsed, already authenticated event. invalid_argument if it lacks id/type/created.
  boost::asio::awaitable<Result<EventOutcome>> apply(boost::json::object event, NoticeSink notify);
  // Newest first; user = 0 for everyone's. `before` = a received_at cursor (micros), 0 = newest.
  boost::asio::awaitable<std::vector<BillingEvent>> events(UserId user, std::int64_t before_micros, int limit);
  // Accounts whose payment grace period has run out go back to `free` (sweeper task).
  boost::asio::awaitable<int> expire_grace(NoticeSink notify);
  // The customer id remembered for a user (empty if none).
  boost::asio::awaitable<std::string> customer_of(UserId user);

  // Inside a transaction: puts the user on plan; notices for the change and for usage over the
  // new limit. Returns false if the plan does not exist.
  static bool change_plan(pqxx::work& w, UserId user, const std::string& plan, const NoticeSink& notify);

 private:
  Database& db_;
  std::chrono::seconds grace_;
};

}  // namespace depot::storage
