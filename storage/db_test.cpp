#include "storage/db.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "tests/test_support.hpp"

using namespace depot::storage;
using depot::testing::run;
namespace asio = boost::asio;

TEST_CASE("Database::query: binary results read as pqxx rows are", "[db]") {
  DEPOT_REQUIRE_DB();
  Database db(depot::testing::database_url(), 2);
  auto r = run(db.query("db_test_types",
                        "SELECT $1::bigint, (-2)::smallint, (-70000)::integer, true, false, 'héllo'::text, "
                        "'\\x00ff10'::bytea, NULL::text, $2::text, ''::text",
                        {"-9000000000", "x y"}));
  REQUIRE(r.size() == 1);
  auto row = r[0];
  CHECK(row[0].as<std::int64_t>() == -9000000000);
  CHECK(row[1].as<int>() == -2);
  CHECK(row[2].as<int>() == -70000);
  CHECK(row[3].as<bool>());
  CHECK_FALSE(row[4].as<bool>());
  CHECK(row[5].as<std::string>() == "héllo");
  CHECK(row[6].bytea() == std::string("\x00\xff\x10", 3));
  CHECK(row[7].is_null());
  CHECK_THROWS_AS(row[7].as<std::string>(), pqxx::conversion_error);
  CHECK(row[8].as<std::string>() == "x y");
  CHECK(row[9].as<std::string>().empty());
  CHECK_THROWS_AS(row[5].as<std::int64_t>(), pqxx::conversion_error);  // text is not a number

  auto none = run(db.query("db_test_empty", "SELECT 1 WHERE false", {}));
  CHECK(none.empty());
}

TEST_CASE("Database::query: SQL errors throw and leave the connection usable", "[db]") {
  DEPOT_REQUIRE_DB();
  Database db(depot::testing::database_url(), 1);
  CHECK_THROWS_AS(run(db.query("db_test_div", "SELECT 1 / $1::integer", {"0"})), pqxx::sql_error);
  CHECK_THROWS_AS(run(db.query("db_test_bad_sql", "SELEC nonsense", {})), pqxx::sql_error);
  // The one connection answers again, and the statement that failed once runs with good input.
  CHECK(run(db.query("db_test_div", "SELECT 1 / $1::integer", {"1"}))[0][0].as<int>() == 1);
}

TEST_CASE("Database::query: more callers than connections wait their turn", "[db]") {
  DEPOT_REQUIRE_DB();
  Database db(depot::testing::database_url(), 2);
  asio::io_context io;
  int done = 0;
  for (int i = 0; i < 12; ++i) {
    asio::co_spawn(
        io,
        [&db, &done, i]() -> asio::awaitable<void> {
          std::vector<std::string> params{std::to_string(i)};  // (no braced temporaries in co_await: GCC 12)
          auto r = co_await db.query("db_test_sleep", "SELECT $1::integer FROM pg_sleep(0.02)", params);
          if (r[0][0].as<int>() == i) ++done;
        },
        asio::detached);
  }
  io.run();
  CHECK(done == 12);
  // At most two backends served them.
  auto n = run(db.query("db_test_count",
                        "SELECT count(*)::bigint FROM pg_stat_activity WHERE "
                        "query LIKE 'SELECT $1::integer FROM pg_sleep%'",
                        {}));
  CHECK(n[0][0].as<std::int64_t>() <= 2);
}

TEST_CASE("Database::query: a connection the server closed is replaced", "[db]") {
  DEPOT_REQUIRE_DB();
  Database db(depot::testing::database_url(), 1);
  auto pid = run(db.query("db_test_pid", "SELECT pg_backend_pid()::bigint", {}))[0][0].as<std::int64_t>();
  Database admin(depot::testing::database_url(), 1);
  CHECK(run(admin.query("db_test_kill", "SELECT pg_terminate_backend($1::integer)", {std::to_string(pid)}))[0][0].as<bool>());
  // The next query notices the closed connection and runs again on a new one.
  auto again = run(db.query("db_test_pid", "SELECT pg_backend_pid()::bigint", {}))[0][0].as<std::int64_t>();
  CHECK(again != pid);
}

TEST_CASE("Database::query: an unreachable database is a broken_connection", "[db]") {
  Database db("postgresql://nobody@/nodb?host=/nonexistent-socket-dir", 1);
  CHECK_THROWS_AS(run(db.query("db_test_none", "SELECT 1", {})), pqxx::broken_connection);
  // Its slot was given back: a second try fails the same way instead of waiting forever.
  CHECK_THROWS_AS(run(db.query("db_test_none", "SELECT 1", {})), pqxx::broken_connection);
}
