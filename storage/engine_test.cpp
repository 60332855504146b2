// Engine integration tests against the real PostgreSQL of scripts/test.sh.
#include "storage/engine.hpp"

#include <boost/asio/thread_pool.hpp>
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <filesystem>
#include <future>
#include <thread>

#include "auth/users.hpp"
#include "storage/db.hpp"
#include "storage/migrations.hpp"
#include "storage/quota.hpp"
#include "storage/sweeper.hpp"
#include "tests/test_support.hpp"

using namespace depot;
using namespace depot::storage;
namespace asio = boost::asio;

namespace {

class StringSource : public BodySource {
 public:
  explicit StringSource(std::string s) : s_(std::move(s)) {}
  asio::awaitable<std::size_t> read(char* buf, std::size_t n) override {
    std::size_t k = std::min(n, s_.size() - pos_);
    std::memcpy(buf, s_.data() + pos_, k);
    pos_ += k;
    co_return k;
  }

 private:
  std::string s_;
  std::size_t pos_ = 0;
};

struct Fixture {
  std::string url = depot::testing::database_url();
  asio::thread_pool blocking{2};
  Database db{url, 4};
  std::filesystem::path dir = std::filesystem::temp_directory_path() / depot::testing::unique_name("depot-engine-");
  std::unique_ptr<BlobStore> blobs;
  QuotaEngine quota{db, "00000000-0000-4000-8000-000000000001"};
  std::unique_ptr<Engine> engine;
  auth::UserStore users{db};
  auth::User user;

  explicit Fixture(const std::string& plan = "free") {
    apply_migrations(url);
    blobs = make_local_blob_store(dir, blocking);
    engine = std::make_unique<Engine>(db, *blobs, quota, EngineOptions{16, 1ull << 40});
    auto u = users.create_sync({depot::testing::unique_name("u"), depot::testing::unique_name("e") + "@x.test",
                                "long-enough-password", false, plan, "active"});
    REQUIRE(u.ok());
    user = *u;
  }
  ~Fixture() {
    blocking.join();
    std::filesystem::remove_all(dir);
  }

  Bucket bucket() {
    auto b = depot::testing::run(engine->create_bucket(user.id, depot::testing::unique_name("b"), "us-east-1"));
    REQUIRE(b.ok());
    return *b;
  }
  Result<ObjectInfo> put(const Bucket& b, const std::string& key, const std::string& data, PutOptions o = {}) {
    return depot::testing::run([&]() -> asio::awaitable<Result<ObjectInfo>> {
      o.declared_size = data.size();
      auto t = co_await engine->begin_put(user.id, b, key, o);
      if (!t) co_return t.error();
      StringSource src(data);
      co_return co_await engine->finish_put(std::move(*t), src);
    }());
  }
  std::string get(const ObjectInfo& o) {
    return depot::testing::run([&]() -> asio::awaitable<std::string> {
      auto r = co_await engine->open_object(o, 0, std::uint64_t(o.size));
      REQUIRE(r.ok());
      std::string out;
      char buf[7];
      for (;;) {
        auto n = co_await (*r)->read(buf, sizeof buf);
        if (n == 0) break;
        out.append(buf, n);
      }
      co_return out;
    }());
  }
  Usage usage() { return *depot::testing::run(quota.usage(user.id)); }
};

}  // namespace

TEST_CASE("engine: put, head, get, replace and delete, inline and on disk", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto b = f.bucket();
  auto small = f.put(b, "small.txt", "hello");
  REQUIRE(small.ok());
  CHECK(small->etag == "5d41402abc4b2a76b9719d911017c592");
  auto big = f.put(b, "dir/big.bin", std::string(1000, 'x'));  // over the 16-byte inline threshold
  REQUIRE(big.ok());
  CHECK(f.get(*big) == std::string(1000, 'x'));
  CHECK(f.get(*small) == "hello");
  CHECK(f.usage().bytes_used == 1005);
  CHECK(f.usage().objects_used == 2);
  auto replaced = f.put(b, "dir/big.bin", "short");
  REQUIRE(replaced.ok());
  CHECK(f.usage().bytes_used == 10);
  CHECK(f.usage().objects_used == 2);
  CHECK(f.usage().bytes_reserved == 0);
  auto head = depot::testing::run(f.engine->head_object(b, "dir/big.bin"));
  REQUIRE(head.ok());
  CHECK(head->size == 5);
  auto del = depot::testing::run(f.engine->delete_object(b, "dir/big.bin"));
  REQUIRE(del.ok());
  CHECK(del->existed);
  CHECK(depot::testing::run(f.engine->head_object(b, "dir/big.bin")).code() == Errc::no_such_key);
  CHECK(f.usage().bytes_used == 5);
  CHECK(f.usage().objects_used == 1);
  auto bad = f.put(b, "x", "data", PutOptions{.expected_md5_hex = std::string("00")});
  CHECK(bad.code() == Errc::bad_digest);
  CHECK(depot::testing::run(f.engine->head_object(b, "x")).code() == Errc::no_such_key);
}

TEST_CASE("engine: conditional writes", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto b = f.bucket();
  PutOptions none_match;
  none_match.conditions.if_none_match_any = true;
  REQUIRE(f.put(b, "k", "one", none_match).ok());
  CHECK(f.put(b, "k", "two", none_match).code() == Errc::precondition_failed);
  PutOptions match;
  match.conditions.if_match = std::string("wrong");
  CHECK(f.put(b, "k", "two", match).code() == Errc::precondition_failed);
}

