// Logging: spdlog, as text or one JSON object per line. Secrets are never passed to a logger.
#pragma once
#include <chrono>
#include <string>

namespace depot {
namespace http { class Exchange; }

void setup_logging(const std::string& format, const std::string& level);
// One access-log line: method, path, status, bytes in/out, duration, user, request id.
void log_access(const http::Exchange& ex, std::chrono::steady_clock::duration took);

}  // namespace depot
