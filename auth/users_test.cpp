#include "auth/users.hpp"

#include <catch2/catch.hpp>

#include "auth/access_keys.hpp"
#include "storage/db.hpp"
#include "storage/migrations.hpp"
#include "tests/test_support.hpp"

using namespace depot;

TEST_CASE("passwords: argon2id hashes verify, and weak passwords are refused") {
  auto h = auth::hash_password("correct horse battery");
  CHECK(h.rfind("$argon2id$", 0) == 0);
  CHECK(auth::verify_password_hash(h, "correct horse battery"));
  CHECK_FALSE(auth::verify_password_hash(h, "correct horse batterz"));
  CHECK(auth::password_problem("short"));
  CHECK(auth::password_problem("Password123"));
  CHECK_FALSE(auth::password_problem("a-decent-passphrase"));
}

TEST_CASE("email addresses: what mail can go to, nothing SMTP or a header would read as syntax") {
  using auth::UserStore;
  CHECK(UserStore::valid_email("alice@example.com"));
  CHECK(UserStore::valid_email("a.b+tag@sub.example.org"));
  CHECK(UserStore::valid_email("\xC3\xA9t\xC3\xA9@example.fr"));
  for (std::string bad : {"", "@example.com", "alice@", "no-at-sign", "a@b@c", "alice @example.com",
                          "x@example.com>\r\nRCPT TO:<v@example.com", "a\nb@example.com", "<a@example.com>",
                          "a,b@example.com", "\"q\"@example.com", "a@\xff.com"})
    CHECK_FALSE(UserStore::valid_email(bad));
  CHECK_FALSE(UserStore::valid_email(std::string(250, 'a') + "@b.cd"));
}

TEST_CASE("master key seals secrets") {
  auto mk = auth::MasterKey::from_bytes(std::string(32, 'k'));
  auto sealed = mk.encrypt("secret-value");
  CHECK(sealed.find("secret-value") == std::string::npos);
  auto open = mk.decrypt(sealed);
  REQUIRE(open.ok());
  CHECK(*open == "secret-value");
  auto other = auth::MasterKey::from_bytes(std::string(32, 'j'));
  CHECK_FALSE(other.decrypt(sealed).ok());
}

TEST_CASE("users and access keys in PostgreSQL", "[db]") {
  const char* url = depot::testing::database_url();
  DEPOT_REQUIRE_DB();
  storage::apply_migrations(url);
  storage::Database db(url, 2);
  auth::UserStore users(db);
  auto name = depot::testing::unique_name("user");
  auto u = users.create_sync({name, name + "@example.test", "a-decent-passphrase", false, "free", "active"});
  REQUIRE(u.ok());
  CHECK(u->plan == "free");
  CHECK(users.create_sync({name, "other@example.test", "a-decent-passphrase"}).code() == Errc::already_exists);
  CHECK(users.create_sync({"bad name", "x@example.test", "a-decent-passphrase"}).code() == Errc::invalid_argument);
  CHECK(depot::testing::run(users.verify_password(name, "a-decent-passphrase")).ok());
  CHECK(depot::testing::run(users.verify_password(name, "wrong-passphrase")).code() == Errc::unauthenticated);
  CHECK(depot::testing::run(users.verify_password("nobody-here", "whatever")).code() == Errc::unauthenticated);
  REQUIRE(users.set_plan_sync(name, "premium").ok());
  CHECK(users.find_by_name_sync(name)->plan == "premium");

  auth::AccessKeys keys(db, auth::MasterKey::from_bytes(std::string(32, 'm')));
  auto k = keys.create_sync(name);
  REQUIRE(k.ok());
  CHECK(k->id.size() == 20);
  CHECK(k->secret.size() == 40);
  auto found = depot::testing::run(keys.lookup(k->id));
  REQUIRE(found.ok());
  CHECK(found->secret == k->secret);
  CHECK(found->user == u->id);
  REQUIRE(keys.revoke_sync(k->id).ok());
  CHECK_FALSE(depot::testing::run(keys.lookup(k->id)).ok());
  REQUIRE(users.remove_sync(name).ok());
  CHECK_FALSE(users.find_by_name_sync(name).ok());
}
