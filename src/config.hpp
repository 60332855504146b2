// Config: every setting of `depot serve` and the other commands. Each flag --x-y is also the
// environment variable DEPOT_X_Y and the config-file key x-y; precedence flag > env > file.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace depot {

struct Config {
  std::string config_file;
  std::string listen = "127.0.0.1:8080";
  std::string tls_listen = "127.0.0.1:8443";  // empty: no TLS listener
  std::string tls_cert;                       // empty: self-signed under data-dir
  std::string tls_key;
  std::string data_dir = "./data";
  std::string database_url;                   // empty: the embedded private PostgreSQL
  std::string log_format = "text";            // text | json
  std::string log_level = "info";
  std::string region = "us-east-1";
  std::string s3_base_domain;                 // virtual-hosted-style S3 when set
  std::string master_key_file;                // default <data-dir>/master.key
  std::string public_url;                     // e.g. https://storage.example.com (links, console)
  int threads = 0;                            // I/O threads; 0 = one per core
  // Database connections; 0 = two per core (at least 4). Measured on 2 cores: 4 connections
  // served 4 KiB S3 PUTs at 3,200/s and GETs at 7,500-8,100/s where 16 managed 2,500/s and
  // 7,000/s (fewer backends compete for the CPU, and group commits gather larger batches).
  int db_pool = 0;
  // Limits
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_url_bytes = 8 * 1024;
  int max_connections = 10000;
  std::uint64_t max_object_bytes = 5ull * 1024 * 1024 * 1024 * 1024;  // 5 TiB as S3
  std::size_t inline_threshold = 64 * 1024;   // objects up to this size are stored in PostgreSQL
  std::chrono::seconds header_timeout{30};
  std::chrono::seconds body_idle_timeout{60};
  std::chrono::seconds keepalive_timeout{75};
  std::chrono::seconds shutdown_grace{20};
  std::uint64_t min_body_rate = 1024;         // bytes/s averaged over 30 s, else cut off
  // Sweeper
  std::chrono::seconds sweep_interval{60};
  std::chrono::seconds orphan_grace{3600};    // a blob file newer than this is never swept
  std::chrono::seconds node_timeout{60};      // a node silent this long has its reservations freed
  std::chrono::seconds multipart_max_age{7 * 24 * 3600};
  // WebDAV
  bool dav_depth_infinity = false;
  int dav_depth_infinity_max = 10000;
  // First-run admin
  std::string admin_user = "admin";
  std::string admin_password;                 // DEPOT_ADMIN_PASSWORD; generated when empty
  // Accounts and billing (auth/, admin-ui/)
  std::string site_name = "depot";            // in emails and the console
  std::string signup_mode = "open";           // open | invite | closed
  bool require_email_verification = true;     // storage usable only once the email is verified
  int signup_limit = 10;                      // sign-ups per client address per 15 minutes (0: no limit)
  std::string smtp_url;                       // smtp://host:port (STARTTLS if offered) or smtps://; empty: mail waits
  std::string smtp_user;
  std::string smtp_password;
  std::string mail_from = "depot@localhost";
  std::string stripe_api_base = "https://api.stripe.com";
  std::string stripe_secret_key;
  std::string stripe_webhook_secret;          // comma-separated (rotation); DEPOT_STRIPE_WEBHOOK_SECRET
  std::chrono::seconds payment_grace{7 * 24 * 3600};  // after invoice.payment_failed, then back to free
  std::chrono::seconds session_ttl{14 * 24 * 3600};
  int auth_ban_threshold = 10;                // failures per address or account before a ban
  std::chrono::seconds auth_ban_duration{900};
};

}  // namespace depot
