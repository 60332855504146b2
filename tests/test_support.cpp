#include "tests/test_support.hpp"

#include <atomic>
#include <chrono>
#include <unistd.h>

namespace depot::testing {
std::string unique_name(const std::string& prefix) {
  static std::atomic<int> n{0};
  auto t = std::chrono::steady_clock::now().time_since_epoch().count();
  return prefix + std::to_string(::getpid()) + "-" + std::to_string(t % 1000000007) + "-" + std::to_string(n++);
}
}  // namespace depot::testing