TEST_CASE("engine: a write's commit frees the old object's blob, checks the conditions, keeps usage right", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto b = f.bucket();
  auto count = [&](const std::string& sql, const std::string& arg) {
    return f.db.tx_sync([&](pqxx::work& w) { return w.exec_params(sql, arg)[0][0].as<int>(); });
  };
  auto blob_rows = [&](const std::string& id) { return count("SELECT count(*) FROM blobs WHERE id = $1", id); };
  auto all_blob_rows = [&] {
    return f.db.tx_sync([&](pqxx::work& w) { return w.exec("SELECT count(*) FROM blobs")[0][0].as<int>(); });
  };
  auto file_exists = [&](const std::string& id) { return f.blobs->open(id, 0, 1).ok(); };
  auto head = [&](const std::string& key) { return depot::testing::run(f.engine->head_object(b, key)); };
  // begin_put checks the conditions before the body too: a ticket taken first and finished after
  // another write of the key has only the commit's check left.
  auto begin = [&](const std::string& key, std::size_t size, WriteConditions c) {
    PutOptions o;
    o.declared_size = size;
    o.conditions = std::move(c);
    auto t = depot::testing::run(f.engine->begin_put(f.user.id, b, key, std::move(o)));
    REQUIRE(t.ok());
    return std::move(*t);
  };
  auto finish = [&](PutTicket t, const std::string& data) {
    return depot::testing::run([&]() -> asio::awaitable<Result<ObjectInfo>> {
      StringSource src(data);
      co_return co_await f.engine->finish_put(std::move(t), src);
    }());
  };

  // Inline over inline: the old blob row goes.
  auto first = f.put(b, "k", "first");
  REQUIRE(first.ok());
  CHECK(blob_rows(first->blob_id) == 1);
  auto second = f.put(b, "k", "second");
  REQUIRE(second.ok());
  CHECK(blob_rows(first->blob_id) == 0);
  CHECK(blob_rows(second->blob_id) == 1);
  // File over inline, then inline over the file: the file's row goes and the file is unlinked.
  auto file = f.put(b, "k", std::string(100, 'f'));
  REQUIRE(file.ok());
  CHECK(blob_rows(second->blob_id) == 0);
  CHECK(file_exists(file->blob_id));
  auto third = f.put(b, "k", "third");
  REQUIRE(third.ok());
  CHECK(blob_rows(file->blob_id) == 0);
  CHECK_FALSE(file_exists(file->blob_id));
  // A blob a copy still uses stays, row and file.
  auto shared = f.put(b, "s", std::string(50, 's'));
  REQUIRE(shared.ok());
  REQUIRE(depot::testing::run(f.engine->copy_object(f.user.id, b, "s", b, "s-copy", {})).ok());
  REQUIRE(f.put(b, "s", "new").ok());
  CHECK(blob_rows(shared->blob_id) == 1);
  CHECK(file_exists(shared->blob_id));
  CHECK(count("SELECT refcount FROM blobs WHERE id = $1", shared->blob_id) == 1);

  // If-None-Match: * on an existing key fails and changes nothing (inline and file-backed).
  WriteConditions none_match;
  none_match.if_none_match_any = true;
  CHECK(f.put(b, "k", "x", PutOptions{.conditions = none_match}).code() == Errc::precondition_failed);
  auto before = f.usage();
  auto blobs_before = all_blob_rows();
  auto t1 = begin("n", 4, none_match);
  auto t2 = begin("n", 200, none_match);
  auto n = f.put(b, "n", "nnn");
  REQUIRE(n.ok());
  CHECK(finish(std::move(t1), "mine").code() == Errc::precondition_failed);
  CHECK(finish(std::move(t2), std::string(200, 'm')).code() == Errc::precondition_failed);
  CHECK(all_blob_rows() == blobs_before + 1);
  CHECK(head("n")->etag == n->etag);
  CHECK(f.usage().bytes_used == before.bytes_used + 3);
  CHECK(f.usage().objects_used == before.objects_used + 1);

  // If-Match: a wrong ETag fails and changes nothing; the right one (or *) succeeds.
  WriteConditions match;
  match.if_match = std::string("0123456789abcdef0123456789abcdef");
  CHECK(f.put(b, "k", "x", PutOptions{.conditions = match}).code() == Errc::precondition_failed);
  match.if_match = third->etag;
  auto t3 = begin("k", 4, match);
  auto fourth = f.put(b, "k", "fourth");  // changes the ETag under t3
  REQUIRE(fourth.ok());
  blobs_before = all_blob_rows();
  CHECK(finish(std::move(t3), "late").code() == Errc::precondition_failed);
  CHECK(all_blob_rows() == blobs_before);
  CHECK(head("k")->etag == fourth->etag);
  match.if_match = fourth->etag;
  auto fifth = f.put(b, "k", std::string(300, '5'), PutOptions{.conditions = match});
  REQUIRE(fifth.ok());
  CHECK(blob_rows(fourth->blob_id) == 0);
  match.if_match = std::string("*");
  auto sixth = f.put(b, "k", "sixth", PutOptions{.conditions = match});
  REQUIRE(sixth.ok());
  CHECK_FALSE(file_exists(fifth->blob_id));
  CHECK(f.get(*head("k")) == "sixth");
  // If-Match on a key deleted since the ticket: no_such_key.
  auto t4 = begin("n", 1, WriteConditions{.if_match = n->etag});
  REQUIRE(depot::testing::run(f.engine->delete_object(b, "n")).ok());
  CHECK(finish(std::move(t4), "x").code() == Errc::no_such_key);
  CHECK(head("n").code() == Errc::no_such_key);

  // Usage counts what is left: k (5), s (3), s-copy (50).
  auto u = f.usage();
  CHECK(u.objects_used == 3);
  CHECK(u.bytes_used == 5 + 3 + 50);
  CHECK(u.bytes_reserved == 0);
}

