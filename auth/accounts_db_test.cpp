// Account services against the real PostgreSQL of scripts/test.sh: email tokens, sessions,
// throttle, app passwords over verify_webdav_password, and billing events (replay, ordering).
#include <catch2/catch.hpp>

#include "auth/app_passwords.hpp"
#include "auth/email_tokens.hpp"
#include "auth/sessions.hpp"
#include "auth/throttle.hpp"
#include "auth/users.hpp"
#include "storage/billing_store.hpp"
#include "storage/db.hpp"
#include "storage/migrations.hpp"
#include "tests/test_support.hpp"

using namespace depot;
using depot::testing::run;

namespace {
struct AccountsFixture {
  std::string url = depot::testing::database_url();
  storage::Database db{url, 2};
  auth::UserStore users{db};
  auth::User user;
  std::string password = "a-decent-passphrase";
  AccountsFixture() {
    storage::apply_migrations(url);
    auto name = depot::testing::unique_name("acct");
    auto u = users.create_sync({name, name + "@x.test", password, false, "free", "active"});
    REQUIRE(u.ok());
    user = *u;
  }
};
}  // namespace

TEST_CASE("email tokens are single-use, expiring and per purpose", "[accounts][db]") {
  DEPOT_REQUIRE_DB();
  AccountsFixture f;
  auto t = f.db.tx_sync([&](pqxx::work& w) { return auth::issue_email_token(w, f.user.id, "reset", std::chrono::seconds(60)); });
  CHECK_FALSE(f.db.tx_sync([&](pqxx::work& w) { return auth::consume_email_token(w, t, "verify"); }).ok());
  auto ok = f.db.tx_sync([&](pqxx::work& w) { return auth::consume_email_token(w, t, "reset"); });
  REQUIRE(ok.ok());
  CHECK(ok->user == f.user.id);
  CHECK_FALSE(f.db.tx_sync([&](pqxx::work& w) { return auth::consume_email_token(w, t, "reset"); }).ok());
  auto old = f.db.tx_sync([&](pqxx::work& w) { return auth::issue_email_token(w, f.user.id, "reset", std::chrono::seconds(60)); });
  auto fresh = f.db.tx_sync([&](pqxx::work& w) { return auth::issue_email_token(w, f.user.id, "reset", std::chrono::seconds(60)); });
  CHECK_FALSE(f.db.tx_sync([&](pqxx::work& w) { return auth::consume_email_token(w, old, "reset"); }).ok());
  CHECK(f.db.tx_sync([&](pqxx::work& w) { return auth::consume_email_token(w, fresh, "reset"); }).ok());
  auto expired = f.db.tx_sync([&](pqxx::work& w) { return auth::issue_email_token(w, f.user.id, "verify", std::chrono::seconds(-1)); });
  CHECK_FALSE(f.db.tx_sync([&](pqxx::work& w) { return auth::consume_email_token(w, expired, "verify"); }).ok());
}

TEST_CASE("sessions: lookup by token, sign out everywhere", "[accounts][db]") {
  DEPOT_REQUIRE_DB();
  AccountsFixture f;
  auth::SessionStore sessions(f.db, std::chrono::seconds(3600));
  auto [s1, t1] = run(sessions.create(f.user.id, "127.0.0.1", "test"));
  auto [s2, t2] = run(sessions.create(f.user.id, "127.0.0.1", "test"));
  CHECK(run(sessions.lookup(t1))->id == s1.id);
  CHECK(run(sessions.lookup("not-a-token")).code() == Errc::unauthenticated);
  CHECK(run(sessions.list(f.user.id)).size() == 2);
  run(sessions.remove_all(f.user.id));
  CHECK_FALSE(run(sessions.lookup(t2)).ok());
}

