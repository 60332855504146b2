#pragma once
#include <string>
#include <vector>

#include "src/config.hpp"

namespace depot::cli {

// `depot <command> ...`: returns the process exit code. Errors are one sentence on stderr.
int run(int argc, char** argv);

// Subcommands (each parses its own options).
int serve(const std::vector<std::string>& args);
int admin_command(const std::string& group, const std::vector<std::string>& args);

// The database URL for a command: --database-url / env / config, or the embedded cluster's
// URL when the data dir holds one (started on demand for admin commands).
std::string resolve_database_url(Config& c, bool start_embedded);

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace depot::cli