TEST_CASE("put_objects_rows: a batch's writes done set-wise, each as put_object_rows does it", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto b = f.bucket();
  auto a = f.put(b, "a", "aaa");                    // inline, replaced
  auto c = f.put(b, "c", "ccc");                    // If-None-Match: * fails
  auto fl = f.put(b, "f", std::string(100, 'f'));   // a file, replaced
  auto s = f.put(b, "s", std::string(50, 's'));     // a file shared with s2; both replaced
  REQUIRE((a.ok() && c.ok() && fl.ok() && s.ok()));
  REQUIRE(depot::testing::run(f.engine->copy_object(f.user.id, b, "s", b, "s2", {})).ok());
  auto x = f.put(b, "x", "xxx");                    // a wrong If-Match fails
  REQUIRE(x.ok());

  // One item; off / len place inline bytes in the data argument (no off: a file).
  std::string data;
  auto item = [&](int i, const std::string& key, const std::string& blob, const std::string& bytes, bool inline_bytes,
                  const std::string& conditions) {
    std::string it = "{\"i\":" + std::to_string(i) + ",\"b\":" + std::to_string(b.id) + ",\"k\":\"" + key +
                     "\",\"id\":\"" + blob + "\",\"s\":" + std::to_string(bytes.size()) +
                     ",\"e\":\"etag-" + key + "\",\"ct\":\"text/x-" + key + "\",\"m\":{\"who\":\"" + key +
                     "\"},\"h\":{},\"c\":{},\"mt\":1700000000000000,\"cr\":1700000000000000" + conditions;
    if (inline_bytes) {
      it += ",\"off\":" + std::to_string(data.size()) + ",\"len\":" + std::to_string(bytes.size());
      data += bytes;
    }
    return it + "}";
  };
  const std::string blob = depot::testing::unique_name("batch-blob-");
  std::string items = "[" + item(1, "a", blob + "a", "AAAA", true, "") + "," +
                      item(2, "c", blob + "c", "C", true, ",\"inm\":true") + "," +
                      item(3, "f", blob + "f", std::string(200, 'F'), false, "") + "," +
                      item(4, "n", blob + "n", "N", true, ",\"im\":\"*\"") + "," +
                      item(5, "n2", blob + "n2", "NN", true, ",\"inm\":true") + "," +
                      item(6, "s", blob + "s", "S", true, "") + "," + item(7, "s2", blob + "s2", "S2", true, "") + "," +
                      item(8, "x", blob + "x", "X", true, ",\"im\":\"0123\"") + "]";

  {
    pqxx::connection conn(f.url);
    pqxx::work w(conn);  // never committed
    auto r = w.exec_params(
        "SELECT i, status, freed_objects, freed_bytes, unlink_blob FROM put_objects_rows($1::jsonb, $2::bytea) "
        "ORDER BY i",
        items, pqxx::binarystring(data));
    REQUIRE(r.size() == 8);
    auto row = [&](int i) {
      auto q = r[i - 1];
      CHECK(q[0].as<int>() == i);
      return std::make_tuple(q[1].as<std::string>(), q[2].as<std::int64_t>(), q[3].as<std::int64_t>(),
                             q[4].is_null() ? std::string("-") : q[4].as<std::string>());
    };
    using T = std::tuple<std::string, std::int64_t, std::int64_t, std::string>;
    CHECK(row(1) == T{"ok", 1, 3, "-"});                       // inline blob: no file to unlink
    CHECK(row(2) == T{"precondition_failed", 0, 0, "-"});
    CHECK(row(3) == T{"ok", 1, 100, fl->blob_id});
    CHECK(row(4) == T{"no_such_key", 0, 0, "-"});
    CHECK(row(5) == T{"ok", 0, 0, "-"});
    CHECK(row(6) == T{"ok", 1, 50, s->blob_id});              // the shared file, named once
    CHECK(row(7) == T{"ok", 1, 50, "-"});
    CHECK(row(8) == T{"precondition_failed", 0, 0, "-"});

    // The rows: what went ahead is written with its metadata and inline bytes; the rest is as it was.
    auto obj = [&](const std::string& key) {
      auto q = w.exec_params(
          "SELECT o.blob_id, o.size, o.etag, o.content_type, coalesce(o.user_meta->>'who', ''), coalesce(encode(bl.inline_data, "
          "'escape'), '<file>'), bl.refcount, (extract(epoch from o.modified_at))::bigint FROM objects o "
          "JOIN blobs bl ON bl.id = o.blob_id WHERE o.bucket_id = $1 AND o.key = $2",
          b.id, key);
      REQUIRE(q.size() == 1);
      return std::make_tuple(q[0][0].as<std::string>(), q[0][1].as<std::int64_t>(), q[0][2].as<std::string>(),
                             q[0][3].as<std::string>(), q[0][4].as<std::string>(), q[0][5].as<std::string>(),
                             q[0][6].as<int>(), q[0][7].as<std::int64_t>());
    };
    using O = std::tuple<std::string, std::int64_t, std::string, std::string, std::string, std::string, int, std::int64_t>;
    CHECK(obj("a") == O{blob + "a", 4, "etag-a", "text/x-a", "a", "AAAA", 1, 1700000000});
    CHECK(obj("f") == O{blob + "f", 200, "etag-f", "text/x-f", "f", "<file>", 1, 1700000000});
    CHECK(obj("n2") == O{blob + "n2", 2, "etag-n2", "text/x-n2", "n2", "NN", 1, 1700000000});
    CHECK(obj("s") == O{blob + "s", 1, "etag-s", "text/x-s", "s", "S", 1, 1700000000});
    CHECK(obj("s2") == O{blob + "s2", 2, "etag-s2", "text/x-s2", "s2", "S2", 1, 1700000000});
    CHECK(std::get<0>(obj("c")) == c->blob_id);
    CHECK(std::get<0>(obj("x")) == x->blob_id);
    auto count = [&](const std::string& sql) { return w.exec_params(sql, b.id)[0][0].as<int>(); };
    CHECK(count("SELECT count(*) FROM objects WHERE bucket_id = $1 AND key = 'n'") == 0);
    CHECK(count("SELECT count(*) FROM objects WHERE bucket_id = $1") == 7);
    // The old blobs of replaced objects are gone; nothing was written for the failed writes.
    for (const auto& gone : {a->blob_id, fl->blob_id, s->blob_id, blob + "c", blob + "n", blob + "x"})
      CHECK(w.exec_params("SELECT count(*) FROM blobs WHERE id = $1", gone)[0][0].as<int>() == 0);
  }
}

TEST_CASE("engine: listing with and without a delimiter, paged", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto b = f.bucket();
  for (auto k : {"a/1", "a/2", "a/b/3", "b/1", "c", "d/", "é/x"}) REQUIRE(f.put(b, k, "v").ok());
  auto all = depot::testing::run(f.engine->list(b, {"", "", "", 1000}));
  REQUIRE(all.ok());
  CHECK(all->entries.size() == 7);
  CHECK_FALSE(all->truncated);

  auto top = depot::testing::run(f.engine->list(b, {"", "/", "", 1000}));
  REQUIRE(top.ok());
  std::vector<std::string> keys;
  for (auto& e : top->entries) keys.push_back((e.is_prefix ? "P:" : "K:") + e.key);
  CHECK(keys == std::vector<std::string>{"P:a/", "P:b/", "K:c", "P:d/", "P:é/"});

  // One entry a page, continuing after each common prefix.
  std::vector<std::string> paged;
  std::string marker;
  for (int i = 0; i < 10; ++i) {
    auto p = depot::testing::run(f.engine->list(b, {"", "/", marker, 1}));
    REQUIRE(p.ok());
    for (auto& e : p->entries) paged.push_back(e.key);
    if (!p->truncated) break;
    marker = p->next_marker;
  }
  CHECK(paged == std::vector<std::string>{"a/", "b/", "c", "d/", "é/"});

  auto inside = depot::testing::run(f.engine->list(b, {"a/", "/", "", 1000}));
  REQUIRE(inside.ok());
  keys.clear();
  for (auto& e : inside->entries) keys.push_back((e.is_prefix ? "P:" : "K:") + e.key);
  CHECK(keys == std::vector<std::string>{"K:a/1", "K:a/2", "P:a/b/"});
  CHECK(*depot::testing::run(f.engine->prefix_exists(b, "a/b/")));
  CHECK_FALSE(*depot::testing::run(f.engine->prefix_exists(b, "zz/")));
}

TEST_CASE("engine: copies share blobs; renames move whole prefixes", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto b = f.bucket();
  auto orig = f.put(b, "src/file.bin", std::string(100, 'z'));
  REQUIRE(orig.ok());
  auto copy = depot::testing::run(f.engine->copy_object(f.user.id, b, "src/file.bin", b, "copy.bin", {}));
  REQUIRE(copy.ok());
  CHECK(copy->blob_id == orig->blob_id);
  CHECK(f.usage().bytes_used == 200);
  REQUIRE(depot::testing::run(f.engine->delete_object(b, "src/file.bin")).ok());
  CHECK(f.get(*copy) == std::string(100, 'z'));  // the shared blob survived

  for (auto k : {"tree/a", "tree/sub/b", "tree/sub/c"}) REQUIRE(f.put(b, k, k).ok());
  auto moved = depot::testing::run(f.engine->rename_prefix(b, "tree/", b, "moved/", false));
  REQUIRE(moved.ok());
  CHECK(*moved == 3);
  CHECK_FALSE(*depot::testing::run(f.engine->prefix_exists(b, "tree/")));
  auto m = depot::testing::run(f.engine->head_object(b, "moved/sub/b"));
  REQUIRE(m.ok());
  CHECK(f.get(*m) == "tree/sub/b");
  auto copied = depot::testing::run(f.engine->copy_prefix(f.user.id, b, "moved/", b, "again/", false));
  REQUIRE(copied.ok());
  CHECK(*copied == 3);
  auto n = depot::testing::run(f.engine->delete_prefix(b, "moved/"));
  REQUIRE(n.ok());
  CHECK(*n == 3);
  CHECK(f.usage().objects_used == 4);
  CHECK(depot::testing::run(f.engine->delete_bucket(f.user.id, b.name)).code() == Errc::bucket_not_empty);
  CHECK(depot::testing::run(f.engine->delete_bucket(f.user.id, b.name, true)).ok());
  CHECK(f.usage().objects_used == 0);
  CHECK(f.usage().bytes_used == 0);
}

