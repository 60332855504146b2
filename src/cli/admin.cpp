// The operator commands: migrate, user, key, plan, usage, db, invite, ban, mail.
#include <boost/program_options.hpp>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <pqxx/pqxx>

#include "auth/access_keys.hpp"
#include "auth/invites.hpp"
#include "auth/throttle.hpp"
#include "auth/totp_secrets.hpp"
#include "auth/users.hpp"
#include "src/cli/cli.hpp"
#include "src/config_parse.hpp"
#include "src/embedded_pg.hpp"
#include "src/log.hpp"
#include "storage/db.hpp"
#include "storage/migrations.hpp"

namespace depot::cli {
namespace {

std::string read_password_stdin() {
  std::string pw;
  std::getline(std::cin, pw);
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  return pw;
}

std::string human_bytes(std::int64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = double(b);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::int64_t parse_count(const std::string& s, const char* what) {
  try {
    std::size_t pos = 0;
    long long v = std::stoll(s, &pos);
    if (pos != s.size() || v < 0) throw std::invalid_argument(s);
    return v;
  } catch (...) {
    throw UsageError(std::string(what) + " must be a non-negative whole number, not '" + s + "'");
  }
}

void need(const std::vector<std::string>& pos, std::size_t n, const char* usage) {
  if (pos.size() != n) throw UsageError(std::string("usage: depot ") + usage);
}

void fail_on(const Error& e) { throw std::runtime_error(e.message); }

// Database access for one command: the configured URL, or the embedded cluster (started for the
// command and stopped after it when the server is not running).
struct Session {
  std::unique_ptr<EmbeddedPostgres> embedded;
  std::string url;
  std::unique_ptr<storage::Database> db;
  explicit Session(Config& c) {
    url = c.database_url;
    if (url.empty()) {
      embedded = std::make_unique<EmbeddedPostgres>(c.data_dir);
      url = embedded->start();
    }
    storage::apply_migrations(url);
    db = std::make_unique<storage::Database>(url, 1);
  }
  ~Session() {
    db.reset();
    if (embedded && embedded->started_by_us()) embedded->stop();
  }
};

std::string master_key_path(const Config& c) {
  if (!c.master_key_file.empty()) return c.master_key_file;
  std::filesystem::create_directories(c.data_dir);
  return (std::filesystem::path(c.data_dir) / "master.key").string();
}

void print_user(const auth::User& u, storage::Database& db) {
  std::cout << "id: " << u.id << "\n"
            << "name: " << u.name << "\n"
            << "email: " << u.email << "\n"
            << "admin: " << (u.is_admin ? "yes" : "no") << "\n"
            << "status: " << u.status << "\n"
            << "plan: " << u.plan << "\n";
  db.tx_sync([&](pqxx::work& w) {
    auto r = w.exec_params(
        "SELECT us.bytes_used, us.objects_used, us.bytes_reserved, COALESCE(u.quota_bytes_override, p.bytes_limit), "
        "COALESCE(u.quota_objects_override, p.objects_limit) FROM usage us JOIN users u ON u.id = us.user_id JOIN plans p "
        "ON p.id = u.plan_id WHERE us.user_id = $1",
        u.id);
    if (r.empty()) return;
    std::cout << "bytes_used: " << r[0][0].as<std::int64_t>() << "\n"
              << "objects_used: " << r[0][1].as<std::int64_t>() << "\n"
              << "bytes_reserved: " << r[0][2].as<std::int64_t>() << "\n"
              << "bytes_limit: " << r[0][3].as<std::int64_t>() << "\n"
              << "objects_limit: " << (r[0][4].is_null() ? "unlimited" : r[0][4].as<std::string>()) << "\n";
  });
  if (u.quota_bytes_override) std::cout << "quota_bytes_override: " << *u.quota_bytes_override << "\n";
}

int user_cmd(Config& c, po::options_description& desc, const std::vector<std::string>& args) {
  std::string email, plan = "free";
  bool admin = false, password_stdin = false;
  desc.add_options()("email", po::value(&email), "email address")("plan", po::value(&plan), "plan name")(
      "admin", po::bool_switch(&admin), "make the user an administrator")(
      "password-stdin", po::bool_switch(&password_stdin), "read the password from standard input")(
      "require-email-verification",
      po::value(&c.require_email_verification)->default_value(c.require_email_verification),
      "reactivate: an account whose email was never verified goes back to pending");
  std::vector<std::string> pos;
  parse_config(args, desc, pos, c);
  setup_logging(c.log_format, "warn");
  if (pos.empty())
    throw UsageError("usage: depot user add|show|list|set-plan|set-password|suspend|reactivate|delete ...");
  if (pos[0] == "suspend" || pos[0] == "reactivate") {
    bool on = pos[0] == "suspend";
    need(pos, 2, on ? "user suspend NAME" : "user reactivate NAME");
    Session s(c);
    auth::UserStore users(*s.db);
    auto u = on ? users.suspend_sync(pos[1]) : users.reactivate_sync(pos[1], c.require_email_verification);
    if (!u) fail_on(u.error());
    std::cout << "status: " << u->status << "\n";
    return 0;
  }
  auto sub = pos[0];
  if (sub == "add") {
    need(pos, 2, "user add NAME --email E --password-stdin [--admin] [--plan PLAN]");
    if (email.empty()) throw UsageError("--email is required");
    if (!password_stdin) throw UsageError("--password-stdin is required (the password is read from standard input)");
    auto pw = read_password_stdin();
    Session s(c);
    auth::UserStore users(*s.db);
    auto u = users.create_sync({pos[1], email, pw, admin, plan, "active"});
    if (!u) fail_on(u.error());
    print_user(*u, *s.db);
    return 0;
  }
  if (sub == "show") {
    need(pos, 2, "user show NAME");
    Session s(c);
    auth::UserStore users(*s.db);
    auto u = users.find_by_name_sync(pos[1]);
    if (!u) throw std::runtime_error("there is no user named '" + pos[1] + "'");
    print_user(*u, *s.db);
    return 0;
  }
  if (sub == "list") {
    need(pos, 1, "user list");
    Session s(c);
    auth::UserStore users(*s.db);
    for (const auto& u : users.list_sync())
      std::cout << u.id << "\t" << u.name << "\t" << u.email << "\t" << u.plan << "\t" << u.status
                << (u.is_admin ? "\tadmin" : "") << "\n";
    return 0;
  }
  if (sub == "set-plan") {
    need(pos, 3, "user set-plan NAME PLAN");
    Session s(c);
    auth::UserStore users(*s.db);
    if (auto r = users.set_plan_sync(pos[1], pos[2]); !r) fail_on(r.error());
    std::cout << "plan: " << pos[2] << "\n";
    return 0;
  }
  if (sub == "set-password") {
    need(pos, 2, "user set-password NAME --password-stdin");
    if (!password_stdin) throw UsageError("--password-stdin is required");
    auto pw = read_password_stdin();
    Session s(c);
    auth::UserStore users(*s.db);
    if (auto r = users.set_password_sync(pos[1], pw); !r) fail_on(r.error());
    return 0;
  }
  if (sub == "delete") {
    need(pos, 2, "user delete NAME");
    Session s(c);
    auth::UserStore users(*s.db);
    if (auto r = users.remove_sync(pos[1]); !r) fail_on(r.error());
    return 0;
  }
  throw UsageError("unknown user command '" + sub + "'");
}

int key_cmd(Config& c, po::options_description& desc, const std::vector<std::string>& args) {
  std::string label;
  desc.add_options()("label", po::value(&label), "a note to recognise the key by");
  std::vector<std::string> pos;
  parse_config(args, desc, pos, c);
  setup_logging(c.log_format, "warn");
  if (pos.empty()) throw UsageError("usage: depot key add NAME | key list NAME | key revoke ID");
  Session s(c);
  auth::AccessKeys keys(*s.db, auth::MasterKey::load_or_create(master_key_path(c)));
  if (pos[0] == "add") {
    need(pos, 2, "key add NAME");
    auto k = keys.create_sync(pos[1], label);
    if (!k) fail_on(k.error());
    std::cout << k->id << " " << k->secret << "\n";
    return 0;
  }
  if (pos[0] == "list") {
    need(pos, 2, "key list NAME");
    auth::UserStore users(*s.db);
    if (!users.find_by_name_sync(pos[1])) throw std::runtime_error("there is no user named '" + pos[1] + "'");
    for (const auto& k : keys.list_sync(pos[1])) std::cout << k.id << "\t" << k.label << "\n";
    return 0;
  }
  if (pos[0] == "revoke") {
    need(pos, 2, "key revoke ID");
    if (auto r = keys.revoke_sync(pos[1]); !r) fail_on(r.error());
    return 0;
  }
  throw UsageError("unknown key command '" + pos[0] + "'");
}

int plan_cmd(Config& c, po::options_description& desc, const std::vector<std::string>& args) {
  std::string bytes, objects, price;
  desc.add_options()("bytes", po::value(&bytes), "storage limit in bytes")(
      "objects", po::value(&objects), "object count limit ('unlimited' to clear)")(
      "price-id", po::value(&price), "the plan's price id at the billing provider");
  std::vector<std::string> pos;
  parse_config(args, desc, pos, c);
  setup_logging(c.log_format, "warn");
  if (pos.empty()) throw UsageError("usage: depot plan list | plan add NAME --bytes N [--objects N] | plan set NAME ...");
  Session s(c);
  if (pos[0] == "list") {
    need(pos, 1, "plan list");
    s.db->tx_sync([&](pqxx::work& w) {
      for (const auto& r : w.exec("SELECT name, bytes_limit, objects_limit, COALESCE(price_id, '') FROM plans ORDER BY bytes_limit, name"))
        std::cout << r[0].as<std::string>() << "\t" << r[1].as<std::int64_t>() << "\t("
                  << human_bytes(r[1].as<std::int64_t>()) << ")\tobjects: "
                  << (r[2].is_null() ? "unlimited" : r[2].as<std::string>())
                  << (r[3].as<std::string>().empty() ? "" : "\tprice: " + r[3].as<std::string>()) << "\n";
    });
    return 0;
  }
  if (pos[0] == "add") {
    need(pos, 2, "plan add NAME --bytes N [--objects N]");
    if (bytes.empty()) throw UsageError("--bytes is required");
    auto b = parse_count(bytes, "--bytes");
    std::optional<std::int64_t> o;
    if (!objects.empty() && objects != "unlimited") o = parse_count(objects, "--objects");
    s.db->tx_sync([&](pqxx::work& w) {
      auto ex = w.exec_params("SELECT 1 FROM plans WHERE name = $1", pos[1]);
      if (!ex.empty()) throw std::runtime_error("a plan named '" + pos[1] + "' already exists");
      w.exec_params("INSERT INTO plans (name, bytes_limit, objects_limit, price_id) VALUES ($1, $2, $3, NULLIF($4, ''))",
                    pos[1], b, o, price);
    });
    return 0;
  }
  if (pos[0] == "set") {
    need(pos, 2, "plan set NAME [--bytes N] [--objects N|unlimited] [--price-id P]");
    s.db->tx_sync([&](pqxx::work& w) {
      auto ex = w.exec_params("SELECT 1 FROM plans WHERE name = $1", pos[1]);
      if (ex.empty()) throw std::runtime_error("there is no plan named '" + pos[1] + "'");
      if (!bytes.empty()) w.exec_params("UPDATE plans SET bytes_limit = $2 WHERE name = $1", pos[1], parse_count(bytes, "--bytes"));
      if (objects == "unlimited") w.exec_params("UPDATE plans SET objects_limit = NULL WHERE name = $1", pos[1]);
      else if (!objects.empty())
        w.exec_params("UPDATE plans SET objects_limit = $2 WHERE name = $1", pos[1], parse_count(objects, "--objects"));
      if (!price.empty()) w.exec_params("UPDATE plans SET price_id = $2 WHERE name = $1", pos[1], price);
    });
    return 0;
  }
  throw UsageError("unknown plan command '" + pos[0] + "'");
}

int usage_cmd(Config& c, po::options_description& desc, const std::vector<std::string>& args) {
  bool fix = false;
  desc.add_options()("fix", po::bool_switch(&fix), "repair the usage rows that drifted");
  std::vector<std::string> pos;
  parse_config(args, desc, pos, c);
  setup_logging(c.log_format, "warn");
  need(pos, 1, "usage verify [--fix]");
  if (pos[0] != "verify") throw UsageError("usage: depot usage verify [--fix]");
  Session s(c);
  int drift = 0;
  s.db->tx_sync([&](pqxx::work& w) {
    // usage_sources names every row that counts against a user (objects, and what later
    // migrations add, such as open multipart parts).
    auto rows = w.exec(
        "WITH actual AS (SELECT user_id, sum(bytes)::bigint AS bytes, sum(objects)::bigint AS objects FROM usage_sources "
        "GROUP BY user_id), held AS (SELECT user_id, sum(bytes)::bigint AS bytes FROM reservations GROUP BY user_id) "
        "SELECT u.name, us.user_id, us.bytes_used, us.objects_used, us.bytes_reserved, COALESCE(a.bytes, 0), "
        "COALESCE(a.objects, 0), COALESCE(h.bytes, 0) FROM usage us JOIN users u ON u.id = us.user_id "
        "LEFT JOIN actual a ON a.user_id = us.user_id LEFT JOIN held h ON h.user_id = us.user_id ORDER BY u.name");
    for (const auto& r : rows) {
      auto name = r[0].as<std::string>();
      auto b = r[2].as<std::int64_t>(), o = r[3].as<std::int64_t>(), res = r[4].as<std::int64_t>();
      auto ab = r[5].as<std::int64_t>(), ao = r[6].as<std::int64_t>(), ares = r[7].as<std::int64_t>();
      bool bad = b != ab || o != ao || res != ares;
      std::cout << name << ": bytes " << b << (b != ab ? " (actual " + std::to_string(ab) + ")" : "") << ", objects "
                << o << (o != ao ? " (actual " + std::to_string(ao) + ")" : "") << ", reserved " << res
                << (res != ares ? " (held " + std::to_string(ares) + ")" : "") << (bad ? "  DRIFT" : "  ok") << "\n";
      if (bad) {
        ++drift;
        if (fix)
          w.exec_params("UPDATE usage SET bytes_used = $2, objects_used = $3, bytes_reserved = $4 WHERE user_id = $1",
                        r[1].as<std::int64_t>(), ab, ao, ares);
      }
    }
  });
  std::cout << drift << " user(s) with drift" << (fix && drift ? ", repaired" : "") << "\n";
  return drift && !fix ? 1 : 0;
}

int invite_cmd(Config& c, po::options_description& desc, const std::vector<std::string>& args) {
  std::string email;
  int days = 14;
  desc.add_options()("email", po::value(&email), "only this address may use the invite")(
      "days", po::value(&days)->default_value(days), "days until the invite expires (1 to 365)");
  std::vector<std::string> pos;
  parse_config(args, desc, pos, c);
  setup_logging(c.log_format, "warn");
  need(pos, 1, "invite create [--email E] [--days N]");
  if (pos[0] != "create") throw UsageError("usage: depot invite create [--email E] [--days N]");
  if (days < 1 || days > 365) throw UsageError("--days must be between 1 and 365");
  if (!email.empty() && (email.find('@') == std::string::npos || email.size() > 254))
    throw UsageError("--email is not a valid email address");
  Session s(c);
  auto code = s.db->tx_sync([&](pqxx::work& w) { return auth::create_invite(w, std::nullopt, email, days); });
  std::cout << code << "\n";
  return 0;
}

int ban_cmd(Config& c, po::options_description& desc, const std::vector<std::string>& args) {
  std::vector<std::string> pos;
  parse_config(args, desc, pos, c);
  setup_logging(c.log_format, "warn");
  if (pos.empty()) throw UsageError("usage: depot ban list | ban lift ip:ADDRESS|user:NAME");
  if (pos[0] == "list") {
    need(pos, 1, "ban list");
    Session s(c);
    auth::Throttle throttle(*s.db, c);
    for (const auto& b : throttle.list_bans_sync()) {
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(b.banned_until - storage::Clock::now()).count();
      std::time_t until = std::chrono::system_clock::to_time_t(
          std::chrono::time_point_cast<std::chrono::system_clock::duration>(b.banned_until));
      char iso[32];
      std::strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&until));
      std::cout << b.scope << "\tuntil " << iso << "\t" << std::max<long long>(secs, 1) << " s left\n";
    }
    return 0;
  }
  if (pos[0] == "lift") {
    need(pos, 2, "ban lift ip:ADDRESS|user:NAME");
    const auto& scope = pos[1];
    if ((!scope.starts_with("ip:") && !scope.starts_with("user:")) || scope.size() < 4 || scope.back() == ':')
      throw UsageError("a ban is lifted by its scope, ip:ADDRESS or user:NAME, not '" + scope + "'");
    Session s(c);
    auth::Throttle throttle(*s.db, c);
    if (auto r = throttle.lift_sync(scope); !r) fail_on(r.error());
    return 0;
  }
  throw UsageError("unknown ban command '" + pos[0] + "'");
}

int mail_cmd(Config& c, po::options_description& desc, const std::vector<std::string>& args) {
  int limit = 50;
  desc.add_options()("limit", po::value(&limit)->default_value(limit), "how many of the newest mails to show");
  std::vector<std::string> pos;
  parse_config(args, desc, pos, c);
  setup_logging(c.log_format, "warn");
  need(pos, 1, "mail list [--limit N]");
  if (pos[0] != "list") throw UsageError("usage: depot mail list [--limit N]");
  if (limit < 1) throw UsageError("--limit must be at least 1");
  Session s(c);
  // One line a mail, newest first: id, created, sent or queued, attempts, recipient, subject, last error.
  s.db->tx_sync([&](pqxx::work& w) {
    for (const auto& r : w.exec_params(
             "SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), sent_at IS NOT NULL, "
             "attempts, to_addr, subject, COALESCE(last_error, '') FROM outbox ORDER BY id DESC LIMIT $1",
             limit))
      std::cout << r[0].as<std::int64_t>() << "\t" << r[1].as<std::string>() << "\t"
                << (r[2].as<bool>() ? "sent" : "queued") << "\t" << r[3].as<int>() << "\t" << r[4].as<std::string>()
                << "\t" << r[5].as<std::string>() << (r[6].as<std::string>().empty() ? "" : "\t" + r[6].as<std::string>())
                << "\n";
  });
  return 0;
}

int db_cmd(Config& c, po::options_description& desc, const std::vector<std::string>& args) {
  std::vector<std::string> pos;
  parse_config(args, desc, pos, c);
  setup_logging(c.log_format, c.log_level);
  need(pos, 1, "db start|stop|url");
  EmbeddedPostgres pg(c.data_dir);
  if (pos[0] == "start") {
    auto url = pg.start();
    storage::apply_migrations(url);
    std::cout << url << "\n";
    return 0;
  }
  if (pos[0] == "stop") {
    pg.stop();
    return 0;
  }
  if (pos[0] == "url") {
    std::cout << pg.url() << "\n";
    return 0;
  }
  throw UsageError("usage: depot db start|stop|url");
}

}  // namespace

