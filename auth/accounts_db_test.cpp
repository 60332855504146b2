// Account services against the real PostgreSQL of scripts/test.sh: email tokens, sessions,
// throttle, app passwords over verify_webdav_password, billing events (replay, ordering), sealed
// TOTP secrets, suspension from the command line, invites.
#include <catch2/catch.hpp>

#include "auth/access_keys.hpp"
#include "auth/app_passwords.hpp"
#include "auth/email_tokens.hpp"
#include "auth/invites.hpp"
#include "auth/tokens.hpp"
#include "auth/totp.hpp"
#include "auth/totp_secrets.hpp"
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

TEST_CASE("a password change spends the reset links mailed before it", "[accounts][db]") {
  DEPOT_REQUIRE_DB();
  AccountsFixture f;
  auto before = f.db.tx_sync([&](pqxx::work& w) { return auth::issue_email_token(w, f.user.id, "reset", std::chrono::seconds(600)); });
  REQUIRE(run(f.users.set_password(f.user.id, "another-decent-passphrase")).ok());
  CHECK_FALSE(f.db.tx_sync([&](pqxx::work& w) { return auth::consume_email_token(w, before, "reset"); }).ok());
  auto again = f.db.tx_sync([&](pqxx::work& w) { return auth::issue_email_token(w, f.user.id, "reset", std::chrono::seconds(600)); });
  REQUIRE(f.users.set_password_sync(f.user.name, "a-third-decent-passphrase").ok());
  CHECK_FALSE(f.db.tx_sync([&](pqxx::work& w) { return auth::consume_email_token(w, again, "reset"); }).ok());
  auto after = f.db.tx_sync([&](pqxx::work& w) { return auth::issue_email_token(w, f.user.id, "reset", std::chrono::seconds(600)); });
  CHECK(f.db.tx_sync([&](pqxx::work& w) { return auth::consume_email_token(w, after, "reset"); }).ok());
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

TEST_CASE("with TOTP on, WebDAV takes app passwords only", "[accounts][db]") {
  DEPOT_REQUIRE_DB();
  AccountsFixture f;
  auth::AppPasswords apps(f.db);
  auto a = run(apps.create(f.user.id, "laptop"));
  REQUIRE(a.ok());
  CHECK(run(f.users.verify_webdav_password(f.user.name, f.password)).ok());
  f.db.tx_sync([&](pqxx::work& w) { w.exec_params("UPDATE users SET totp_enabled = true WHERE id = $1", f.user.id); });
  CHECK_FALSE(run(f.users.verify_webdav_password(f.user.name, f.password)).ok());
  CHECK(run(f.users.verify_webdav_password(f.user.name, a->password)).ok());
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
  // A checkout paid by a delayed method completes unpaid: the plan waits for the payment.
  auto sub2 = depot::testing::unique_name("sub");
  auto checkout = [&](std::string suffix, std::string type, std::string payment, std::int64_t created) {
    return boost::json::object{{"id", id + suffix},
                               {"type", type},
                               {"created", created},
                               {"data", {{"object", {{"client_reference_id", std::to_string(f.user.id)},
                                                     {"customer", "cus_" + sub},
                                                     {"subscription", sub2},
                                                     {"payment_status", payment},
                                                     {"metadata", {{"plan", "premium"}}}}}}}};
  };
  auto unpaid = run(billing.apply(checkout("d", "checkout.session.completed", "unpaid", 4000), sink));
  REQUIRE(unpaid.ok());
  CHECK(unpaid->effect.find("plan unchanged") != std::string::npos);
  CHECK(run(f.users.find_by_id(f.user.id))->plan == "free");
  REQUIRE(run(billing.apply(checkout("e", "checkout.session.async_payment_succeeded", "paid", 5000), sink)).ok());
  CHECK(run(f.users.find_by_id(f.user.id))->plan == "premium");
}

TEST_CASE("TOTP secrets are stored sealed, and clear ones from before are sealed", "[accounts][db]") {
  DEPOT_REQUIRE_DB();
  AccountsFixture f;
  auto mk = auth::MasterKey::from_bytes(std::string(32, 't'));
  std::string raw = "0123456789abcdefghij";
  auto columns = [&] {
    return f.db.tx_sync([&](pqxx::work& w) {
      auto r = w.exec_params("SELECT COALESCE(totp_secret, ''), COALESCE(totp_secret_enc, '') FROM users WHERE id = $1",
                             f.user.id);
      return std::make_pair(r[0][0].as<std::string>(), r[0][1].as<std::string>());
    });
  };
  f.db.tx_sync([&](pqxx::work& w) { auth::store_totp_secret(w, mk, f.user.id, raw); });
  auto [clear, sealed] = columns();
  CHECK(clear.empty());
  CHECK(sealed.find(auth::base32(raw)) == std::string::npos);
  CHECK(sealed.find(raw) == std::string::npos);
  CHECK(f.db.tx_sync([&](pqxx::work& w) { return auth::load_totp_secret(w, mk, f.user.id); }) == raw);
  // The wrong master key opens nothing.
  auto other = auth::MasterKey::from_bytes(std::string(32, 'u'));
  CHECK_FALSE(f.db.tx_sync([&](pqxx::work& w) { return auth::load_totp_secret(w, other, f.user.id); }).has_value());

  // A clear secret (before migration 302) is sealed at start...
  f.db.tx_sync([&](pqxx::work& w) {
    w.exec_params("UPDATE users SET totp_secret = $2, totp_secret_enc = NULL WHERE id = $1", f.user.id, auth::base32(raw));
  });
  CHECK(f.db.tx_sync([&](pqxx::work& w) { return auth::seal_clear_totp_secrets(w, mk); }) >= 1);
  std::tie(clear, sealed) = columns();
  CHECK(clear.empty());
  CHECK_FALSE(sealed.empty());
  CHECK(f.db.tx_sync([&](pqxx::work& w) { return auth::load_totp_secret(w, mk, f.user.id); }) == raw);
  // ... or on first use, and a code made from it still checks.
  f.db.tx_sync([&](pqxx::work& w) {
    w.exec_params("UPDATE users SET totp_secret = $2, totp_secret_enc = NULL WHERE id = $1", f.user.id, auth::base32(raw));
  });
  auto loaded = f.db.tx_sync([&](pqxx::work& w) { return auth::load_totp_secret(w, mk, f.user.id); });
  REQUIRE(loaded.has_value());
  CHECK(auth::totp_check(*loaded, auth::totp_code(raw, 1700000000), 1700000000));
  std::tie(clear, sealed) = columns();
  CHECK(clear.empty());
  CHECK_FALSE(sealed.empty());
  f.db.tx_sync([&](pqxx::work& w) { auth::clear_totp_secret(w, f.user.id); });
  CHECK(columns() == std::make_pair(std::string(), std::string()));
}

TEST_CASE("a TOTP code signs in once, and only a later step's code after it", "[accounts][db]") {
  DEPOT_REQUIRE_DB();
  AccountsFixture f;
  auto mk = auth::MasterKey::from_bytes(std::string(32, 't'));
  const std::string raw = "12345678901234567890";
  f.db.tx_sync([&](pqxx::work& w) { auth::start_totp_secret(w, mk, f.user.id, raw); });
  auto use = [&](const std::string& code, std::int64_t now) {
    return f.db.tx_sync([&](pqxx::work& w) { return auth::use_totp_code(w, mk, f.user.id, code, now); });
  };
  const std::int64_t t = 1700000010;  // in step t / 30
  CHECK_FALSE(use("000000" == auth::totp_code(raw, t) ? "111111" : "000000", t));  // wrong code
  CHECK(use(auth::totp_code(raw, t), t));
  CHECK_FALSE(use(auth::totp_code(raw, t), t));           // the same code again
  CHECK_FALSE(use(auth::totp_code(raw, t), t + 20));      // still refused later in its window
  CHECK_FALSE(use(auth::totp_code(raw, t - 30), t));      // an earlier step's code
  CHECK(use(auth::totp_code(raw, t + 30), t));             // the next step's (clock drift)
  CHECK_FALSE(use(auth::totp_code(raw, t + 30), t + 30));
  CHECK(use(auth::totp_code(raw, t + 60), t + 60));
  // A new secret starts over.
  f.db.tx_sync([&](pqxx::work& w) { auth::start_totp_secret(w, mk, f.user.id, std::string(20, 'n')); });
  CHECK(use(auth::totp_code(std::string(20, 'n'), t), t));
}

TEST_CASE("suspend and reactivate by name (the command line)", "[accounts][db]") {
  DEPOT_REQUIRE_DB();
  AccountsFixture f;
  auth::SessionStore sessions(f.db, std::chrono::seconds(3600));
  auto [s, token] = run(sessions.create(f.user.id, "127.0.0.1", "test"));
  auto v0 = f.user.credentials_version;
  auto u = f.users.suspend_sync(f.user.name);
  REQUIRE(u.ok());
  CHECK(u->status == "suspended");
  CHECK(u->credentials_version > v0);
  CHECK_FALSE(run(sessions.lookup(token)).ok());
  CHECK_FALSE(run(f.users.verify_password(f.user.name, f.password)).ok());
  CHECK_FALSE(run(f.users.verify_webdav_password(f.user.name, f.password)).ok());
  CHECK(f.users.suspend_sync(f.user.name)->status == "suspended");
  CHECK(f.users.reactivate_sync(f.user.name, true)->status == "active");  // email verified
  CHECK(run(f.users.verify_password(f.user.name, f.password)).ok());
  CHECK(f.users.reactivate_sync(f.user.name, true)->status == "active");  // idempotent
  CHECK(f.users.suspend_sync("no-such-user-anywhere").code() == Errc::not_found);
  // An account that never verified its email goes back to pending, unless verification is off.
  f.db.tx_sync([&](pqxx::work& w) { w.exec_params("UPDATE users SET email_verified = false WHERE id = $1", f.user.id); });
  REQUIRE(f.users.suspend_sync(f.user.name).ok());
  CHECK(f.users.reactivate_sync(f.user.name, true)->status == "pending");
  REQUIRE(f.users.suspend_sync(f.user.name).ok());
  CHECK(f.users.reactivate_sync(f.user.name, false)->status == "active");
}

TEST_CASE("throttle bans listed and lifted synchronously; invites stored as hashes", "[accounts][db]") {
  DEPOT_REQUIRE_DB();
  AccountsFixture f;
  Config c;
  c.auth_ban_threshold = 2;
  auth::Throttle th(f.db, c);
  for (int i = 0; i < 2; ++i) run(th.record_failure("203.0.113.9", f.user.name));
  bool listed = false;
  for (const auto& b : th.list_bans_sync()) listed |= b.scope == "user:" + f.user.name;
  CHECK(listed);
  CHECK(th.lift_sync("user:" + f.user.name).ok());
  CHECK(th.lift_sync("user:" + f.user.name).code() == Errc::not_found);
  CHECK_FALSE(run(th.banned("198.51.100.7", f.user.name)).has_value());

  auto code = f.db.tx_sync([&](pqxx::work& w) { return auth::create_invite(w, std::nullopt, "", 2); });
  CHECK(code.size() >= 24);
  auto stored = f.db.tx_sync([&](pqxx::work& w) {
    return w.exec_params("SELECT count(*) FROM invites WHERE code_hash = $1 AND email IS NULL AND used_at IS NULL AND "
                         "expires_at BETWEEN now() + interval '47 hours' AND now() + interval '49 hours'",
                         auth::sha256_hex(code))[0][0].as<int>();
  });
  CHECK(stored == 1);
}

TEST_CASE("billing: invoice events out of order do not undo a newer payment or failure", "[accounts][billing][db]") {
  DEPOT_REQUIRE_DB();
  AccountsFixture f;
  storage::BillingStore billing(f.db, std::chrono::seconds(3600));
  auto sink = [](pqxx::work&, const storage::BillingNotice&) {};
  auto id = depot::testing::unique_name("inv");
  std::string cus = "cus_" + id;
  f.db.tx_sync([&](pqxx::work& w) { w.exec_params("UPDATE users SET stripe_customer_id = $2 WHERE id = $1", f.user.id, cus); });
  auto invoice = [&](const std::string& suffix, const char* type, std::int64_t created) {
    boost::json::object ev{{"id", id + suffix}, {"type", type}, {"created", created},
                           {"data", {{"object", {{"customer", cus}}}}}};
    auto r = run(billing.apply(ev, sink));
    REQUIRE(r.ok());
    return r->effect;
  };
  auto in_grace = [&] {
    return f.db.tx_sync([&](pqxx::work& w) {
      return !w.exec_params("SELECT payment_grace_until FROM users WHERE id = $1", f.user.id)[0][0].is_null();
    });
  };
  invoice("a", "invoice.paid", 2000);
  CHECK(invoice("b", "invoice.payment_failed", 1500).find("ignored") == 0);  // late, older than the payment
  CHECK_FALSE(in_grace());
  invoice("c", "invoice.payment_failed", 3000);
  CHECK(in_grace());
  CHECK(invoice("d", "invoice.paid", 2500).find("ignored") == 0);  // late, older than the failure
  CHECK(in_grace());
  invoice("e", "invoice.paid", 3500);
  CHECK_FALSE(in_grace());
}

TEST_CASE("billing: a Stripe customer belongs to one account; a checkout for another moves it", "[accounts][billing][db]") {
  DEPOT_REQUIRE_DB();
  AccountsFixture f;
  storage::BillingStore billing(f.db, std::chrono::seconds(3600));
  auto sink = [](pqxx::work&, const storage::BillingNotice&) {};
  auto name = depot::testing::unique_name("acct");
  auto other = f.users.create_sync({name, name + "@x.test", f.password, false, "free", "active"});
  REQUIRE(other.ok());
  auto id = depot::testing::unique_name("cus");
  std::string cus = "cus_" + id;
  auto checkout = [&](const std::string& suffix, storage::UserId user, std::int64_t created) {
    boost::json::object ev{{"id", id + suffix},
                           {"type", "checkout.session.completed"},
                           {"created", created},
                           {"data", {{"object", {{"client_reference_id", std::to_string(user)},
                                                 {"customer", cus},
                                                 {"metadata", {{"plan", "premium"}}}}}}}};
    REQUIRE(run(billing.apply(ev, sink)).ok());
  };
  auto holders = [&] {
    return f.db.tx_sync([&](pqxx::work& w) {
      std::vector<storage::UserId> ids;
      for (auto row : w.exec_params("SELECT id FROM users WHERE stripe_customer_id = $1 ORDER BY id", cus))
        ids.push_back(row[0].as<storage::UserId>());
      return ids;
    });
  };
  checkout("a", f.user.id, 1000);
  CHECK(holders() == std::vector<storage::UserId>{f.user.id});
  checkout("b", other->id, 2000);
  CHECK(holders() == std::vector<storage::UserId>{other->id});
  // The invoice events of that customer now reach the second account only.
  boost::json::object failed{{"id", id + "c"}, {"type", "invoice.payment_failed"}, {"created", 3000},
                             {"data", {{"object", {{"customer", cus}}}}}};
  REQUIRE(run(billing.apply(failed, sink)).ok());
  auto in_grace = [&](storage::UserId u) {
    return f.db.tx_sync([&](pqxx::work& w) {
      return !w.exec_params("SELECT payment_grace_until FROM users WHERE id = $1", u)[0][0].is_null();
    });
  };
  CHECK(in_grace(other->id));
  CHECK_FALSE(in_grace(f.user.id));
  // The database refuses a second holder outright.
  CHECK_THROWS_AS(f.db.tx_sync([&](pqxx::work& w) {
                    w.exec_params("UPDATE users SET stripe_customer_id = $2 WHERE id = $1", f.user.id, cus);
                  }),
                  pqxx::unique_violation);
}