TEST_CASE("engine: buckets are private and names follow S3's rules", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture a, other;
  auto b = a.bucket();
  CHECK(depot::testing::run(other.engine->get_bucket(other.user.id, b.name)).code() == Errc::access_denied);
  CHECK(depot::testing::run(other.engine->create_bucket(other.user.id, b.name, "us-east-1")).code() == Errc::bucket_exists);
  CHECK(depot::testing::run(a.engine->create_bucket(a.user.id, b.name, "us-east-1")).code() == Errc::bucket_owned_by_you);
  CHECK_FALSE(Engine::valid_bucket_name("ab"));
  CHECK_FALSE(Engine::valid_bucket_name("Upper"));
  CHECK_FALSE(Engine::valid_bucket_name("192.168.1.1"));
  CHECK_FALSE(Engine::valid_bucket_name("a..b"));
  CHECK(Engine::valid_bucket_name("my-bucket.example"));
}

TEST_CASE("quota: reservations refuse what would pass the limit, and are released", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto plan = depot::testing::unique_name("tiny");
  f.db.tx_sync([&](pqxx::work& w) {
    w.exec_params("INSERT INTO plans (name, bytes_limit, objects_limit) VALUES ($1, 100, 3)", plan);
  });
  REQUIRE(f.users.set_plan_sync(f.user.name, plan).ok());
  auto b = f.bucket();
  REQUIRE(f.put(b, "a", std::string(60, 'a')).ok());
  CHECK(f.put(b, "b", std::string(50, 'b')).code() == Errc::quota_exceeded);
  REQUIRE(f.put(b, "b", std::string(40, 'b')).ok());
  CHECK(f.usage().bytes_used == 100);
  CHECK(f.usage().bytes_reserved == 0);
  // Object limit: the third object fits, the fourth does not.
  REQUIRE(f.put(b, "c", "").ok());
  CHECK(f.put(b, "d", "").code() == Errc::quota_exceeded);
  // Over quota after a downgrade: deletes still work, writes that add bytes do not.
  f.db.tx_sync([&](pqxx::work& w) { w.exec_params("UPDATE plans SET bytes_limit = 50 WHERE name = $1", plan); });
  CHECK(f.put(b, "e", "x").code() == Errc::quota_exceeded);
  REQUIRE(depot::testing::run(f.engine->delete_object(b, "a")).ok());
  CHECK(f.usage().bytes_used == 40);
  // A reservation dropped without commit is released.
  {
    auto r = depot::testing::run(f.quota.reserve(f.user.id, 5));
    REQUIRE(r.ok());
    CHECK(f.usage().bytes_reserved == 5);
    depot::testing::run(f.quota.release(**r));
  }
  CHECK(f.usage().bytes_reserved == 0);
}

namespace {
asio::awaitable<void> put_one(Fixture& f, Bucket b, std::string key, std::string data, Result<ObjectInfo>& out,
                              WriteConditions cond = {}) {
  PutOptions o;
  o.declared_size = data.size();
  o.conditions = std::move(cond);
  auto t = co_await f.engine->begin_put(f.user.id, b, key, o);
  if (!t) {
    out = t.error();
    co_return;
  }
  StringSource src(data);
  out = co_await f.engine->finish_put(std::move(*t), src);
}
}  // namespace

