// Turning flags, DEPOT_* environment variables and a config file into a Config.
#pragma once
#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "src/config.hpp"

namespace depot {

namespace po = boost::program_options;

// The options every command takes (--config, --data-dir, --database-url, logging) plus, for
// serve, everything in Config.
po::options_description common_options(Config& c);
po::options_description serve_options(Config& c);

// Parses args against desc with precedence flag > DEPOT_<FLAG> env > config file. Positional
// arguments are returned in `positional`. Throws po::error with a clear message.
po::variables_map parse_config(const std::vector<std::string>& args, const po::options_description& desc,
                               std::vector<std::string>& positional, Config& c);

}  // namespace depot
