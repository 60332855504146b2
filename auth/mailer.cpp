#include "auth/mailer.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <ctime>

#include "auth/tokens.hpp"
#include "auth/users.hpp"
#include "storage/db.hpp"

namespace depot::auth {
namespace asio = boost::asio;

namespace {

struct Template {
  const char* kind;
  const char* subject;
  const char* text;  // paragraphs separated by blank lines; {site}, {name}, {link}, {detail}
};

constexpr Template kTemplates[] = {
    {"verify", "Confirm your email address for {site}",
     "Hello {name},\n\nWelcome to {site}. Please confirm your email address by opening this link:\n\n{link}\n\n"
     "The link works once and expires in 48 hours. If you did not sign up, ignore this message."},
    {"reset", "Reset your {site} password",
     "Hello {name},\n\nSomeone (hopefully you) asked to reset the password of your {site} account. Open this link to "
     "choose a new password:\n\n{link}\n\nThe link works once and expires in one hour. If you did not ask, ignore this "
     "message: your password has not changed."},
    {"email_change", "Confirm your new email address for {site}",
     "Hello {name},\n\nPlease confirm that this is the new email address of your {site} account:\n\n{link}\n\n"
     "The link works once and expires in 48 hours."},
    {"email_changed", "The email address of your {site} account was changed",
     "Hello {name},\n\nThe email address of your {site} account was changed to {new_email}. Mail about the account "
     "goes there from now on.\n\nIf you did not make this change, reset your password at once and tell the "
     "administrator."},
    {"plan_changed", "Your {site} plan has changed",
     "Hello {name},\n\n{detail}\n\nThank you for using {site}."},
    {"payment_failed", "Your {site} payment failed",
     "Hello {name},\n\n{detail}\n\nPlease update your payment method to keep your plan."},
    {"over_quota", "Your {site} storage is over its limit",
     "Hello {name},\n\n{detail}\n\nUntil you are under the limit, your storage is read and delete only: you can "
     "download and delete files but not add new ones. Nothing is deleted automatically."},
};

std::string substitute(std::string s, const std::map<std::string, std::string>& vars) {
  for (const auto& [k, v] : vars) {
    std::string key = "{" + k + "}";
    for (std::size_t p = 0; (p = s.find(key, p)) != std::string::npos; p += v.size()) s.replace(p, key.size(), v);
  }
  return s;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string to_crlf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\r\n";
    else if (c != '\r') out += c;
  }
  return out;
}

// Encoded-word for a header holding non-ASCII text.
std::string header_text(const std::string& s) {
  for (unsigned char c : s)
    if (c >= 0x80 || c < 0x20) {
      std::string b64 = base64url(s);
      for (auto& ch : b64) ch = ch == '-' ? '+' : ch == '_' ? '/' : ch;
      while (b64.size() % 4) b64 += '=';
      return "=?UTF-8?B?" + b64 + "?=";
    }
  return s;
}

struct Upload {
  std::string data;
  std::size_t pos = 0;
};

std::size_t read_cb(char* buf, std::size_t size, std::size_t n, void* p) {
  auto* u = static_cast<Upload*>(p);
  std::size_t len = std::min(size * n, u->data.size() - u->pos);
  std::memcpy(buf, u->data.data() + u->pos, len);
  u->pos += len;
  return len;
}

// Blocking: one SMTP transaction. Returns an empty string on success, else the error.
std::string smtp_send(const Config& c, const std::string& to, const std::string& message) {
  // Addresses are checked where they enter (UserStore::valid_email); one that is not an address
  // (an old row, a line break that would be an SMTP command) is never sent.
  if (!UserStore::valid_email(to)) return "the recipient is not a valid address";
  CURL* curl = curl_easy_init();
  if (!curl) return "curl_easy_init failed";
  Upload up{message};
  std::string from = "<" + c.mail_from + ">";
  curl_slist* rcpt = curl_slist_append(nullptr, ("<" + to + ">").c_str());
  char err[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, c.smtp_url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(curl, CURLOPT_READDATA, &up);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  // smtp:// upgrades with STARTTLS when offered; with credentials it must, so a password never
  // crosses the network in clear (the mail stays queued until the server offers TLS).
  if (c.smtp_url.starts_with("smtp://"))
    curl_easy_setopt(curl, CURLOPT_USE_SSL, long(c.smtp_user.empty() ? CURLUSESSL_TRY : CURLUSESSL_ALL));
  if (!c.smtp_user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, c.smtp_user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, c.smtp_password.c_str());
  }
  CURLcode rc = curl_easy_perform(curl);
  std::string out;
  if (rc != CURLE_OK) out = err[0] ? err : curl_easy_strerror(rc);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  return out;
}

}  // namespace

Mail render_mail(const std::string& site_name, const std::string& kind, const std::string& to,
                 const std::map<std::string, std::string>& vars_in) {
  auto vars = vars_in;
  vars["site"] = site_name;
  const Template* t = nullptr;
  for (const auto& tt : kTemplates)
    if (kind == tt.kind) t = &tt;
  if (!t) throw std::invalid_argument("no mail template " + kind);
  Mail m;
  m.to = to;
  m.subject = substitute(t->subject, vars);
  m.text = substitute(t->text, vars);
  // HTML: the same paragraphs, escaped, with the link clickable.
  auto hvars = vars;
  for (auto& [k, v] : hvars) v = html_escape(v);
  if (auto it = vars.find("link"); it != vars.end())
    hvars["link"] = "<a href=\"" + html_escape(it->second) + "\">" + html_escape(it->second) + "</a>";
  std::string body = html_escape(t->text);  // no markup in templates: escaping keeps placeholders intact
  body = substitute(body, hvars);
  std::string html = "<!DOCTYPE html><html><body style=\"font-family:sans-serif\"><h2>" + html_escape(site_name) + "</h2>";
  std::size_t p = 0;
  while (p <= body.size()) {
    auto q = body.find("\n\n", p);
    std::string para = body.substr(p, q == std::string::npos ? std::string::npos : q - p);
    html += "<p>" + para + "</p>";
    if (q == std::string::npos) break;
    p = q + 2;
  }
  html += "</body></html>";
  m.html = html;
  return m;
}