TEST_CASE("engine: concurrent writes commit in batches, each with its own outcome", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto plan = depot::testing::unique_name("batch");
  f.db.tx_sync([&](pqxx::work& w) { w.exec_params("INSERT INTO plans (name, bytes_limit) VALUES ($1, 100)", plan); });
  REQUIRE(f.users.set_plan_sync(f.user.name, plan).ok());
  auto b = f.bucket();
  // 20 small writes at once (checked, not reserved) of which exactly 10 fit; then 8 writes of
  // one key (each replaces the last) and 6 file-backed writes of which at most 2 fit; then
  // writes big enough to be reserved.
  std::vector<Result<ObjectInfo>> small(20), same(8), big(6);
  const auto stats0 = f.engine->commit_stats();
  asio::io_context io;
  for (std::size_t i = 0; i < small.size(); ++i)
    asio::co_spawn(io, put_one(f, b, "k" + std::to_string(i), std::string(10, 'a'), small[i]), asio::detached);
  io.run();
  int ok = 0;
  for (auto& r : small) {
    if (r) ++ok;
    else CHECK(r.code() == Errc::quota_exceeded);
  }
  CHECK(ok == 10);
  // The batches that would have passed the limit failed as a whole (commit_objects_batch raised)
  // and their writes were committed one at a time.
  CHECK(f.engine->commit_stats().alone > stats0.alone);
  CHECK(f.usage().bytes_used == 100);
  CHECK(f.usage().objects_used == 10);
  CHECK(f.usage().bytes_reserved == 0);
  REQUIRE(depot::testing::run(f.engine->delete_prefix(b, "k")).ok());
  io.restart();
  for (std::size_t i = 0; i < same.size(); ++i)
    asio::co_spawn(io, put_one(f, b, "same", std::string(i + 1, 'b'), same[i]), asio::detached);
  for (std::size_t i = 0; i < big.size(); ++i)
    asio::co_spawn(io, put_one(f, b, "big" + std::to_string(i), std::string(40, 'c'), big[i]), asio::detached);
  io.run();
  for (auto& r : same) CHECK(r.ok());
  auto head = depot::testing::run(f.engine->head_object(b, "same"));
  REQUIRE(head.ok());
  int big_ok = 0;
  for (auto& r : big) big_ok += r.ok() ? 1 : 0;
  CHECK(big_ok <= 2);
  CHECK(f.usage().objects_used == 1 + big_ok);
  CHECK(f.usage().bytes_used == head->size + 40 * big_ok);
  CHECK(f.usage().bytes_reserved == 0);
  CHECK(f.get(*head) == std::string(std::size_t(head->size), 'b'));

  f.db.tx_sync([&](pqxx::work& w) {
    w.exec_params("UPDATE plans SET bytes_limit = bytes_limit + (20 << 20) WHERE name = $1", plan);
  });
  auto before = f.usage();
  std::vector<Result<ObjectInfo>> huge(4);
  io.restart();
  for (std::size_t i = 0; i < huge.size(); ++i)
    asio::co_spawn(io, put_one(f, b, "huge" + std::to_string(i), std::string(9 << 20, 'd'), huge[i]), asio::detached);
  io.run();
  int huge_ok = 0;
  for (auto& r : huge) {
    if (r) ++huge_ok;
    else CHECK(r.code() == Errc::quota_exceeded);
  }
  CHECK(huge_ok == 2);
  CHECK(f.usage().bytes_used == before.bytes_used + huge_ok * (9 << 20));
  CHECK(f.usage().objects_used == before.objects_used + huge_ok);
  CHECK(f.usage().bytes_reserved == 0);

  // Replacing writes of distinct keys (batches written set-wise, put_objects_rows): inline over
  // a file and a file over inline bytes, new keys, and an If-None-Match: * that fails.
  std::vector<ObjectInfo> old;
  for (int i = 0; i < 10; ++i) {
    auto r = f.put(b, "r" + std::to_string(i), i % 2 ? std::string(40, 'o') : std::string("old"));
    REQUIRE(r.ok());
    old.push_back(*r);
  }
  before = f.usage();
  std::vector<Result<ObjectInfo>> rep(10), fresh(6), refused(1);
  auto body = [](int i) { return i % 2 ? std::string(std::size_t(3 + i), 'n') : std::string(std::size_t(30 + i), 'N'); };
  io.restart();
  for (int i = 0; i < 10; ++i)
    asio::co_spawn(io, put_one(f, b, "r" + std::to_string(i), body(i), rep[std::size_t(i)]), asio::detached);
  for (int i = 0; i < 6; ++i)
    asio::co_spawn(io, put_one(f, b, "q" + std::to_string(i), body(i), fresh[std::size_t(i)]), asio::detached);
  asio::co_spawn(io, put_one(f, b, "r3", "refused", refused[0], WriteConditions{.if_none_match_any = true}),
                 asio::detached);
  io.run();
  CHECK(refused[0].code() == Errc::precondition_failed);
  std::int64_t added = 0;
  for (int i = 0; i < 10; ++i) {
    REQUIRE(rep[std::size_t(i)].ok());
    auto h = depot::testing::run(f.engine->head_object(b, "r" + std::to_string(i)));
    REQUIRE(h.ok());
    CHECK(f.get(*h) == body(i));
    CHECK(h->etag == rep[std::size_t(i)]->etag);
    added += std::int64_t(body(i).size()) - old[std::size_t(i)].size;
    CHECK_FALSE(f.blobs->open(old[std::size_t(i)].blob_id, 0, 1).ok());  // a file replaced is unlinked
    CHECK(f.db.tx_sync([&](pqxx::work& w) {
      return w.exec_params("SELECT count(*) FROM blobs WHERE id = $1", old[std::size_t(i)].blob_id)[0][0].as<int>();
    }) == 0);
  }
  for (int i = 0; i < 6; ++i) {
    REQUIRE(fresh[std::size_t(i)].ok());
    added += std::int64_t(body(i).size());
    CHECK(f.get(*fresh[std::size_t(i)]) == body(i));
  }
  CHECK(f.usage().bytes_used == before.bytes_used + added);
  CHECK(f.usage().objects_used == before.objects_used + 6);
  CHECK(f.usage().bytes_reserved == 0);
  CHECK(f.engine->commit_stats().statements > stats0.statements);  // batches of distinct keys: one statement
  // Those batches committed without waiting for their flush; each was answered after a barrier.
  const auto stats1 = f.engine->commit_stats();
  CHECK(stats1.flushes > stats0.flushes);
  CHECK(stats1.flushes - stats0.flushes <= stats1.statements - stats0.statements);
}

TEST_CASE("commit_objects_batch_async: only its own transaction skips the wait for the flush", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  pqxx::connection c(depot::testing::database_url());
  auto setting = [&] {
    pqxx::nontransaction n(c);
    return n.exec("SHOW synchronous_commit")[0][0].as<std::string>();
  };
  CHECK(setting() == "on");
  {
    pqxx::nontransaction n(c);
    CHECK(n.exec("SELECT count(*) FROM commit_objects_batch_async('[]'::jsonb, ''::bytea)")[0][0].as<int>() == 0);
  }
  // The next statements of the connection (another write's commit, say) wait for their flush again.
  CHECK(setting() == "on");
  {
    pqxx::work w(c);
    w.exec("SELECT count(*) FROM commit_objects_batch_async('[]'::jsonb, ''::bytea)");
    CHECK(w.exec("SHOW synchronous_commit")[0][0].as<std::string>() == "off");  // within its transaction
    w.commit();
  }
  CHECK(setting() == "on");
}

TEST_CASE("engine: probe reads credentials, bucket, object, prefix and usage in one query", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto b = f.bucket();
  REQUIRE(f.put(b, "dir/a.txt", "hello").ok());
  REQUIRE(f.put(b, "file", "0123456789").ok());
  auto probe = [&](Engine::ProbeQuery q) { return depot::testing::run(f.engine->probe(std::move(q))); };

  Engine::ProbeQuery q;
  q.user = f.user.id;
  q.credentials_version = f.user.credentials_version;
  q.bucket = b.name;
  q.key = "file";
  q.prefix = "file/";
  q.usage = true;
  auto p = probe(q);
  CHECK(p.credentials_valid);
  REQUIRE(p.bucket.ok());
  CHECK(p.bucket->id == b.id);
  REQUIRE(p.object);
  REQUIRE(p.object->ok());
  CHECK((*p.object)->size == 10);
  CHECK((*p.object)->etag == "781e5e245d69b566979b86e28d23f2c7");
  CHECK_FALSE(p.prefix_exists);
  CHECK_FALSE(p.parent_exists);  // not asked for
  REQUIRE(p.usage);
  CHECK(p.usage->bytes_used == 15);
  CHECK(p.usage->objects_used == 2);

  q.key = "dir";
  q.prefix = "dir/";
  q.parent_prefix = "file/";
  q.usage = false;
  p = probe(q);
  REQUIRE(p.object);
  CHECK(p.object->code() == Errc::no_such_key);
  CHECK(p.prefix_exists);
  REQUIRE(p.parent_exists);
  CHECK_FALSE(*p.parent_exists);  // "file" is a file, nothing is under "file/"
  CHECK_FALSE(p.usage);

  // A write's target and its parent collection (WebDAV PUT, MKCOL, LOCK).
  q.key = "dir/new.txt";
  q.prefix = "dir/new.txt/";
  q.parent_prefix = "dir/";
  p = probe(q);
  CHECK(p.object->code() == Errc::no_such_key);
  CHECK_FALSE(p.prefix_exists);
  REQUIRE(p.parent_exists);
  CHECK(*p.parent_exists);
  q.parent_prefix.reset();

  // Credentials that no longer hold, a missing bucket, another user's bucket.
  q.credentials_version = f.user.credentials_version + 1;
  CHECK_FALSE(probe(q).credentials_valid);
  Engine::ProbeQuery k;
  k.user = f.user.id;
  k.access_key = "DKNOSUCHKEY000000000";
  k.bucket = "no-such-bucket-" + depot::testing::unique_name("x");
  auto pk = probe(k);
  CHECK_FALSE(pk.credentials_valid);
  CHECK(pk.bucket.code() == Errc::no_such_bucket);
  Fixture other;
  Engine::ProbeQuery o;
  o.user = other.user.id;
  o.credentials_version = other.user.credentials_version;
  o.bucket = b.name;
  o.key = "file";
  auto po = probe(o);
  CHECK(po.credentials_valid);
  CHECK(po.bucket.code() == Errc::access_denied);
  CHECK_FALSE(po.object);  // nothing of another user's bucket is read

  // Lock roots: none yet; then an unexpired lock on the bucket, and an expired one elsewhere.
  const std::string root = "/" + b.name + "/";
  Engine::ProbeQuery l;
  l.user = f.user.id;
  l.bucket = b.name;
  l.lock_roots = {"/", root, root + "file"};
  CHECK_FALSE(probe(l).locks_possible);
  f.db.tx_sync([&](pqxx::work& w) {
    w.exec_params("INSERT INTO dav_locks (token, user_id, root, depth_infinity, exclusive, timeout_s, expires_at) "
                  "VALUES ($1, $2, $3, true, true, 60, now() - interval '1 second')",
                  "opaquelocktoken:" + depot::testing::unique_name("t"), f.user.id, root + "file");
  });
  CHECK_FALSE(probe(l).locks_possible);  // expired
  f.db.tx_sync([&](pqxx::work& w) {
    w.exec_params("INSERT INTO dav_locks (token, user_id, root, depth_infinity, exclusive, timeout_s, expires_at) "
                  "VALUES ($1, $2, $3, true, true, 60, now() + interval '60 seconds')",
                  "opaquelocktoken:" + depot::testing::unique_name("t"), f.user.id, root);
  });
  CHECK(probe(l).locks_possible);
}