std::string resolve_database_url(Config& c, bool start_embedded) {
  if (!c.database_url.empty()) return c.database_url;
  EmbeddedPostgres pg(c.data_dir);
  return start_embedded ? pg.start() : pg.url();
}

int admin_command(const std::string& group, const std::vector<std::string>& args) {
  Config c;
  auto desc = common_options(c);
  if (group == "migrate") {
    std::vector<std::string> pos;
    parse_config(args, desc, pos, c);
    setup_logging(c.log_format, c.log_level);
    if (!pos.empty()) throw UsageError("usage: depot migrate --database-url URL");
    Session s(c);  // applies the migrations
    // TOTP secrets left in clear by an older version are sealed now when the master key is here
    // (the server does the same when it starts).
    auto key = master_key_path(c);
    if (std::filesystem::exists(key)) {
      auto mk = auth::MasterKey::load_or_create(key);
      int n = s.db->tx_sync([&](pqxx::work& w) { return auth::seal_clear_totp_secrets(w, mk); });
      if (n > 0) std::cout << "sealed " << n << " TOTP secret(s) under the master key\n";
    }
    std::cout << "schema is up to date\n";
    return 0;
  }
  if (group == "user") return user_cmd(c, desc, args);
  if (group == "key") return key_cmd(c, desc, args);
  if (group == "plan") return plan_cmd(c, desc, args);
  if (group == "usage") return usage_cmd(c, desc, args);
  if (group == "db") return db_cmd(c, desc, args);
  if (group == "invite") return invite_cmd(c, desc, args);
  if (group == "ban") return ban_cmd(c, desc, args);
  if (group == "mail") return mail_cmd(c, desc, args);
  throw UsageError("unknown command " + group);
}

}  // namespace depot::cli
