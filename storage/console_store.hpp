// ConsoleStore: what the admin console keeps in PostgreSQL for itself.
//  - Settings an admin changed at run time (sign-up mode, SMTP, branding, sample interval). A
//    stored value wins over the server configuration; an absent row means "use the
//    configuration". Every server reads them from the database, so a change takes effect at once
//    everywhere. Secret values are sealed by the caller before they get here.
//  - The audit log: one row per admin action, written inside the caller's transaction when it can.
//  - Usage samples: one row of totals (users, bytes, objects) per sample interval, for the chart.
// Thread-safety: stateless apart from PostgreSQL; all methods may be called concurrently.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "storage/types.hpp"

namespace depot::storage {

class Database;

using SettingMap = std::map<std::string, std::string>;

struct AuditEntry {
  std::int64_t id = 0;
  std::string at;  // ISO 8601 UTC
  std::optional<UserId> actor_id;
  std::string actor, actor_addr, action, target;
  boost::json::object details;
};

struct AuditFilter {
  std::int64_t before = 0;  // id cursor, 0 = newest
  int limit = 100;
  std::string actor, action;  // exact match when not empty
};

struct UsageSample {
  std::string at;  // ISO 8601 UTC
  std::int64_t users = 0, bytes = 0, objects = 0;
};

class ConsoleStore {
 public:
  explicit ConsoleStore(Database& db) : db_(db) {}

  // Settings (inside a transaction, or on their own).
  static SettingMap load_settings(pqxx::work& w);
  // value nullopt removes the row (back to the configuration).
  static void put_setting(pqxx::work& w, const std::string& key, const std::optional<std::string>& value, UserId by);
  boost::asio::awaitable<SettingMap> settings();
  // One setting, or fallback when no admin stored it.
  boost::asio::awaitable<std::string> setting_or(std::string key, std::string fallback);
  // The site name for mails written inside w: the stored one, else fallback (the configuration).
  static std::string site_name(pqxx::work& w, const std::string& fallback);

  // Audit log.
  static void audit(pqxx::work& w, const AuditEntry& e);
  boost::asio::awaitable<std::vector<AuditEntry>> audit_log(AuditFilter f);

  // Takes a sample of the totals unless one was taken less than `interval` ago (by any server).
  // Returns true if it took one.
  boost::asio::awaitable<bool> sample_usage(std::chrono::seconds interval);
  // Samples of the last `days` days, oldest first (at most 2,000: evenly thinned when more).
  boost::asio::awaitable<std::vector<UsageSample>> usage_history(int days);

 private:
  Database& db_;
};

}  // namespace depot::storage