TEST_CASE("engine: a GET's probe leaves out bytes the server holds, and a replaced object is read anew", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto b = f.bucket();
  REQUIRE(f.put(b, "k", "first bytes").ok());  // 11 bytes: inline (threshold 16)
  auto get = [&](Engine& e) {
    Engine::ProbeQuery q;
    q.user = f.user.id;
    q.credentials_version = f.user.credentials_version;
    q.bucket = b.name;
    q.key = "k";
    q.prefetch = true;
    auto p = depot::testing::run(e.probe(q));
    REQUIRE(p.object);
    REQUIRE(p.object->ok());
    return depot::testing::run([&]() -> asio::awaitable<std::string> {
      auto r = co_await e.open_object(**p.object, 0, std::uint64_t((*p.object)->size));
      REQUIRE(r.ok());
      std::string out(std::size_t((*p.object)->size), '\0');
      std::size_t got = 0;
      while (got < out.size()) got += co_await (*r)->read(out.data() + got, out.size() - got);
      co_return out;
    }());
  };
  auto skipped = [&] { return f.engine->probe_stats().prefetch_skipped; };
  CHECK(get(*f.engine) == "first bytes");
  CHECK(skipped() == 0);  // fetched with the probe
  CHECK(get(*f.engine) == "first bytes");
  CHECK(skipped() == 1);  // held: the probe asked only for the object's row
  // Another server replaces the object: this one's probe, without bytes, finds another blob id.
  Engine other(f.db, *f.blobs, f.quota, EngineOptions{16, 1ull << 40});
  REQUIRE(depot::testing::run([&]() -> asio::awaitable<Result<ObjectInfo>> {
            PutOptions o;
            o.declared_size = 12;
            auto t = co_await other.begin_put(f.user.id, b, "k", o);
            if (!t) co_return t.error();
            StringSource src("second bytes");
            co_return co_await other.finish_put(std::move(*t), src);
          }())
              .ok());
  CHECK(get(*f.engine) == "second bytes");
  CHECK(skipped() == 2);
  CHECK(get(*f.engine) == "second bytes");
  CHECK(skipped() == 2);  // the name was forgotten: fetched with the probe again
  CHECK(get(*f.engine) == "second bytes");
  CHECK(skipped() == 3);
  // Deleted: the probe says so, whatever the cache holds.
  REQUIRE(depot::testing::run(other.delete_object(b, "k")).ok());
  Engine::ProbeQuery q;
  q.user = f.user.id;
  q.credentials_version = f.user.credentials_version;
  q.bucket = b.name;
  q.key = "k";
  auto p = depot::testing::run(f.engine->probe(q));
  REQUIRE(p.object);
  CHECK(p.object->code() == Errc::no_such_key);
}