TEST_CASE("throttle bans an account at the threshold and lifts it", "[accounts][db]") {
  DEPOT_REQUIRE_DB();
  AccountsFixture f;
  Config c;
  c.auth_ban_threshold = 3;
  auth::Throttle th(f.db, c);
  std::string addr = "192.0.2." + std::to_string(std::rand() % 250);
  f.db.tx_sync([&](pqxx::work& w) { w.exec_params("DELETE FROM auth_throttle WHERE scope = $1", "ip:" + addr); });
  for (int i = 0; i < 3; ++i) run(th.record_failure(addr, f.user.name));
  CHECK(run(th.banned("198.51.100.1", f.user.name)).has_value());
  REQUIRE(run(th.lift("user:" + f.user.name)).ok());
  CHECK_FALSE(run(th.banned("198.51.100.1", f.user.name)).has_value());
  CHECK_FALSE(run(th.banned(addr, "")).has_value());  // the address allows 4x more
}

TEST_CASE("WebDAV accepts app passwords, and the account password unless disabled", "[accounts][db]") {
  DEPOT_REQUIRE_DB();
  AccountsFixture f;
  auth::AppPasswords apps(f.db);
  auto a = run(apps.create(f.user.id, "laptop"));
  REQUIRE(a.ok());
  CHECK(run(f.users.verify_webdav_password(f.user.name, a->password)).ok());
  CHECK(run(f.users.verify_webdav_password(f.user.name, f.password)).ok());
  REQUIRE(run(f.users.set_dav_password_disabled(f.user.id, true)).ok());
  CHECK_FALSE(run(f.users.verify_webdav_password(f.user.name, f.password)).ok());
  CHECK(run(f.users.verify_webdav_password(f.user.name, a->password)).ok());
  REQUIRE(run(apps.revoke(f.user.id, a->id)).ok());
  CHECK_FALSE(run(f.users.verify_webdav_password(f.user.name, a->password)).ok());
  REQUIRE(run(f.users.set_status(f.user.id, "suspended")).ok());
  auto b = run(apps.create(f.user.id, "phone"));
  CHECK_FALSE(run(f.users.verify_webdav_password(f.user.name, b->password)).ok());
}

TEST_CASE("billing events: applied once, newest per subscription wins", "[accounts][billing][db]") {
  DEPOT_REQUIRE_DB();
  AccountsFixture f;
  storage::BillingStore billing(f.db, std::chrono::seconds(60));
  std::vector<storage::BillingNotice> notices;
  auto sink = [&](pqxx::work&, const storage::BillingNotice& n) { notices.push_back(n); };
  auto id = depot::testing::unique_name("evt");
  auto sub = depot::testing::unique_name("sub");
  boost::json::object co{{"id", id + "a"},
                         {"type", "checkout.session.completed"},
                         {"created", 1000},
                         {"data", {{"object", {{"client_reference_id", std::to_string(f.user.id)},
                                               {"customer", "cus_" + sub},
                                               {"subscription", sub},
                                               {"metadata", {{"plan", "premium"}}}}}}}};
  auto r = run(billing.apply(co, sink));
  REQUIRE(r.ok());
  CHECK_FALSE(r->replay);
  CHECK(run(f.users.find_by_id(f.user.id))->plan == "premium");
  CHECK(notices.size() == 1);
  CHECK(run(billing.apply(co, sink))->replay);
  boost::json::object del{{"id", id + "b"},
                          {"type", "customer.subscription.deleted"},
                          {"created", 3000},
                          {"data", {{"object", {{"id", sub}, {"customer", "cus_" + sub}, {"status", "canceled"}}}}}};
  REQUIRE(run(billing.apply(del, sink)).ok());
  CHECK(run(f.users.find_by_id(f.user.id))->plan == "free");
  boost::json::object older{{"id", id + "c"},
                            {"type", "customer.subscription.updated"},
                            {"created", 2000},
                            {"data", {{"object", {{"id", sub}, {"customer", "cus_" + sub}, {"status", "active"}}}}}};
  auto o = run(billing.apply(older, sink));
  REQUIRE(o.ok());
  CHECK(o->effect.find("ignored") != std::string::npos);
  CHECK(run(f.users.find_by_id(f.user.id))->plan == "free");
  CHECK(run(billing.events(f.user.id, 0, 10)).size() == 3);
  boost::json::object bad{{"type", "x"}};
  CHECK(run(billing.apply(bad, sink)).code() == Errc::invalid_argument);
}
