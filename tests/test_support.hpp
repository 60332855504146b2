// Helpers for tests that need the real PostgreSQL started by scripts/test.sh
// (DEPOT_TEST_DATABASE_URL). Without it those tests are skipped with a message.
#pragma once
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <string>

namespace depot::testing {

inline const char* database_url() { return std::getenv("DEPOT_TEST_DATABASE_URL"); }

// Runs a coroutine to completion on a private io_context and returns its result.
template <class T>
T run(boost::asio::awaitable<T> aw) {
  boost::asio::io_context ioc;
  auto fut = boost::asio::co_spawn(ioc, std::move(aw), boost::asio::use_future);
  ioc.run();
  return fut.get();
}

inline void run(boost::asio::awaitable<void> aw) {
  boost::asio::io_context ioc;
  auto fut = boost::asio::co_spawn(ioc, std::move(aw), boost::asio::use_future);
  ioc.run();
  fut.get();
}

// A name no other test run has used.
std::string unique_name(const std::string& prefix);

}  // namespace depot::testing

// Skips a test that needs PostgreSQL when the test command did not provide one.
#define DEPOT_REQUIRE_DB()                                                       \
  do {                                                                           \
    if (!depot::testing::database_url()) {                                       \
      WARN("DEPOT_TEST_DATABASE_URL is not set: skipped (scripts/test.sh sets it)"); \
      return;                                                                    \
    }                                                                            \
  } while (0)
