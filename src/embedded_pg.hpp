// EmbeddedPostgres: the private PostgreSQL cluster `depot serve` runs when no --database-url is
// given. It lives in <data-dir>/pg (initdb on first use), listens on a unix socket in
// <data-dir>/pg-socket only, and, when depot runs as root, runs as the unprivileged system user
// `depot-pg` (PostgreSQL refuses to run as root).
#pragma once
#include <string>

namespace depot {

class EmbeddedPostgres {
 public:
  explicit EmbeddedPostgres(std::string data_dir);
  // initdb if needed, start, create the database; returns the URL. Throws std::runtime_error
  // with a sentence saying what failed.
  std::string start();
  void stop();
  bool running() const;
  std::string url() const;
  bool started_by_us() const { return started_by_us_; }

 private:
  std::string bindir_, root_, pgdata_, socket_dir_, log_file_;
  bool started_by_us_ = false;
};

}  // namespace depot
