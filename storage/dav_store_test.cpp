// DavStore integration tests against the real PostgreSQL of scripts/test.sh.
#include "storage/dav_store.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "auth/users.hpp"
#include "storage/db.hpp"
#include "storage/migrations.hpp"
#include "tests/test_support.hpp"

using namespace depot;
using namespace depot::storage;
using depot::testing::run;

namespace {

struct DavFixture {
  std::string url = depot::testing::database_url();
  Database db{url, 2};
  DavStore store{db};
  auth::UserStore users{db};
  UserId user = 0;
  BucketId bucket = 0;
  std::string b;  // bucket name, also the first segment of lock paths

  DavFixture() {
    apply_migrations(url);
    auto u = users.create_sync({depot::testing::unique_name("dav"), depot::testing::unique_name("dav") + "@x.test",
                                "long-enough-password", false, "free", "active"});
    REQUIRE(u.ok());
    user = u->id;
    b = depot::testing::unique_name("davb");
    bucket = db.tx_sync([&](pqxx::work& w) {
      return w.exec_params("INSERT INTO buckets (name, owner_id, region) VALUES ($1, $2, 'us-east-1') RETURNING id", b,
                           user)[0][0]
          .as<BucketId>();
    });
  }

  DavLock lock(std::string root, bool exclusive, bool infinity = false, std::int64_t timeout = 600) {
    DavLock l;
    l.user = user;
    l.root = std::move(root);
    l.exclusive = exclusive;
    l.depth_infinity = infinity;
    l.owner_xml = "<D:href>me</D:href>";
    l.timeout_s = timeout;
    return l;
  }
  std::string p(const std::string& rest) { return "/" + b + "/" + rest; }
};

PropChange set(std::string name, std::string value) { return PropChange{false, DeadProp{"urn:t", std::move(name), std::move(value), ""}}; }
PropChange del(std::string name) { return PropChange{true, DeadProp{"urn:t", std::move(name), "", ""}}; }

}  // namespace

TEST_CASE("dav store: dead properties are patched in order, all or nothing", "[webdav][dav_store][db]") {
  DEPOT_REQUIRE_DB();
  DavFixture f;
  REQUIRE(run(f.store.patch_props(f.bucket, "doc", {set("a", "1"), set("b", "<x xmlns=\"u\"/>")})).ok());
  // remove then set in one request leaves the value; set then remove leaves nothing
  REQUIRE(run(f.store.patch_props(f.bucket, "doc", {del("a"), set("a", "2"), set("c", "3"), del("c")})).ok());
  auto props = run(f.store.props(f.bucket, "doc"));
  REQUIRE(props.ok());
  REQUIRE(props->size() == 2);
  CHECK((*props)[0].name == "a");
  CHECK((*props)[0].value_xml == "2");
  CHECK((*props)[1].value_xml == "<x xmlns=\"u\"/>");

  std::vector<PropChange> many;
  for (int i = 0; i < DavStore::max_props_per_resource + 1; ++i) many.push_back(set("p" + std::to_string(i), "v"));
  many.insert(many.begin(), set("a", "changed"));
  auto r = run(f.store.patch_props(f.bucket, "doc", many));
  CHECK(r.code() == Errc::too_large);
  auto after = run(f.store.props(f.bucket, "doc"));
  REQUIRE(after->size() == 2);
  CHECK((*after)[0].value_xml == "2");  // rolled back
}

TEST_CASE("dav store: properties follow MOVE and COPY of trees", "[webdav][dav_store][db]") {
  DEPOT_REQUIRE_DB();
  DavFixture f;
  REQUIRE(run(f.store.patch_props(f.bucket, "dir/", {set("d", "dir")})).ok());
  REQUIRE(run(f.store.patch_props(f.bucket, "dir/x", {set("x", "file")})).ok());
  REQUIRE(run(f.store.patch_props(f.bucket, "dirx", {set("y", "not under dir/")})).ok());
  REQUIRE(run(f.store.copy_props(f.bucket, "dir/", f.bucket, "copy/", true)).ok());
  REQUIRE(run(f.store.move_props(f.bucket, "dir/", f.bucket, "moved/", true)).ok());
  auto all = run(f.store.props_of(f.bucket, {"dir/", "dir/x", "copy/", "copy/x", "moved/", "moved/x", "dirx"}));
  REQUIRE(all.ok());
  CHECK(all->count("dir/") == 0);
  CHECK(all->count("dir/x") == 0);
  CHECK(all->at("copy/x")[0].value_xml == "file");
  CHECK(all->at("moved/")[0].value_xml == "dir");
  CHECK(all->at("moved/x")[0].value_xml == "file");
  CHECK(all->at("dirx")[0].value_xml == "not under dir/");
  REQUIRE(run(f.store.delete_props(f.bucket, "moved/", true)).ok());
  CHECK(run(f.store.props(f.bucket, "moved/x"))->empty());
}