std::string format_message(const Mail& m, const std::string& from) {
  std::string boundary = "=_depot_" + random_token(12);
  char date[64];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  auto at = from.find('@');
  std::string domain = at == std::string::npos ? "localhost" : from.substr(at + 1);
  std::string msg;
  msg += "Date: " + std::string(date) + "\r\n";
  msg += "From: " + from + "\r\n";
  msg += "To: " + m.to + "\r\n";
  msg += "Subject: " + header_text(m.subject) + "\r\n";
  msg += "Message-ID: <" + random_token(16) + "@" + domain + ">\r\n";
  msg += "MIME-Version: 1.0\r\n";
  msg += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
  msg += "--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
  msg += to_crlf(m.text) + "\r\n";
  msg += "--" + boundary + "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
  msg += to_crlf(m.html) + "\r\n";
  msg += "--" + boundary + "--\r\n";
  return msg;
}

asio::awaitable<std::vector<Mailer::Queued>> Mailer::list(std::int64_t before, int limit) {
  co_return co_await db_.tx([&](pqxx::work& w) {
    std::vector<Queued> out;
    constexpr const char* kIso = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";
    auto rows = w.exec_params(std::string("SELECT id, to_addr, subject, COALESCE(last_error, ''), attempts, to_char(next_attempt_at AT "
                                          "TIME ZONE 'UTC', ") + kIso + "), to_char(created_at AT TIME ZONE 'UTC', " + kIso +
                                  "), COALESCE(to_char(sent_at AT TIME ZONE 'UTC', " + kIso +
                                  "), '') FROM outbox WHERE ($1::bigint = 0 OR id < $1) ORDER BY id DESC LIMIT $2",
                              before, limit);
    for (const auto& r : rows)
      out.push_back(Queued{r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>(),
                           r[4].as<int>(), r[5].as<std::string>(), r[6].as<std::string>(), r[7].as<std::string>()});
    return out;
  });
}

void Mailer::enqueue(pqxx::work& w, const Mail& m) {
  w.exec_params("INSERT INTO outbox (to_addr, subject, text_body, html_body) VALUES ($1, $2, $3, $4)", m.to, m.subject,
                m.text, m.html);
}

void Mailer::kick(asio::any_io_executor ex) {
  asio::co_spawn(
      ex,
      [this]() -> asio::awaitable<void> {
        try {
          co_await deliver_due();
        } catch (const std::exception& e) {
          spdlog::warn("mail delivery: {}", e.what());
        }
      },
      asio::detached);
}

asio::awaitable<int> Mailer::deliver_due() {
  Config config = config_;
  if (override_) co_await db_.tx([&](pqxx::work& w) { override_(w, config); });
  if (config.smtp_url.empty()) co_return 0;
  if (running_.exchange(true)) co_return 0;
  struct Clear { std::atomic<bool>& b; ~Clear() { b = false; } } clear{running_};
  int sent = 0;
  for (;;) {
    struct Row { std::int64_t id; int attempts; Mail m; };
    // Lease the due rows for two minutes: another server skips them meanwhile.
    auto rows = co_await db_.tx([&](pqxx::work& w) {
      std::vector<Row> out;
      for (const auto& r : w.exec(
               "UPDATE outbox SET next_attempt_at = now() + interval '2 minutes' WHERE id IN (SELECT id FROM outbox WHERE "
               "sent_at IS NULL AND next_attempt_at <= now() ORDER BY id LIMIT 20 FOR UPDATE SKIP LOCKED) "
               "RETURNING id, attempts, to_addr, subject, text_body, html_body"))
        out.push_back(Row{r[0].as<std::int64_t>(), r[1].as<int>(),
                          Mail{r[2].as<std::string>(), r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>()}});
      return out;
    });
    if (rows.empty()) break;
    for (auto& row : rows) {
      std::string message = format_message(row.m, config.mail_from);
      auto ex = co_await asio::this_coro::executor;
      std::string error = co_await asio::co_spawn(
          blocking_, [&]() -> asio::awaitable<std::string> { co_return smtp_send(config, row.m.to, message); },
          asio::use_awaitable);
      (void)ex;
      if (error.empty()) {
        ++sent;
        co_await db_.tx([&](pqxx::work& w) {
          w.exec_params("UPDATE outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1", row.id);
        });
      } else {
        // 2, 4, 8 ... seconds, at most an hour between attempts; never given up.
        double backoff = std::min(3600.0, double(1 << std::min(row.attempts + 1, 12)));
        spdlog::warn("mail to {} not sent (attempt {}): {}; next try in {} s", row.m.to, row.attempts + 1, error, backoff);
        co_await db_.tx([&](pqxx::work& w) {
          w.exec_params(
              "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = now() + make_interval(secs "
              "=> $3) WHERE id = $1",
              row.id, error, backoff);
        });
        co_return sent;  // the server is likely down: leave the rest for the next pass
      }
    }
  }
  co_await db_.tx([&](pqxx::work& w) { w.exec("DELETE FROM outbox WHERE sent_at < now() - interval '30 days'"); });
  co_return sent;
}

}  // namespace depot::auth
