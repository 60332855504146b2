#include "src/cli/cli.hpp"

#include "src/bench/bench.hpp"

#include <boost/program_options.hpp>
#include <iostream>
#include <pqxx/pqxx>

namespace depot::cli {

namespace {
constexpr const char* kUsage = R"(usage: depot <command> [options]

commands:
  serve                         run the server (see depot serve --help)
  migrate                       apply the database schema and exit
  user add NAME --email E --password-stdin [--admin] [--plan PLAN]
  user show NAME | user list | user set-plan NAME PLAN | user delete NAME
  user set-password NAME --password-stdin
  user suspend NAME | user reactivate NAME   every protocol refuses a suspended user
  invite create [--email E] [--days N]      prints the invite code (sign-up mode invite)
  ban list | ban lift ip:ADDRESS|user:NAME   brute-force bans
  mail list [--limit N]         the mail outbox, newest first
  key add NAME [--label L]      prints "<access-key-id> <secret-access-key>"
  key list NAME | key revoke ID
  plan list | plan add NAME --bytes N [--objects N] | plan set NAME [--bytes N] [--objects N]
  usage verify [--fix]          recompute usage from the objects and report drift
  db start | db stop | db url   the embedded PostgreSQL under --data-dir
  bench ...                     S3 load generator (depot bench --help)

every command takes --database-url (or DEPOT_DATABASE_URL, or database-url in --config FILE)
)";
}  // namespace

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "serve") return serve(args);
    if (cmd == "bench") return bench::run_bench(argc - 1, argv + 1);
    if (cmd == "migrate" || cmd == "user" || cmd == "key" || cmd == "plan" || cmd == "usage" || cmd == "db" ||
        cmd == "invite" || cmd == "ban" || cmd == "mail")
      return admin_command(cmd, args);
    std::cerr << "depot: unknown command '" << cmd << "' (try depot --help)\n";
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "depot " << cmd << ": " << e.what() << "\n";
    return 2;
  } catch (const boost::program_options::error& e) {
    std::cerr << "depot " << cmd << ": " << e.what() << "\n";
    return 2;
  } catch (const pqxx::broken_connection& e) {
    std::string msg = e.what();
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    std::cerr << "depot " << cmd << ": cannot connect to the database: " << msg << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    std::cerr << "depot " << cmd << ": " << msg << "\n";
    return 1;
  }
}

}  // namespace depot::cli
