// Mailer: email through a durable outbox. A mail is a row written in the same transaction as
// the change that caused it; delivery (SMTP through libcurl: smtps://, or smtp:// with STARTTLS
// when the server offers it, optional authentication) happens afterwards, with retries and
// exponential back-off, so an unreachable mail server delays mail and loses none. Several
// servers may deliver at once: rows are leased with SKIP LOCKED.
// Thread-safety: all methods may be called concurrently.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <atomic>
#include <functional>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "src/config.hpp"

namespace depot::storage { class Database; }

namespace depot::auth {

struct Mail {
  std::string to;
  std::string subject;
  std::string text;
  std::string html;
};

// The templates: verify, reset, email_change, plan_changed, payment_failed, over_quota.
// vars: name (user name), link (for the first three), detail (a sentence for the others).
Mail render_mail(const std::string& site_name, const std::string& kind, const std::string& to,
                 const std::map<std::string, std::string>& vars);
// The RFC 5322 message (multipart/alternative, UTF-8) for a mail.
std::string format_message(const Mail& m, const std::string& from);

class Mailer {
 public:
  Mailer(storage::Database& db, const Config& config, boost::asio::thread_pool& blocking)
      : db_(db), config_(config), blocking_(blocking) {}

  // Inside the caller's transaction.
  static void enqueue(pqxx::work& w, const Mail& m);
  // Starts a delivery pass in the background on ex (after a commit that enqueued mail).
  void kick(boost::asio::any_io_executor ex);
  struct Queued {
    std::int64_t id = 0;
    std::string to, subject, last_error;
    int attempts = 0;
    std::string next_attempt, created, sent;  // ISO 8601 (UTC); sent empty while queued
  };
  // The newest mails, queued or sent (for the console), before id `before` (0 = newest).
  boost::asio::awaitable<std::vector<Queued>> list(std::int64_t before, int limit);
  // One pass: sends every due mail; returns how many were sent. Also the sweeper's task.
  boost::asio::awaitable<int> deliver_due();
  // Settings stored at run time (the console's SMTP settings) that override the configuration;
  // called inside a transaction at the start of every delivery pass, so a change applies at once
  // on every server.
  using SettingsOverride = std::function<void(pqxx::work&, Config&)>;
  void set_settings_override(SettingsOverride f) { override_ = std::move(f); }

 private:
  storage::Database& db_;
  const Config& config_;
  boost::asio::thread_pool& blocking_;
  std::atomic<bool> running_{false};
  SettingsOverride override_;
};

}  // namespace depot::auth
