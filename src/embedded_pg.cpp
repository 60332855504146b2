#include "src/embedded_pg.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <vector>

namespace depot {
namespace fs = std::filesystem;

namespace {

constexpr const char* kSystemUser = "depot-pg";

std::string find_bindir() {
  if (const char* env = std::getenv("DEPOT_PG_BINDIR")) return env;
  std::string best;
  std::error_code ec;
  for (auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    auto bin = e.path() / "bin";
    if (fs::exists(bin / "initdb") && bin.string() > best) best = bin.string();
  }
  if (best.empty()) throw std::runtime_error("PostgreSQL server binaries were not found under /usr/lib/postgresql (install the postgresql package)");
  return best;
}

struct Account {
  uid_t uid;
  gid_t gid;
};

Account system_account() {
  if (::geteuid() != 0) return {::geteuid(), ::getegid()};
  struct passwd* pw = ::getpwnam(kSystemUser);
  if (!pw) {
    int rc = std::system("useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin depot-pg");
    if (rc != 0) throw std::runtime_error("could not create the system user depot-pg to run PostgreSQL");
    pw = ::getpwnam(kSystemUser);
    if (!pw) throw std::runtime_error("the system user depot-pg does not exist");
  }
  return {pw->pw_uid, pw->pw_gid};
}

// Runs argv as the PostgreSQL account; returns the exit status.
int run_as(const Account& acct, const std::vector<std::string>& argv) {
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // initdb and pg_ctl talk a lot: their output goes to the cluster's log, not our terminal.
    if (const char* log = std::getenv("DEPOT_PG_CHILD_LOG")) {
      int fd = ::open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
    }
    if (::geteuid() == 0) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(acct.gid) != 0 || ::setuid(acct.uid) != 0) _exit(126);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void chown_tree(const fs::path& p, const Account& a) {
  if (::geteuid() != 0) return;
  if (::chown(p.c_str(), a.uid, a.gid) != 0) throw std::runtime_error("cannot chown " + p.string());
}

}  // namespace

EmbeddedPostgres::EmbeddedPostgres(std::string data_dir) {
  root_ = fs::absolute(data_dir).lexically_normal().string();
  pgdata_ = root_ + "/pg";
  socket_dir_ = root_ + "/pg-socket";
  log_file_ = root_ + "/pg.log";
}

std::string EmbeddedPostgres::url() const { return "postgresql://depot@/depot?host=" + socket_dir_; }

bool EmbeddedPostgres::running() const {
  return fs::exists(pgdata_ + "/postmaster.pid") && run_as(system_account(), {bindir_.empty() ? find_bindir() + "/pg_ctl" : bindir_ + "/pg_ctl", "-D", pgdata_, "status"}) == 0;
}

std::string EmbeddedPostgres::start() {
  bindir_ = find_bindir();
  ::setenv("DEPOT_PG_CHILD_LOG", (root_ + "/pg-tools.log").c_str(), 1);
  auto acct = system_account();
  fs::create_directories(root_);
  // The PostgreSQL account must be able to reach its directories under data-dir.
  if (::geteuid() == 0) {
    for (fs::path p = root_; p != p.root_path(); p = p.parent_path()) {
      struct stat st {};
      if (::stat(p.c_str(), &st) == 0 && !(st.st_mode & S_IXOTH)) ::chmod(p.c_str(), st.st_mode | S_IXOTH);
    }
  }
  fs::create_directories(socket_dir_);
  ::chmod(socket_dir_.c_str(), 0700);
  chown_tree(socket_dir_, acct);
  if (!fs::exists(pgdata_ + "/PG_VERSION")) {
    spdlog::info("creating the embedded PostgreSQL cluster in {}", pgdata_);
    fs::create_directories(pgdata_);
    ::chmod(pgdata_.c_str(), 0700);
    chown_tree(pgdata_, acct);
    int rc = run_as(acct, {bindir_ + "/initdb", "-D", pgdata_, "-U", "depot", "--auth=trust", "--encoding=UTF8",
                           "--locale=C"});
    if (rc != 0) throw std::runtime_error("initdb failed for " + pgdata_);
    // Unix socket only, private to the PostgreSQL account (and root).
    std::ofstream conf(pgdata_ + "/postgresql.conf", std::ios::app);
    conf << "\n# depot embedded defaults\nlisten_addresses = ''\nunix_socket_directories = '" << socket_dir_
         << "'\nmax_connections = 200\nshared_buffers = 256MB\n";
    if (!conf) throw std::runtime_error("cannot write " + pgdata_ + "/postgresql.conf");
  }
  if (!fs::exists(log_file_)) {
    int fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT, 0640);
    if (fd >= 0) ::close(fd);
  }
  chown_tree(log_file_, acct);
  if (run_as(acct, {bindir_ + "/pg_ctl", "-D", pgdata_, "status"}) != 0) {
    int rc = run_as(acct, {bindir_ + "/pg_ctl", "-D", pgdata_, "-l", log_file_, "-w", "-t", "60", "-o",
                           "-c listen_addresses='' -c unix_socket_directories='" + socket_dir_ + "'", "start"});
    if (rc != 0) throw std::runtime_error("the embedded PostgreSQL did not start; see " + log_file_);
    started_by_us_ = true;
  }
  {
    pqxx::connection c("postgresql://depot@/postgres?host=" + socket_dir_);
    pqxx::nontransaction n(c);
    if (n.exec("SELECT 1 FROM pg_database WHERE datname = 'depot'").empty()) n.exec("CREATE DATABASE depot");
  }
  return url();
}

void EmbeddedPostgres::stop() {
  if (bindir_.empty()) bindir_ = find_bindir();
  if (!fs::exists(pgdata_ + "/postmaster.pid")) return;
  int rc = run_as(system_account(), {bindir_ + "/pg_ctl", "-D", pgdata_, "-m", "fast", "-w", "-t", "60", "stop"});
  if (rc != 0) spdlog::warn("the embedded PostgreSQL did not stop cleanly (pg_ctl exit {})", rc);
}

}  // namespace depot