TEST_CASE("engine: probes waiting for a connection together go as one statement, each with its own answer", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto b = f.bucket();
  REQUIRE(f.put(b, "dir/a.txt", "hello").ok());
  REQUIRE(f.put(b, "file", "0123456789").ok());
  REQUIRE(f.put(b, "it's \"quoted\" \\ {a,b}", "q").ok());
  Fixture other;
  const std::string root = "/" + b.name + "/";
  const std::string kLocked = "lo\"ck {a,b} \\ed";  // passed as an element of an array of arrays
  f.db.tx_sync([&](pqxx::work& w) {
    w.exec_params("INSERT INTO dav_locks (token, user_id, root, depth_infinity, exclusive, timeout_s, expires_at) "
                  "VALUES ($1, $2, $3, true, true, 60, now() + interval '60 seconds')",
                  "opaquelocktoken:" + depot::testing::unique_name("t"), f.user.id, root + kLocked);
  });
  // One connection: while the first probe opens it, the others wait and gather.
  Database db1(f.url, 1);
  Engine engine(db1, *f.blobs, f.quota, EngineOptions{16, 1ull << 40});

  // Three shapes (S3's GET, WebDAV's GET and PUT), each with answers that differ from probe to probe.
  struct Case {
    Engine::ProbeQuery q;
    std::function<void(const Engine::Probe&)> check;
  };
  std::vector<Case> cases;
  for (int i = 0; i < 12; ++i) {
    Engine::ProbeQuery q;
    q.user = f.user.id;
    q.credentials_version = f.user.credentials_version + (i % 4 == 3 ? 1 : 0);
    q.bucket = b.name;
    q.key = i % 3 == 0 ? "file" : i % 3 == 1 ? "it's \"quoted\" \\ {a,b}" : "missing";
    q.prefix = i % 2 ? "dir/" : "nodir/";
    if (i >= 8) q.parent_prefix = i % 2 ? "nodir/" : "dir/";  // a third shape
    q.usage = true;
    q.prefetch = i < 6;  // two shapes: with the inline bytes (GET) and without
    q.lock_roots = {"/", root, root + (i % 2 ? kLocked : "free")};
    cases.push_back({q, [&, i](const Engine::Probe& p) {
                       CHECK(p.credentials_valid == (i % 4 != 3));
                       REQUIRE(p.bucket.ok());
                       REQUIRE(p.object);
                       if (i % 3 == 2) {
                         CHECK(p.object->code() == Errc::no_such_key);
                       } else {
                         REQUIRE(p.object->ok());
                         CHECK((*p.object)->size == (i % 3 == 0 ? 10 : 1));
                       }
                       CHECK(p.prefix_exists == (i % 2 == 1));
                       if (i >= 8) {
                         REQUIRE(p.parent_exists);
                         CHECK(*p.parent_exists == (i % 2 == 0));
                       } else {
                         CHECK_FALSE(p.parent_exists);
                       }
                       REQUIRE(p.usage);
                       CHECK(p.usage->objects_used == 3);
                       CHECK(p.locks_possible == (i % 2 == 1));
                     }});
  }
  for (int i = 0; i < 12; ++i) {
    Engine::ProbeQuery q;
    q.user = i % 4 == 1 ? other.user.id : f.user.id;
    q.access_key = "DKNOSUCHKEY000000000";
    q.bucket = i % 4 == 2 ? "no-such-bucket-" + depot::testing::unique_name("x") : b.name;
    q.key = i % 2 ? "file" : "dir/a.txt";
    // Not a GET: whether a GET's probe carries the bytes depends on what the first run cached,
    // and the statement counts below count shapes.
    q.prefetch = false;
    cases.push_back({q, [&, i](const Engine::Probe& p) {
                       CHECK_FALSE(p.credentials_valid);
                       if (i % 4 == 1) {
                         CHECK(p.bucket.code() == Errc::access_denied);
                         CHECK_FALSE(p.object);
                       } else if (i % 4 == 2) {
                         CHECK(p.bucket.code() == Errc::no_such_bucket);
                       } else {
                         REQUIRE(p.object);
                         REQUIRE(p.object->ok());
                         CHECK((*p.object)->size == (i % 2 ? 10 : 5));
                       }
                     }});
  }
  // Runs every case at once; true for each that threw.
  auto run_all = [&](const std::vector<Case>& all) {
    std::vector<std::optional<Engine::Probe>> got(all.size());
    std::vector<bool> threw(all.size());
    asio::io_context io;
    for (std::size_t i = 0; i < all.size(); ++i)
      asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
        try {
          got[i] = co_await engine.probe(all[i].q);
        } catch (const std::exception&) {
          threw[i] = true;
        }
      }, asio::detached);
    io.run();
    for (std::size_t i = 0; i < all.size(); ++i) {
      INFO("probe " << i);
      if (!all[i].check) {
        CHECK(threw[i]);
        continue;
      }
      REQUIRE(got[i]);
      all[i].check(*got[i]);
    }
  };
  run_all(cases);
  auto stats = engine.probe_stats();
  CHECK(stats.probes == cases.size());
  // While the first probe opens the one connection, every other probe joins the open batch of
  // its shape: one statement per shape.
  CHECK(stats.statements == 4);

  // A batch PostgreSQL refuses because of one probe's parameters (a key that is not UTF-8):
  // each probe runs alone, and only that one fails. The connection is open now, so the first
  // probe runs alone at once and the other five gather behind it.
  std::vector<Case> more(cases.begin() + 12, cases.begin() + 18);
  more.push_back(more[0]);
  more[3].q.key = "bad \xff\xfe key";
  more[3].check = nullptr;
  run_all(more);
  stats = engine.probe_stats();
  CHECK(stats.probes == cases.size() + more.size() - 1);
  // The first alone; then the batch of six failed, and its five good probes ran one by one
  // (statements that fail are not counted).
  CHECK(stats.statements == 4 + 1 + 5);
}

