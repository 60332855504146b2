#include "src/config_parse.hpp"

#include <cstdlib>
#include <fstream>

namespace depot {

namespace {
struct Seconds {
  std::chrono::seconds* target;
};
}  // namespace

po::options_description common_options(Config& c) {
  po::options_description d("Common options");
  d.add_options()
      ("config", po::value(&c.config_file), "configuration file (key = value lines)")
      ("data-dir", po::value(&c.data_dir)->default_value(c.data_dir), "where blobs, keys, certificates and the embedded database live")
      ("database-url", po::value(&c.database_url), "PostgreSQL URL; empty = the embedded private cluster under data-dir")
      ("log-format", po::value(&c.log_format)->default_value(c.log_format), "text or json")
      ("log-level", po::value(&c.log_level)->default_value(c.log_level), "trace, debug, info, warn, error")
      ("master-key-file", po::value(&c.master_key_file), "32-byte key that seals stored secrets (default data-dir/master.key)");
  return d;
}

po::options_description serve_options(Config& c) {
  auto d = common_options(c);
  auto secs = [](std::chrono::seconds& s) {
    return po::value<long>()->notifier([&s](long v) { s = std::chrono::seconds(v); });
  };
  d.add_options()
      ("listen", po::value(&c.listen)->default_value(c.listen), "plain HTTP address:port")
      ("tls-listen", po::value(&c.tls_listen)->default_value(c.tls_listen), "HTTPS address:port (empty: none)")
      ("tls-cert", po::value(&c.tls_cert), "PEM certificate (default: self-signed under data-dir)")
      ("tls-key", po::value(&c.tls_key), "PEM private key")
      ("region", po::value(&c.region)->default_value(c.region), "S3 region name")
      ("s3-base-domain", po::value(&c.s3_base_domain), "base domain for virtual-hosted-style S3")
      ("public-url", po::value(&c.public_url), "URL users reach this server at")
      ("threads", po::value(&c.threads)->default_value(c.threads), "I/O threads (0 = one per core)")
      ("db-pool", po::value(&c.db_pool)->default_value(c.db_pool), "database connections per set (0 = two per core, at least 4)")
      ("max-connections", po::value(&c.max_connections)->default_value(c.max_connections), "open connections allowed")
      ("max-header-bytes", po::value(&c.max_header_bytes)->default_value(c.max_header_bytes), "request header limit")
      ("max-url-bytes", po::value(&c.max_url_bytes)->default_value(c.max_url_bytes), "request target limit")
      ("inline-threshold", po::value(&c.inline_threshold)->default_value(c.inline_threshold), "objects up to this size are kept in PostgreSQL")
      ("header-timeout", secs(c.header_timeout), "seconds to receive a request header")
      ("body-idle-timeout", secs(c.body_idle_timeout), "seconds a body may stall")
      ("keepalive-timeout", secs(c.keepalive_timeout), "seconds an idle keep-alive connection stays open")
      ("shutdown-grace", secs(c.shutdown_grace), "seconds in-flight requests get at shutdown")
      ("min-body-rate", po::value(&c.min_body_rate)->default_value(c.min_body_rate), "bytes/s below which a body upload is cut off")
      ("sweep-interval", secs(c.sweep_interval), "seconds between sweeper runs")
      ("orphan-grace", secs(c.orphan_grace), "age in seconds before an unreferenced blob file is removed")
      ("node-timeout", secs(c.node_timeout), "seconds of silence after which a server's reservations are released")
      ("multipart-max-age", secs(c.multipart_max_age), "seconds after which an unfinished multipart upload is aborted")
      ("dav-depth-infinity", po::value(&c.dav_depth_infinity)->default_value(c.dav_depth_infinity), "allow PROPFIND Depth: infinity")
      ("dav-depth-infinity-max", po::value(&c.dav_depth_infinity_max)->default_value(c.dav_depth_infinity_max), "entries a Depth: infinity PROPFIND may return")
      ("admin-user", po::value(&c.admin_user)->default_value(c.admin_user), "name of the admin created on first run")
      ("admin-password", po::value(&c.admin_password), "password of the admin created on first run (default: generated)")
      ("site-name", po::value(&c.site_name)->default_value(c.site_name), "name shown in emails and the console")
      ("signup-mode", po::value(&c.signup_mode)->default_value(c.signup_mode), "open, invite or closed")
      ("signup-limit", po::value(&c.signup_limit)->default_value(c.signup_limit), "sign-ups per client address per 15 minutes (0: no limit)")
      ("require-email-verification", po::value(&c.require_email_verification)->default_value(c.require_email_verification), "storage usable only after the email is verified")
      ("smtp-url", po::value(&c.smtp_url), "smtp://host:port or smtps://host:port (empty: mail waits in the outbox)")
      ("smtp-user", po::value(&c.smtp_user), "SMTP user name")
      ("smtp-password", po::value(&c.smtp_password), "SMTP password")
      ("mail-from", po::value(&c.mail_from)->default_value(c.mail_from), "sender address of emails")
      ("stripe-api-base", po::value(&c.stripe_api_base)->default_value(c.stripe_api_base), "billing provider API base URL")
      ("stripe-secret-key", po::value(&c.stripe_secret_key), "billing provider secret API key")
      ("stripe-webhook-secret", po::value(&c.stripe_webhook_secret), "webhook signing secrets, comma-separated")
      ("payment-grace", secs(c.payment_grace), "seconds after a failed payment before the plan falls back to free")
      ("session-ttl", secs(c.session_ttl), "seconds a console session lasts")
      ("auth-ban-threshold", po::value(&c.auth_ban_threshold)->default_value(c.auth_ban_threshold), "failed sign-ins per address or account before a ban")
      ("auth-ban-duration", secs(c.auth_ban_duration), "seconds a ban lasts");
  return d;
}

po::variables_map parse_config(const std::vector<std::string>& args, const po::options_description& desc,
                               std::vector<std::string>& positional, Config& c) {
  po::variables_map vm;
  po::options_description all;
  all.add(desc);
  all.add_options()("args", po::value<std::vector<std::string>>(), "");
  po::positional_options_description pos;
  pos.add("args", -1);
  // Flags first: po::store never overwrites a value already stored, which gives the precedence.
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  if (vm.count("args")) positional = vm["args"].as<std::vector<std::string>>();
  po::store(po::parse_environment(desc,
                                  [&desc](const std::string& env) -> std::string {
                                    if (!env.starts_with("DEPOT_")) return "";
                                    std::string name = env.substr(6);
                                    for (auto& ch : name) ch = ch == '_' ? '-' : char(std::tolower(ch));
                                    return desc.find_nothrow(name, false) ? name : "";
                                  }),
            vm);
  std::string file;
  if (vm.count("config")) file = vm["config"].as<std::string>();
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw po::error("cannot read the config file " + file);
    po::store(po::parse_config_file(in, desc, true), vm);
  }
  po::notify(vm);
  return vm;
}

}  // namespace depot