TEST_CASE("dav store: lock conflicts, depth and refresh", "[webdav][dav_store][db]") {
  DEPOT_REQUIRE_DB();
  DavFixture f;
  auto ex = run(f.store.create_lock(f.lock(f.p("file"), true)));
  REQUIRE(ex.ok());
  CHECK(ex->token.rfind("opaquelocktoken:", 0) == 0);
  CHECK(run(f.store.create_lock(f.lock(f.p("file"), true))).code() == Errc::locked);
  CHECK(run(f.store.create_lock(f.lock(f.p("file"), false))).code() == Errc::locked);

  auto s1 = run(f.store.create_lock(f.lock(f.p("shared"), false)));
  auto s2 = run(f.store.create_lock(f.lock(f.p("shared"), false)));
  REQUIRE(s1.ok());
  REQUIRE(s2.ok());
  CHECK(run(f.store.locks_covering(f.p("shared")))->size() == 2);

  // A depth-infinity lock covers members, and conflicts with locks below it.
  auto coll = run(f.store.create_lock(f.lock(f.p("dir/"), true, true)));
  REQUIRE(coll.ok());
  auto cov = run(f.store.locks_covering(f.p("dir/sub/x")));
  REQUIRE(cov->size() == 1);
  CHECK(cov->front().token == coll->token);
  CHECK(run(f.store.create_lock(f.lock(f.p("dir/sub/x"), false))).code() == Errc::locked);
  CHECK(run(f.store.create_lock(f.lock("/" + f.b + "/", false, true))).code() == Errc::locked);
  CHECK(run(f.store.locks_below("/" + f.b + "/"))->size() == 4);
  CHECK(run(f.store.locks_covering(f.p("dirx")))->empty());

  // Refresh and unlock through a member of the locked collection.
  auto ref = run(f.store.refresh_lock(coll->token, f.p("dir/sub/x"), 1200));
  REQUIRE(ref.ok());
  CHECK(ref->timeout_s == 1200);
  CHECK(run(f.store.remove_lock(coll->token, f.p("file"))).code() == Errc::not_found);
  REQUIRE(run(f.store.remove_lock(coll->token, f.p("dir/"))).ok());
  CHECK(run(f.store.locks_covering(f.p("dir/sub/x")))->empty());

  REQUIRE(run(f.store.remove_locks("/" + f.b + "/", true)).ok());
  CHECK(run(f.store.locks_below("/" + f.b + "/"))->empty());
}

TEST_CASE("dav store: an expired lock stops counting at once", "[webdav][dav_store][db]") {
  DEPOT_REQUIRE_DB();
  DavFixture f;
  REQUIRE(run(f.store.create_lock(f.lock(f.p("brief"), true, false, 1))).ok());
  CHECK(run(f.store.locks_covering(f.p("brief")))->size() == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  CHECK(run(f.store.locks_covering(f.p("brief")))->empty());
  CHECK(run(f.store.create_lock(f.lock(f.p("brief"), true))).ok());
}

TEST_CASE("dav store: ancestors of a lock path", "[webdav][dav_store]") {
  CHECK(DavStore::ancestors_and_self("/b/d/f") == std::vector<std::string>{"/", "/b/", "/b/d/", "/b/d/f"});
  CHECK(DavStore::ancestors_and_self("/b/d/") == std::vector<std::string>{"/", "/b/", "/b/d/"});
  CHECK(DavStore::ancestors_and_self("/") == std::vector<std::string>{"/"});
}