TEST_CASE("engine: a commit batch that waits for a key's lock does not hold up other writes", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto b = f.bucket();
  // Another transaction holds the advisory lock of key "held" (as lock_key does).
  pqxx::connection other(f.url);
  pqxx::work hold(other);
  hold.exec_params("SELECT pg_advisory_xact_lock(($1::bigint & 2147483647)::integer, hashtext($2))", b.id,
                   std::string("held"));
  Result<ObjectInfo> held = make_error(Errc::internal, "not run");
  asio::io_context io;
  asio::co_spawn(io, put_one(f, b, "held", "waits", held), asio::detached);
  std::thread waiting([&] { io.run(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // its batch is stuck on the lock
  auto other_write = std::async(std::launch::async, [&] { return f.put(b, "free", "goes ahead"); });
  CHECK(other_write.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(held.code() == Errc::internal);  // still waiting
  hold.abort();
  waiting.join();
  CHECK(other_write.get().ok());
  REQUIRE(held.ok());
  CHECK(f.get(*held) == "waits");
}

TEST_CASE("engine: a write that did not probe confirms its access key and bucket at its commit", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto b = f.bucket();
  const auto key_id = depot::testing::unique_name("AKV");
  f.db.tx_sync([&](pqxx::work& w) {
    w.exec_params("INSERT INTO access_keys (id, user_id, secret_enc) VALUES ($1, $2, 'sealed')", key_id, f.user.id);
  });
  auto set_revoked = [&](bool revoked) {
    f.db.tx_sync([&](pqxx::work& w) {
      w.exec_params("UPDATE access_keys SET revoked_at = CASE WHEN $2 THEN now() END WHERE id = $1", key_id, revoked);
    });
  };
  auto absent = [&](const Bucket& in, const std::string& key) {
    return depot::testing::run(f.engine->head_object(in, key)).code() == Errc::no_such_key;
  };
  // A write alone in its batch commits as one statement (commit_objects_batch); one with a hook
  // commits in a transaction of its own (write_object_rows): both paths check.
  for (bool alone : {false, true}) {
    CAPTURE(alone);
    PutOptions o;
    o.verify_access_key = key_id;
    if (alone) o.in_tx = [](pqxx::transaction_base&) {};
    const std::string k = alone ? "alone-" : "batch-";
    REQUIRE(f.put(b, k + "ok", "data", o).ok());
    const auto before = f.usage();

    set_revoked(true);
    auto r = f.put(b, k + "revoked", "data", o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == Errc::access_denied);
    CHECK(absent(b, k + "revoked"));
    set_revoked(false);

    // Another user's key: refused as a revoked one.
    auto other = f.users.create_sync({depot::testing::unique_name("u"), depot::testing::unique_name("e") + "@x.test",
                                      "long-enough-password", false, "free", "active"});
    REQUIRE(other.ok());
    f.db.tx_sync([&](pqxx::work& w) { w.exec_params("UPDATE access_keys SET user_id = $2 WHERE id = $1", key_id, other->id); });
    r = f.put(b, k + "foreign", "data", o);
    CHECK(r.code() == Errc::access_denied);
    f.db.tx_sync([&](pqxx::work& w) { w.exec_params("UPDATE access_keys SET user_id = $2 WHERE id = $1", key_id, f.user.id); });

    // A bucket deleted since the caller read it.
    auto gone = f.bucket();
    REQUIRE(depot::testing::run(f.engine->delete_bucket(f.user.id, gone.name, false, {})).ok());
    r = f.put(gone, k + "gone", "data", o);
    CHECK(r.code() == Errc::no_such_bucket);
    CHECK(f.usage().bytes_used == before.bytes_used);
    CHECK(f.usage().objects_used == before.objects_used);
    CHECK(f.usage().bytes_reserved == 0);
  }
}

TEST_CASE("engine: a WebDAV write that did not probe confirms the account, bucket, parent, path and locks at its commit",
          "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto b = f.bucket();
  REQUIRE(f.put(b, "dir/", "").ok());  // a collection marker
  auto exists = [&](const std::string& key) { return depot::testing::run(f.engine->head_object(b, key)).ok(); };
  auto lock = [&](const std::string& root) {
    f.db.tx_sync([&](pqxx::work& w) {
      w.exec_params("INSERT INTO dav_locks (token, user_id, root, depth_infinity, exclusive, timeout_s, expires_at) "
                    "VALUES ($1, $2, $3, true, true, 60, now() + interval '60 seconds')",
                    depot::testing::unique_name("opaquelocktoken:"), f.user.id, root);
    });
  };
  auto unlock = [&] { f.db.tx_sync([&](pqxx::work& w) { w.exec_params("DELETE FROM dav_locks WHERE user_id = $1", f.user.id); }); };
  // A write alone in its batch commits as one statement (commit_objects_batch); one with a hook
  // commits in a transaction of its own (write_object_rows): both paths check.
  for (bool alone : {false, true}) {
    CAPTURE(alone);
    const std::string k = alone ? "dir/alone-" : "dir/batch-";
    auto put = [&](const std::string& key, std::int64_t version, std::string parent, std::vector<std::string> roots,
                   bool* replaced = nullptr, const std::string& data = "data") {
      PutOptions o;
      o.dav_checks = PutOptions::DavChecks{version, std::move(parent), std::move(roots)};
      o.replaced = replaced;
      if (alone) o.in_tx = [](pqxx::transaction_base&) {};
      return f.put(b, key, data, o);
    };
    const auto v = f.user.credentials_version;
    const std::vector<std::string> roots{"/", "/" + b.name + "/", "/" + b.name + "/dir/"};
    bool replaced = true;
    REQUIRE(put(k + "new", v, "dir/", roots, &replaced).ok());
    CHECK_FALSE(replaced);
    REQUIRE(put(k + "new", v, "dir/", roots, &replaced, "other bytes").ok());  // on disk, over 16 bytes
    CHECK(replaced);
    const auto before = f.usage();

    // The credentials changed since the login was cached.
    auto r = put(k + "stale-login", v + 1, "dir/", roots);
    CHECK(r.code() == Errc::unauthenticated);
    CHECK_FALSE(exists(k + "stale-login"));
    // No parent collection: nothing under "nodir/".
    r = put("nodir/" + k, v, "nodir/", roots);
    CHECK(r.code() == Errc::conflict);
    CHECK_FALSE(exists("nodir/" + k));
    // A collection at the path: a key under "<key>/".
    REQUIRE(f.put(b, k + "coll/inner", "x").ok());
    r = put(k + "coll", v, "dir/", roots);
    CHECK(r.code() == Errc::conflict);
    CHECK_FALSE(exists(k + "coll"));
    // A lock rooted at one of the roots (an expired one does not count).
    lock("/" + b.name + "/dir/");
    r = put(k + "locked", v, "dir/", roots);
    CHECK(r.code() == Errc::conflict);
    CHECK_FALSE(exists(k + "locked"));
    unlock();
    f.db.tx_sync([&](pqxx::work& w) {
      w.exec_params("INSERT INTO dav_locks (token, user_id, root, depth_infinity, exclusive, timeout_s, expires_at) "
                    "VALUES ($1, $2, $3, true, true, 60, now() - interval '1 second')",
                    depot::testing::unique_name("opaquelocktoken:"), f.user.id, "/" + b.name + "/dir/");
    });
    CHECK(put(k + "after-expiry", v, "dir/", roots).ok());
    unlock();
    // At the bucket's root: no parent to check.
    CHECK(put(k.substr(4) + "top", v, "", {"/", "/" + b.name + "/"}).ok());
    auto after = f.usage();
    CHECK(after.objects_used == before.objects_used + 3);  // coll/inner, after-expiry, top
    CHECK(after.bytes_reserved == 0);
  }
  // A bucket that is no longer the user's.
  auto gone = f.bucket();
  REQUIRE(depot::testing::run(f.engine->delete_bucket(f.user.id, gone.name, false, {})).ok());
  PutOptions o;
  o.dav_checks = PutOptions::DavChecks{f.user.credentials_version, "", {}};
  CHECK(f.put(gone, "f", "data", o).code() == Errc::conflict);
}

TEST_CASE("engine: a usage that may be stale is read again before it refuses a write", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;
  auto b = f.bucket();
  Usage full = f.usage();
  full.bytes_used = full.bytes_limit;  // what a moment-old read might say after deletes since
  for (bool stale : {false, true}) {
    CAPTURE(stale);
    PutOptions o;
    o.known_usage = full;
    o.known_usage_may_be_stale = stale;
    auto r = f.put(b, "k", "data", o);
    if (stale) CHECK(r.ok());
    else CHECK(r.code() == Errc::quota_exceeded);
  }
}

TEST_CASE("engine: a replaced blob's file is written over, and the sweeper keeps live recycled files", "[db]") {
  DEPOT_REQUIRE_DB();
  Fixture f;  // inline threshold 16: these objects are files
  auto b = f.bucket();
  const std::string first(200, 'a'), second(300, 'b'), third(190, 'c');
  auto one = f.put(b, "k", first);
  REQUIRE(one.ok());
  if (one->blob_id.find('.') == std::string::npos) {
    WARN("the temporary directory's file system does not recycle (not ext4 or XFS)");
    return;
  }
  // The second write's file is made before its commit frees the first's; the third takes that.
  REQUIRE(f.put(b, "k", second).ok());
  auto two = f.put(b, "k", third);
  REQUIRE(two.ok());
  CHECK(blob_file_name(two->blob_id) == blob_file_name(one->blob_id));  // the same file, written over
  CHECK(two->blob_id != one->blob_id);
  CHECK(f.get(*two) == third);
  // A reader that looked the old object up before it went finds it gone, not the new bytes.
  auto stale = depot::testing::run(f.engine->open_object(*one, 0, 200));
  CHECK(stale.code() == Errc::not_found);

  // The sweeper matches files to rows by name (a row's id is the name, '.', a generation): the
  // live file stays, an old orphan goes.
  auto w = f.blobs->create();
  depot::testing::run(w->write("orphan", 6));
  REQUIRE(depot::testing::run(w->finish()).ok());
  const auto orphan = blob_path(f.dir, w->id());
  w.reset();
  struct timespec old_times[2] = {{0, UTIME_OMIT}, {1000, 0}};
  for (const auto& p : {orphan, blob_path(f.dir, two->blob_id)})
    REQUIRE(::utimensat(AT_FDCWD, p.c_str(), old_times, 0) == 0);
  Sweeper sweeper(f.db, *f.blobs, f.quota, std::chrono::seconds(1), std::chrono::seconds(1), std::chrono::seconds(600));
  depot::testing::run(sweeper.sweep_once());
  CHECK_FALSE(std::filesystem::exists(orphan));
  CHECK(sweeper.stats().orphans_removed == 1);
  CHECK(f.get(*two) == third);
}
