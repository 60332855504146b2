#include "storage/console_store.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "storage/db.hpp"
#include "storage/migrations.hpp"
#include "tests/test_support.hpp"

using namespace depot::storage;
using depot::testing::run;
using depot::testing::unique_name;

TEST_CASE("console settings: stored values win, null removes them", "[console][db]") {
  DEPOT_REQUIRE_DB();
  apply_migrations(depot::testing::database_url());
  Database db(depot::testing::database_url(), 2);
  ConsoleStore store(db);
  auto key = unique_name("test-setting-");
  CHECK(run(store.setting_or(key, "from-config")) == "from-config");
  db.tx_sync([&](pqxx::work& w) { ConsoleStore::put_setting(w, key, std::string("v1"), 0); });
  db.tx_sync([&](pqxx::work& w) { ConsoleStore::put_setting(w, key, std::string("v2"), 0); });
  CHECK(run(store.setting_or(key, "from-config")) == "v2");
  CHECK(run(store.settings()).at(key) == "v2");
  db.tx_sync([&](pqxx::work& w) { ConsoleStore::put_setting(w, key, std::nullopt, 0); });
  CHECK(run(store.setting_or(key, "from-config")) == "from-config");
}

TEST_CASE("audit log: rows in the caller's transaction, filters, id cursor", "[console][db]") {
  DEPOT_REQUIRE_DB();
  apply_migrations(depot::testing::database_url());
  Database db(depot::testing::database_url(), 2);
  ConsoleStore store(db);
  auto actor = unique_name("auditor-");
  for (int i = 0; i < 3; ++i) {
    AuditEntry e;
    e.actor = actor;
    e.actor_addr = "192.0.2.1";
    e.action = i == 1 ? "SuspendUser" : "CreateUser";
    e.target = "user" + std::to_string(i);
    e.details = boost::json::object{{"i", i}};
    db.tx_sync([&](pqxx::work& w) { ConsoleStore::audit(w, e); });
  }
  // A rolled-back transaction leaves no row.
  try {
    db.tx_sync([&](pqxx::work& w) {
      AuditEntry e;
      e.actor = actor;
      e.action = "RolledBack";
      ConsoleStore::audit(w, e);
      throw std::runtime_error("abort");
    });
  } catch (const std::runtime_error&) {
  }
  AuditFilter f;
  f.actor = actor;
  auto all = run(store.audit_log(f));
  REQUIRE(all.size() == 3);
  CHECK(all[0].target == "user2");  // newest first
  CHECK(all[0].details.at("i").as_int64() == 2);
  CHECK(all[0].actor_addr == "192.0.2.1");
  f.action = "SuspendUser";
  auto one = run(store.audit_log(f));
  REQUIRE(one.size() == 1);
  CHECK(one[0].target == "user1");
  AuditFilter page;
  page.actor = actor;
  page.limit = 1;
  page.before = all[0].id;
  auto next = run(store.audit_log(page));
  REQUIRE(next.size() == 1);
  CHECK(next[0].id == all[1].id);
}

TEST_CASE("usage samples: one per interval, history oldest first", "[console][db]") {
  DEPOT_REQUIRE_DB();
  apply_migrations(depot::testing::database_url());
  Database db(depot::testing::database_url(), 2);
  ConsoleStore store(db);
  // (A server on the same database may take samples too: retry until this one takes one.)
  bool took = false;
  for (int i = 0; i < 5 && !took; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    took = run(store.sample_usage(std::chrono::seconds(1)));
  }
  CHECK(took);
  CHECK_FALSE(run(store.sample_usage(std::chrono::seconds(3600))));  // one was just taken
  auto h = run(store.usage_history(1));
  REQUIRE_FALSE(h.empty());
  for (std::size_t i = 1; i < h.size(); ++i) CHECK(h[i - 1].at <= h[i].at);
  auto users = db.tx_sync([](pqxx::work& w) { return w.exec("SELECT count(*) FROM users")[0][0].as<std::int64_t>(); });
  CHECK(h.back().users > 0);
  CHECK(h.back().users <= users);
  CHECK(h.back().bytes >= 0);
}
