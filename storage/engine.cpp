#include "storage/engine.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <deque>
#include <list>
#include <mutex>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <spdlog/spdlog.h>

#include "src/crypto/checksum.hpp"
#include "src/crypto/md5_stream.hpp"
#include "src/utf8.hpp"
#include "storage/db.hpp"
#include "storage/multipart_store.hpp"
#include "storage/object_rows.hpp"
#include "storage/quota.hpp"

namespace depot::storage {
namespace asio = boost::asio;

PutTicket::PutTicket() = default;
PutTicket::PutTicket(PutTicket&&) noexcept = default;
PutTicket& PutTicket::operator=(PutTicket&&) noexcept = default;
PutTicket::~PutTicket() = default;

namespace {

// Aborts a transaction with an expected failure; caught around db.tx and returned as an Error.
struct TxError : std::exception {
  Error error;
  explicit TxError(Error e) : error(std::move(e)) {}
};

// Serializes writers of one key (two first PUTs of a new key would both see no old row).
// put_object_rows (migration 002_put_function) takes the same lock.
void lock_key(pqxx::work& w, BucketId b, const std::string& key) {
  exec_prepared(w, "engine_lock_key", "SELECT pg_advisory_xact_lock($1, hashtext($2))", int(b & 0x7fffffff), key);
}

template <class Row>  // a pqxx::row or a PgRow
Bucket bucket_from_row(const Row& r, int f = 0) {
  Bucket b;
  b.id = r[f].template as<BucketId>();
  b.name = r[f + 1].template as<std::string>();
  b.owner = r[f + 2].template as<UserId>();
  b.owner_name = r[f + 3].template as<std::string>();
  b.region = r[f + 4].template as<std::string>();
  b.created = from_micros(r[f + 5].template as<std::int64_t>());
  return b;
}
#define DEPOT_BUCKET_COLUMNS \
  "b.id, b.name, b.owner_id, u.name, b.region, (extract(epoch from b.created_at) * 1000000)::bigint "
constexpr const char* kBucketSelect = "SELECT " DEPOT_BUCKET_COLUMNS "FROM buckets b JOIN users u ON u.id = b.owner_id ";

const std::string kFetchObjectSql =
    std::string("SELECT ") + kObjectColumns + " FROM objects o WHERE o.bucket_id = $1 AND o.key = $2";
const std::string kFetchObjectForUpdateSql = kFetchObjectSql + " FOR UPDATE";

std::optional<ObjectInfo> fetch_object(pqxx::transaction_base& w, BucketId b, const std::string& key, bool for_update) {
  auto r = for_update ? exec_prepared(w, "engine_fetch_object_for_update", kFetchObjectForUpdateSql.c_str(), b, key)
                      : exec_prepared(w, "engine_fetch_object", kFetchObjectSql.c_str(), b, key);
  if (r.empty()) return std::nullopt;
  return object_from_row(r[0]);
}

// head_object's query: the object and, when it is small and inline, its bytes (one round trip
// where GET would otherwise need a second query for the bytes).
// Small inline bytes (up to kPrefetch) come along and wait in the cache for open_object.
const std::string kHeadObjectSql =
    std::string("SELECT ") + kObjectColumns +
    ", bl.inline_data FROM objects o LEFT JOIN blobs bl ON o.parts = 0 AND o.size <= $3 AND bl.id = o.blob_id "
    "WHERE o.bucket_id = $1 AND o.key = $2";
constexpr std::int64_t kPrefetch = 16 * 1024;

Result<void> check_conditions(const WriteConditions& c, const std::optional<ObjectInfo>& current) {
  if (c.if_none_match_any && current)
    return make_error(Errc::precondition_failed, "the object already exists (If-None-Match: *)");
  if (c.if_match) {
    if (!current) return make_error(Errc::no_such_key, "the object does not exist (If-Match)");
    if (*c.if_match != "*" && *c.if_match != current->etag)
      return make_error(Errc::precondition_failed, "the object's ETag does not match (If-Match)");
  }
  return {};
}

struct Released {
  std::int64_t objects = 0;
  std::int64_t bytes = 0;
  std::vector<std::string> unlink;  // blob files no row refers to any more
};

// Runs `delete_sql` (a DELETE ... RETURNING blob_id, size) and drops the references its rows
// held, deleting blobs that no object uses any more. The caller credits usage.
template <class... Args>
Released release_deleted(pqxx::work& w, const std::string& delete_sql, Args&&... args) {
  pqxx::result rows = w.exec_params("WITH d AS (" + delete_sql +
                                "), g AS (SELECT blob_id, count(*) AS n, sum(size) AS bytes FROM d GROUP BY blob_id), "
                                "b AS (UPDATE blobs SET refcount = blobs.refcount - g.n FROM g WHERE blobs.id = g.blob_id "
                                "RETURNING blobs.id, blobs.refcount, blobs.inline_data IS NULL AS on_disk, g.n, g.bytes) "
                                "SELECT id, refcount, on_disk, n, bytes FROM b",
                            std::forward<Args>(args)...);
  Released rel;
  std::vector<std::string> zero;
  for (const pqxx::row& r : rows) {
    rel.objects += r[3].as<std::int64_t>();
    rel.bytes += r[4].as<std::int64_t>();
    if (r[1].as<int>() == 0) {
      zero.push_back(r[0].as<std::string>());
      if (r[2].as<bool>()) rel.unlink.push_back(r[0].as<std::string>());
    }
  }
  if (!zero.empty()) w.exec_params("DELETE FROM blobs WHERE id = ANY($1::text[]) AND refcount = 0", to_pg_text_array(zero));
  return rel;
}

std::string upper_or_max(const std::string& prefix) {
  // Exclusive upper bound for the range scan of prefix; U+10FFFF repeated stands for "no bound".
  auto u = prefix_upper_bound(prefix);
  return u ? *u : std::string("\xF4\x8F\xBF\xBF\xF4\x8F\xBF\xBF\xF4\x8F\xBF\xBF");
}

// For bodies of db_.tx (which must return what f returns): a TxError thrown after writes rolls
// them back, and db_.tx returns its error.
template <class F>
auto catch_tx(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const TxError& e) {
    throw RolledBack<decltype(f())>{e.error};
  }
}

Result<void> valid_key(const std::string& key) {
  if (key.empty()) return make_error(Errc::invalid_name, "the key is empty");
  if (key.size() > Engine::max_key_bytes)
    return make_error(Errc::too_large, "the key is longer than 1024 bytes");
  if (!valid_utf8(key)) return make_error(Errc::invalid_name, "the key is not valid UTF-8");
  return {};
}

// Metadata is PostgreSQL text: anything but UTF-8 would fail in SQL.
Result<void> valid_metadata(const PutOptions& o) {
  bool ok = valid_utf8(o.content_type);
  auto check = [&ok](const auto& map) {
    for (const auto& [k, v] : map) ok = ok && valid_utf8(k) && valid_utf8(v);
  };
  check(o.user_meta);
  check(o.headers);
  if (!ok) return make_error(Errc::invalid_argument, "a metadata value or Content-Type is not valid UTF-8");
  return {};
}

}  // namespace

// ---------------------------------------------------------------- group commit of writes

// One finish_put waiting for its transaction.
struct PutCommit {
  UserId user = 0;
  ObjectInfo info;
  bool inline_blob = false;
  const std::string* small = nullptr;
  const WriteConditions* conditions = nullptr;
  const TxHook* in_tx = nullptr;
  Reservation* reservation = nullptr;
  std::int64_t checked_bytes = 0;
  const std::optional<std::string>* verify_access_key = nullptr;  // PutOptions::verify_access_key
  const std::optional<PutOptions::DavChecks>* dav_checks = nullptr;  // PutOptions::dav_checks
  // Out: the outcome (or the exception to rethrow), and blob files to unlink after it.
  std::optional<Result<ObjectInfo>> result;
  std::exception_ptr failure;
  std::vector<std::string> unlink;
  bool replaced = false;  // the write replaced an object
  // With `failure`: the rows may have been committed (the connection broke during or after the
  // commit), so the new blob must stay for the sweeper to judge, not be removed at once.
  bool outcome_unknown = false;
  std::unique_ptr<Resumer<>> wake;  // the waiting finish_put
};

namespace {

// put_object_rows' and put_objects_rows' outcome of one write as check_conditions reports it
// (which condition failed follows its order: with If-None-Match: * set, a precondition failure
// is that condition's; If-Match on a missing object is no_such_key).
Result<Released> released_or_error(const std::string& status, const WriteConditions& cond, std::int64_t objects,
                                   std::int64_t bytes, std::optional<std::string> unlink) {
  if (status == "access_denied")
    return make_error(Errc::access_denied, "the access key was revoked or its account is no longer active");
  if (status == "no_such_bucket") return make_error(Errc::no_such_bucket, "the bucket does not exist");
  if (status == "unauthenticated")
    return make_error(Errc::unauthenticated, "the account's credentials changed or it is no longer active");
  if (status == "dav_recheck")
    return make_error(Errc::conflict, "recheck: the path's parent, collection or locks are not as assumed");
  if (status == "no_such_key") return make_error(Errc::no_such_key, "the object does not exist (If-Match)");
  if (status == "precondition_failed")
    return cond.if_none_match_any
               ? make_error(Errc::precondition_failed, "the object already exists (If-None-Match: *)")
               : make_error(Errc::precondition_failed, "the object's ETag does not match (If-Match)");
  Released rel;
  rel.objects = objects;
  rel.bytes = bytes;
  if (unlink) rel.unlink.push_back(std::move(*unlink));
  return rel;
}

// An item's dv (PutOptions::dav_checks) for dav_put_checks (migration 202_put_dav_checks).
boost::json::object dav_checks_json(const PutOptions::DavChecks& d) {
  return boost::json::object{{"cv", d.credentials_version},
                             {"pp", d.parent_prefix},
                             {"lr", boost::json::array(d.lock_roots.begin(), d.lock_roots.end())}};
}

// The object rows of one write, without the quota, in one statement (put_object_rows, migration
// 002_put_function): checks the conditions (nothing written if they fail), adds the blob row,
// replaces the old object. Returns what the old object freed.
Result<Released> write_object_rows(pqxx::work& w, const PutCommit& c) {
  if (c.verify_access_key && *c.verify_access_key) {
    // What put_objects_rows (007) checks for such a write, here before the write.
    auto v = exec_prepared(w, "engine_put_verify",
                           "SELECT EXISTS (SELECT 1 FROM access_keys k JOIN users ku ON ku.id = k.user_id WHERE k.id = $1 "
                           "AND k.user_id = $2 AND k.revoked_at IS NULL AND ku.status = 'active'), "
                           "EXISTS (SELECT 1 FROM buckets b WHERE b.id = $3 AND b.owner_id = $2)",
                           **c.verify_access_key, c.user, c.info.bucket);
    if (!v[0][0].as<bool>()) return released_or_error("access_denied", *c.conditions, 0, 0, std::nullopt);
    if (!v[0][1].as<bool>()) return released_or_error("no_such_bucket", *c.conditions, 0, 0, std::nullopt);
  }
  if (c.dav_checks && *c.dav_checks) {
    boost::json::object it{{"i", 1}, {"b", c.info.bucket}, {"k", c.info.key}, {"u", c.user},
                           {"dv", dav_checks_json(**c.dav_checks)}};
    auto v = exec_prepared(w, "engine_put_dav_checks", "SELECT status FROM dav_put_checks($1::jsonb)",
                           boost::json::serialize(boost::json::array{std::move(it)}));
    auto st = v[0][0].as<std::string>();
    if (st != "ok") return released_or_error(st, *c.conditions, 0, 0, std::nullopt);
  }
  static const char* const sql =
      "SELECT status, freed_objects, freed_bytes, unlink_blob FROM put_object_rows($1::bigint, $2::text, $3::text, "
      "$4::bigint, $5::text, $6::text, $7::jsonb, $8::jsonb, $9::jsonb, $10::bigint, $11::bigint, $12::bytea, "
      "$13::boolean, $14::text)";
  const ObjectInfo& info = c.info;
  const WriteConditions& cond = *c.conditions;
  auto put = [&](const auto& inline_data) {
    return exec_prepared(w, "engine_put_object_rows", sql, info.bucket, info.key, info.blob_id, info.size, info.etag,
                         info.content_type, map_to_json(info.user_meta), map_to_json(info.headers),
                         map_to_json(info.checksums), to_micros(info.modified), to_micros(info.created), inline_data,
                         cond.if_none_match_any, cond.if_match ? cond.if_match->c_str() : nullptr);
  };
  auto r = c.inline_blob ? put(pqxx::binarystring(*c.small)) : put(nullptr);
  const auto row = r[0];
  return released_or_error(row[0].as<std::string>(), cond, row[1].as<std::int64_t>(), row[2].as<std::int64_t>(),
                           row[3].is_null() ? std::nullopt : std::optional<std::string>(row[3].as<std::string>()));
}

// The object rows of a whole batch in one statement (put_objects_rows, migration
// 007_put_verify): what write_object_rows does for each write. The batch is in
// (bucket, key) order and names each key once. Returns each write's outcome, in batch order.
// put_objects_rows' (and commit_objects_batch's) items: one JSON object per write of the batch,
// and the inline blobs' bytes one after another in `data`.
std::string batch_items(const std::vector<PutCommit*>& batch, std::string& data) {
  boost::json::array items;
  items.reserve(batch.size());
  for (std::size_t n = 0; n < batch.size(); ++n) {
    const PutCommit& c = *batch[n];
    const ObjectInfo& info = c.info;
    boost::json::object it;
    it["i"] = n + 1;
    it["b"] = info.bucket;
    it["k"] = info.key;
    it["id"] = info.blob_id;
    it["s"] = info.size;
    it["e"] = info.etag;
    it["ct"] = info.content_type;
    it["m"] = map_to_json_object(info.user_meta);
    it["h"] = map_to_json_object(info.headers);
    it["c"] = map_to_json_object(info.checksums);
    it["mt"] = to_micros(info.modified);
    it["cr"] = to_micros(info.created);
    if (c.inline_blob) {
      it["off"] = data.size();
      it["len"] = c.small->size();
      data += *c.small;
    }
    it["inm"] = c.conditions->if_none_match_any;
    if (c.conditions->if_match) it["im"] = *c.conditions->if_match;
    // For commit_objects_batch's usage update (QuotaEngine::commit_batch's rules).
    it["u"] = c.user;
    if (c.verify_access_key && *c.verify_access_key) it["ak"] = **c.verify_access_key;
    if (c.dav_checks && *c.dav_checks) it["dv"] = dav_checks_json(**c.dav_checks);
    if (c.reservation && !c.reservation->done()) it["r"] = c.reservation->id();
    it["ck"] = !c.reservation && c.checked_bytes > 0;
    items.push_back(std::move(it));
  }
  return boost::json::serialize(items);
}

// The batch's outcomes from rows (i, status, freed_objects, freed_bytes, unlink_blob) in order.
std::vector<Result<Released>> batch_outcomes(const pqxx::result& rows, const std::vector<PutCommit*>& batch) {
  if (rows.size() != batch.size()) throw std::runtime_error("a batch's function returned a row count unlike the batch's");
  std::vector<Result<Released>> out;
  out.reserve(batch.size());
  for (std::size_t n = 0; n < batch.size(); ++n) {
    const auto row = rows[static_cast<pqxx::result::size_type>(n)];
    out.push_back(released_or_error(row[1].as<std::string>(), *batch[n]->conditions, row[2].as<std::int64_t>(),
                                    row[3].as<std::int64_t>(),
                                    row[4].is_null() ? std::nullopt : std::optional<std::string>(row[4].as<std::string>())));
  }
  return out;
}

std::vector<Result<Released>> write_batch_rows(pqxx::work& w, const std::vector<PutCommit*>& batch) {
  std::string data;
  auto items = batch_items(batch, data);
  auto rows = exec_prepared(w, "engine_put_objects_rows",
                            "SELECT i, status, freed_objects, freed_bytes, unlink_blob "
                            "FROM put_objects_rows($1::jsonb, $2::bytea) ORDER BY i",
                            items, pqxx::binarystring(data));
  return batch_outcomes(rows, batch);
}

// The whole batch, rows and usage, as one statement outside a transaction block (its own
// transaction: one round trip instead of four). Throws when PostgreSQL refuses it, a quota limit
// among the reasons; nothing of it is then written. Its commit does not wait for the WAL flush
// (commit_objects_batch_async, migration 009): the batch is durable only after a flush_barrier.
std::vector<Result<Released>> commit_batch_statement(pqxx::connection& conn, const std::vector<PutCommit*>& batch) {
  std::string data;
  auto items = batch_items(batch, data);
  pqxx::nontransaction n(conn);
  auto rows = exec_prepared(n, "engine_commit_objects_batch_async",
                            "SELECT i, status, freed_objects, freed_bytes, unlink_blob "
                            "FROM commit_objects_batch_async($1::jsonb, $2::bytea) ORDER BY i",
                            items, pqxx::binarystring(data));
  return batch_outcomes(rows, batch);
}

// Returns once every transaction this server committed before the call is on disk: a
// transaction with a transaction id commits with synchronous_commit on (the connections'
// setting), so its commit waits for the WAL to be flushed up to its commit record, and the WAL
// is flushed in order.
void flush_barrier(pqxx::connection& conn) {
  pqxx::nontransaction n(conn);
  n.exec("SELECT pg_current_xact_id()");
}

}  // namespace

// Group commit: concurrent finish_puts queue their rows here, and a leader running on a database
// pool thread writes a whole batch in one transaction with one update of each user's usage row
// and one commit (one WAL flush). Without it every write of a user serializes on that row for
// the length of its commit's fsync. A batch that fails as a whole (a quota limit, a conflict)
// is rolled back and its writes are retried one transaction each, so each gets its own outcome.
// One batch runs at a time; the next fills while it commits. (Two at once were slower: a user's
// batches serialize on the usage row anyway, and each batch got half as big. 4 KiB PUT, fresh
// database, two rounds: 5,731 / 4,834 -> 6,889 / 6,887/s, CPU per PUT 0.29-0.34 -> 0.24 ms.
// Measured again with batches as one statement: a second leader once 8 writes wait lost in three
// rounds of three, S3 4,841 -> 4,514/s and WebDAV replacing 2,901 -> 2,402/s in the best.)
// A batch that makes no progress for kStall (waiting for a key's lock, a slow disk) lets a
// second leader take the writes queued behind it.
class PutCommitter {
 public:
  PutCommitter(Database& db, QuotaEngine& quota) : db_(db), quota_(quota) {}

  asio::awaitable<void> commit(PutCommit& c) {
    auto initiate = [this, &c](auto handler) {
      c.wake = make_resumer<>(std::move(handler));
      enqueue(&c);
    };
    auto token = asio::use_awaitable;
    co_await asio::async_initiate<decltype(token), void()>(initiate, token);
  }

 private:
  static constexpr int kMaxLeaders = 2;
  static constexpr std::size_t kMaxBatch = 64;
  static constexpr std::chrono::milliseconds kStall{50};

  void enqueue(PutCommit* c) {
    bool spawn = false;
    {
      std::lock_guard lock(mu_);
      queue_.push_back(c);
      if (leaders_ == 0 ||
          (leaders_ < kMaxLeaders && std::chrono::steady_clock::now() - progress_ > kStall)) {
        ++leaders_;
        progress_ = std::chrono::steady_clock::now();
        spawn = true;
      }
    }
    if (spawn) db_.post_task([this] { lead(); });
  }

  void lead() {
    for (;;) {
      std::vector<PutCommit*> batch;
      {
        std::lock_guard lock(mu_);
        if (queue_.empty()) {
          --leaders_;
          return;
        }
        while (!queue_.empty() && batch.size() < kMaxBatch) {
          batch.push_back(queue_.front());
          queue_.pop_front();
        }
        progress_ = std::chrono::steady_clock::now();
      }
      bool durable = true;
      try {
        durable = run(db_.pool_connection(), batch);
      } catch (...) {
        fail(batch, std::current_exception());
      }
      if (durable) {
        wake(batch);
      } else {
        flush_later(std::move(batch));
      }
    }
  }

  // A batch whose outcome is known but not yet on disk waits for the flusher's next barrier,
  // while the leader sends the next batch: a batch's WAL flush overlaps the next one's execution.
  // (A single leader otherwise spent each batch's flush idle: 4 KiB PUTs, batches of about 16,
  // 2.7 ms executing and 0.6 ms flushing.) A barrier serves every batch that finished before it.
  void flush_later(std::vector<PutCommit*> batch) {
    bool spawn = false;
    {
      std::lock_guard lock(flush_mu_);
      unflushed_.insert(unflushed_.end(), batch.begin(), batch.end());
      if (!flushing_) flushing_ = spawn = true;
    }
    if (spawn) db_.post_task([this] { flush(); });
  }

  void flush() {
    for (;;) {
      std::vector<PutCommit*> done;
      {
        std::lock_guard lock(flush_mu_);
        if (unflushed_.empty()) {
          flushing_ = false;
          return;
        }
        done.swap(unflushed_);
      }
      std::exception_ptr err;
      for (int attempt = 0; attempt < 3; ++attempt) {  // a broken connection is reopened
        try {
          flush_barrier(db_.pool_connection());
          err = nullptr;
          break;
        } catch (...) {
          err = std::current_exception();
        }
      }
      flushes_++;
      if (err) {
        // Committed, visible, perhaps not durable: the writes are answered with the error, and
        // their blobs (new and replaced) are left to the sweeper, which judges by the rows.
        for (auto* c : done) {
          c->result.reset();
          c->unlink.clear();
          c->failure = err;
          c->outcome_unknown = true;
        }
      }
      wake(done);
    }
  }

  // The connection broke: the commit may or may not have happened.
  static bool maybe_committed(std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const pqxx::broken_connection&) {
      return true;
    } catch (const pqxx::in_doubt_error&) {
      return true;
    } catch (...) {
      return false;
    }
  }

  static void fail(const std::vector<PutCommit*>& batch, std::exception_ptr e) {
    const bool unknown = maybe_committed(e);
    for (auto* c : batch) {
      if (c->result || c->failure) continue;
      c->failure = e;
      c->outcome_unknown = unknown;
    }
  }

  static void wake(const std::vector<PutCommit*>& batch) {
    // A job may be destroyed as soon as its waiter resumes: take the wakeup out first.
    for (auto* c : batch) {
      auto w = std::move(c->wake);
      w->resume();
    }
  }

  // Writes the batch's rows. True when every outcome is final and on disk; false when the batch
  // was committed without waiting for its flush (flush_later).
  bool run(pqxx::connection& conn, std::vector<PutCommit*> batch) {
    // One lock order for every batch (keys, then users' usage rows): batches never deadlock.
    std::stable_sort(batch.begin(), batch.end(), [](const PutCommit* a, const PutCommit* b) {
      return std::tie(a->info.bucket, a->info.key) < std::tie(b->info.bucket, b->info.key);
    });
    // The batch is in key order: a key written twice is named twice in a row.
    const bool distinct = std::adjacent_find(batch.begin(), batch.end(), [](const PutCommit* a, const PutCommit* b) {
                            return a->info.bucket == b->info.bucket && a->info.key == b->info.key;
                          }) == batch.end();
    const bool hooks = std::any_of(batch.begin(), batch.end(), [](const PutCommit* c) { return c->in_tx && *c->in_tx; });
    if (distinct && !hooks && run_as_statement(conn, batch)) {
      statements_++;
      return false;
    }
    if (batch.size() > 1 && run_together(conn, batch, distinct)) {
      transactions_++;
      return true;
    }
    alone_ += batch.size();
    for (auto* c : batch) run_alone(conn, *c);
    return true;
  }

  // Keys written once each and no hooks to run in the transaction: the whole batch is one
  // statement (commit_objects_batch). False when it failed as a whole (nothing written).
  bool run_as_statement(pqxx::connection& conn, const std::vector<PutCommit*>& batch) {
    std::vector<Result<Released>> rels;
    try {
      rels = commit_batch_statement(conn, batch);
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& e) {
      spdlog::debug("a commit batch of {} writes failed, committing them again: {}", batch.size(), e.what());
      return false;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& c = *batch[i];
      if (!rels[i]) {
        c.result = rels[i].error();
        continue;
      }
      if (c.reservation) QuotaEngine::consumed(*c.reservation);
      c.result = c.info;
      c.replaced = rels[i]->objects > 0;
      c.unlink = std::move(rels[i]->unlink);
    }
    return true;
  }

  bool run_together(pqxx::connection& conn, const std::vector<PutCommit*>& batch, bool distinct) {
    struct UserDelta {
      std::vector<Reservation*> reservations;
      std::int64_t bytes = 0, objects = 0, unreserved = 0;
    };
    std::vector<std::optional<Result<ObjectInfo>>> results(batch.size());
    std::vector<std::vector<std::string>> unlinks(batch.size());
    try {
      pqxx::work w(conn);
      std::vector<Result<Released>> rels;
      if (distinct) {
        rels = write_batch_rows(w, batch);
      } else {
        for (auto* c : batch) rels.push_back(write_object_rows(w, *c));
      }
      std::map<UserId, UserDelta> users;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        auto& c = *batch[i];
        auto& rel = rels[i];
        if (rel && c.in_tx && *c.in_tx) (*c.in_tx)(w);
        if (!rel) {
          results[i] = rel.error();
          continue;
        }
        auto& u = users[c.user];
        std::int64_t delta = c.info.size - rel->bytes;
        u.bytes += delta;
        u.objects += 1 - rel->objects;
        if (c.reservation) u.reservations.push_back(c.reservation);
        else if (c.checked_bytes > 0) u.unreserved += delta;
        results[i] = c.info;
        c.replaced = rel->objects > 0;
        unlinks[i] = std::move(rel->unlink);
      }
      for (auto& [user, u] : users) {
        auto q = quota_.commit_batch(w, user, u.reservations, u.bytes, u.objects, u.unreserved);
        if (!q) return false;  // rolled back; each write alone finds out which did not fit
      }
      w.commit();
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& e) {
      spdlog::debug("a commit batch of {} writes failed, committing them one by one: {}", batch.size(), e.what());
      return false;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& c = *batch[i];
      if (results[i]->ok() && c.reservation) QuotaEngine::consumed(*c.reservation);
      c.result = std::move(results[i]);
      c.unlink = std::move(unlinks[i]);
    }
    return true;
  }

  void run_alone(pqxx::connection& conn, PutCommit& c) {
    for (int attempt = 0;; ++attempt) {
      try {
        pqxx::work w(conn);
        auto rel = write_object_rows(w, c);
        if (!rel) {
          c.result = rel.error();
          return;
        }
        if (c.in_tx && *c.in_tx) (*c.in_tx)(w);
        // Last, so the user's usage row stays locked only for the commit.
        auto q = c.reservation || c.checked_bytes == 0
                     ? quota_.commit(w, c.reservation, c.user, c.info.size - rel->bytes, 1 - rel->objects)
                     : QuotaEngine::charge(w, c.user, c.info.size - rel->bytes, 1 - rel->objects);
        if (!q) {
          c.result = q.error();
          return;  // w rolls back
        }
        w.commit();
        c.result = c.info;
        c.replaced = rel->objects > 0;
        c.unlink = std::move(rel->unlink);
        return;
      } catch (const pqxx::serialization_failure&) {
        if (attempt >= 5) {
          c.failure = std::current_exception();
          return;
        }
      } catch (const pqxx::deadlock_detected&) {
        if (attempt >= 5) {
          c.failure = std::current_exception();
          return;
        }
      } catch (...) {
        c.failure = std::current_exception();
        c.outcome_unknown = maybe_committed(c.failure);
        return;
      }
    }
  }

  Database& db_;
  QuotaEngine& quota_;
  std::mutex mu_;
  std::deque<PutCommit*> queue_;
  int leaders_ = 0;
  std::chrono::steady_clock::time_point progress_;  // when a leader last took a batch
  std::mutex flush_mu_;
  std::vector<PutCommit*> unflushed_;  // committed, waiting for a barrier
  bool flushing_ = false;              // a flush() task runs

 public:
  std::atomic<std::uint64_t> statements_{0}, transactions_{0}, alone_{0}, flushes_{0};
};

// A bounded LRU of inline blob bytes by blob id. Thread-safe. It also remembers under which
// name (bucket and key) each blob was last read, so that a GET's probe need not fetch bytes this
// server already holds: a blob id's bytes never change, and the probe still returns the
// object's current blob id, so a replaced object simply misses (open_object then reads it).
class InlineBlobCache {
 public:
  explicit InlineBlobCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  static std::string name_of(const std::string& bucket, const std::string& key) { return bucket + '\0' + key; }

  // `name`: where the bytes were read ("" when unknown).
  void put(const std::string& id, std::string data, std::string name = {}) {
    std::lock_guard lock(mu_);
    if (data.size() > max_bytes_ / 16) return;
    if (auto it = map_.find(id); it != map_.end()) {
      if (!name.empty() && it->second->name != name) name_to(it->second, std::move(name));
      return;
    }
    lru_.push_front(Entry{id, std::move(data), {}});
    bytes_ += cost(lru_.front());
    map_.emplace(id, lru_.begin());
    if (!name.empty()) name_to(lru_.begin(), std::move(name));
    while (bytes_ > max_bytes_ && !lru_.empty()) {
      auto& last = lru_.back();
      bytes_ -= cost(last);
      if (!last.name.empty()) {
        auto n = names_.find(last.name);
        if (n != names_.end() && n->second == std::prev(lru_.end())) names_.erase(n);
      }
      map_.erase(last.id);
      lru_.pop_back();
    }
  }

  std::optional<std::string> get(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = map_.find(id);
    if (it == map_.end()) return std::nullopt;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->data;
  }

  // The id of the blob last read under `name`, if its bytes are held.
  std::optional<std::string> held_under(const std::string& name) {
    std::lock_guard lock(mu_);
    auto n = names_.find(name);
    if (n == names_.end()) return std::nullopt;
    return n->second->id;
  }

  // The object under `name` is another blob now.
  void forget_name(const std::string& name) {
    std::lock_guard lock(mu_);
    auto n = names_.find(name);
    if (n == names_.end()) return;
    bytes_ -= cost(*n->second);
    n->second->name.clear();
    bytes_ += cost(*n->second);
    names_.erase(n);
  }

 private:
  struct Entry {
    std::string id, data, name;
  };
  using Iter = std::list<Entry>::iterator;
  static std::size_t cost(const Entry& e) { return e.id.size() + e.data.size() + e.name.size() + 96; }

  void name_to(Iter it, std::string name) {
    if (!it->name.empty()) {
      auto n = names_.find(it->name);
      if (n != names_.end() && n->second == it) names_.erase(n);
    }
    bytes_ -= cost(*it);
    it->name = std::move(name);
    bytes_ += cost(*it);
    names_[it->name] = it;
  }

  std::mutex mu_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::list<Entry> lru_;
  std::unordered_map<std::string, Iter> map_;
  std::unordered_map<std::string, Iter> names_;  // a name's newest entry
};

Engine::Engine(Database& db, BlobStore& blobs, QuotaEngine& quota, EngineOptions opts)
    : db_(db), blobs_(blobs), quota_(quota), opts_(opts), inline_cache_(std::make_unique<InlineBlobCache>(64 << 20)),
      committer_(std::make_unique<PutCommitter>(db, quota)),
      probes_(std::make_unique<ProbeBatcher>(db)) {}

Engine::~Engine() = default;

bool Engine::valid_bucket_name(std::string_view n) {
  if (n.size() < 3 || n.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(n.front()) || !alnum(n.back())) return false;
  bool all_ip = true;
  int dots = 0;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    if (!alnum(c) && c != '.' && c != '-') return false;
    if (c == '.' && (n[i + 1] == '.' || n[i + 1] == '-' || n[i - 1] == '-')) return false;
    if (c == '.') ++dots;
    else if (!(c >= '0' && c <= '9')) all_ip = false;
  }
  if (all_ip && dots == 3) return false;  // looks like an IP address
  // Prefixes and suffixes S3 reserves (access point aliases, Multi-Region Access Points,
  // directory and table buckets, documentation examples).
  for (std::string_view p : {"xn--", "sthree-", "amzn-s3-demo-"})
    if (n.starts_with(p)) return false;
  for (std::string_view s : {"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"})
    if (n.ends_with(s)) return false;
  // The server's own first path segments (src/http/router.cpp): a bucket of that name would be
  // out of reach of path-style requests.
  for (std::string_view own : {"api", "dav", "healthz", "readyz", "metrics"})
    if (n == own) return false;
  return true;
}

// ---------------------------------------------------------------- buckets

asio::awaitable<Result<Bucket>> Engine::create_bucket(UserId user, std::string name, std::string region) {
  if (!valid_bucket_name(name)) co_return make_error(Errc::invalid_name, "the bucket name is not valid");
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<Bucket> {
    auto existing = w.exec_params("SELECT owner_id FROM buckets WHERE name = $1", name);
    if (!existing.empty()) {
      if (existing[0][0].as<UserId>() == user)
        return make_error(Errc::bucket_owned_by_you, "you already own this bucket");
      return make_error(Errc::bucket_exists, "the bucket name is taken");
    }
    auto r = w.exec_params(
        "INSERT INTO buckets (name, owner_id, region) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING id",
        name, user, region);
    if (r.empty()) return make_error(Errc::bucket_exists, "the bucket name is taken");
    auto b = w.exec_params(std::string(kBucketSelect) + "WHERE b.id = $1", r[0][0].as<BucketId>());
    return bucket_from_row(b[0]);
  });
}

asio::awaitable<Result<Bucket>> Engine::get_bucket(UserId user, std::string name) {
  static const std::string sql = std::string(kBucketSelect) + "WHERE b.name = $1";
  co_return co_await db_.read([&](pqxx::transaction_base& w) -> Result<Bucket> {
    auto r = exec_prepared(w, "engine_get_bucket", sql.c_str(), name);
    if (r.empty()) return make_error(Errc::no_such_bucket, "the bucket does not exist");
    auto b = bucket_from_row(r[0]);
    if (b.owner != user) return make_error(Errc::access_denied, "the bucket belongs to another user");
    return b;
  });
}

namespace {

// A shape of Engine::probe's statement: which parts it holds. Its SQL is built once; a call only
// fills the parameters, in the order of `slots`.
enum ProbePart : unsigned { kProbeKey = 1, kProbeVersion = 2, kProbeBucket = 4, kProbeObject = 8, kProbePrefix = 16,
                            kProbeUsage = 32, kProbeLocks = 64, kProbePrefetch = 128, kProbeParent = 256,
                            kProbeShapes = 512 };
enum class ProbeSlot { access_key, user, version, bucket, key, prefetch, prefix, prefix_upper, parent, parent_upper,
                       lock_roots };
struct ProbeShape {
  std::string name, sql;  // one probe: one row
  std::string batch_name, batch_sql;  // several: each slot's parameter is an array, one row per probe in order
  std::vector<ProbeSlot> slots;
};

// The SQL of one probe of the shape `parts`; `ref(slot)` writes a reference to a slot's value.
template <class Ref>
std::string probe_sql(unsigned parts, Ref ref) {
  std::string sql = "SELECT ";
  if (parts & kProbeKey) {
    sql += "EXISTS (SELECT 1 FROM access_keys k JOIN users ku ON ku.id = k.user_id WHERE k.id = " +
           ref(ProbeSlot::access_key) + " AND k.revoked_at IS NULL AND ku.status = 'active')";
  } else if (parts & kProbeVersion) {
    sql += "EXISTS (SELECT 1 FROM users cu WHERE cu.id = " + ref(ProbeSlot::user) +
           " AND cu.status = 'active' AND cu.credentials_version = " + ref(ProbeSlot::version) + ")";
  } else {
    sql += "false";
  }
  std::string from = " FROM (SELECT 1) one";
  // A column: whether the user's bucket has any key in [lo, hi) (a collection prefix).
  auto any_under = [&](ProbeSlot lo, ProbeSlot hi) {
    return ", b.owner_id = " + ref(ProbeSlot::user) +
           " AND EXISTS (SELECT 1 FROM objects px WHERE px.bucket_id = b.id AND px.key >= " + ref(lo) +
           " AND px.key < " + ref(hi) + ")";
  };
  if (parts & kProbeBucket) {
    // The owner's name is not read: a bucket is only returned to its owner, whose name the
    // caller knows (one join less per request).
    sql += ", b.id, b.name, b.owner_id, ''::text, b.region, (extract(epoch from b.created_at) * 1000000)::bigint";
    from += " LEFT JOIN buckets b ON b.name = " + ref(ProbeSlot::bucket);
  }
  if (parts & kProbeObject) {
    from += " LEFT JOIN objects o ON b.owner_id = " + ref(ProbeSlot::user) + " AND o.bucket_id = b.id AND o.key = " +
            ref(ProbeSlot::key);
    if (parts & kProbePrefetch) {
      sql += std::string(", ") + kObjectColumns + ", bl.inline_data";
      from += " LEFT JOIN blobs bl ON o.parts = 0 AND o.size <= " + ref(ProbeSlot::prefetch) + " AND bl.id = o.blob_id";
    } else {
      sql += std::string(", ") + kObjectColumns + ", NULL::bytea";
    }
  }
  if (parts & kProbePrefix) {
    sql += any_under(ProbeSlot::prefix, ProbeSlot::prefix_upper);
  }
  if (parts & kProbeParent) sql += any_under(ProbeSlot::parent, ProbeSlot::parent_upper);
  if (parts & kProbeUsage) {
    sql += ", " + QuotaEngine::usage_columns();
    from += " " + QuotaEngine::usage_join("true", ref(ProbeSlot::user));
  }
  if (parts & kProbeLocks) {
    sql += ", EXISTS (SELECT 1 FROM dav_locks WHERE root = ANY(" + ref(ProbeSlot::lock_roots) +
           "::text[]) AND expires_at > now())";
  }
  return sql + from;
}

ProbeShape build_probe_shape(unsigned parts) {
  ProbeShape s;
  s.name = "engine_probe_" + std::to_string(parts);
  s.batch_name = "engine_probe_batch_" + std::to_string(parts);
  // Each slot is one parameter, numbered in order of first use.
  auto number = [&s](ProbeSlot slot) {
    auto it = std::find(s.slots.begin(), s.slots.end(), slot);
    if (it != s.slots.end()) return std::to_string(it - s.slots.begin() + 1);
    s.slots.push_back(slot);
    return std::to_string(s.slots.size());
  };
  s.sql = probe_sql(parts, [&](ProbeSlot slot) { return "$" + number(slot); });
  // The batch: the probe's statement once per row of the parameters' arrays, each array element
  // passed as text (a lock_roots element is the text of an array) and cast where the single
  // statement let PostgreSQL infer the type.
  std::string inner = probe_sql(parts, [&](ProbeSlot slot) {
    const bool integer = slot == ProbeSlot::user || slot == ProbeSlot::version || slot == ProbeSlot::prefetch;
    return "q.p" + number(slot) + (integer ? "::bigint" : "");
  });
  std::string arrays, columns;
  for (std::size_t i = 1; i <= s.slots.size(); ++i) {
    arrays += (i > 1 ? ", $" : "$") + std::to_string(i) + "::text[]";
    columns += "p" + std::to_string(i) + ", ";
  }
  s.batch_sql = "SELECT x.* FROM unnest(" + arrays + ") WITH ORDINALITY AS q(" + columns + "i) CROSS JOIN LATERAL (" +
                inner + ") x ORDER BY q.i";
  return s;
}

const ProbeShape& probe_shape(unsigned parts) {
  static const std::vector<ProbeShape> shapes = [] {
    std::vector<ProbeShape> all;
    for (unsigned p = 0; p < kProbeShapes; ++p) all.push_back(build_probe_shape(p));
    return all;
  }();
  return shapes[parts];
}

}  // namespace

// Probes that wait for a database connection together go to PostgreSQL as one statement: the
// first probe of a shape that finds no batch of its shape open opens one and waits for a
// connection (at once when one is free, so a lone probe waits for nothing); probes of the same
// shape arriving meanwhile join it. When the connection comes, the batch closes and its probes
// run as one statement, one row each. Under load this replaces several statements' executor
// start-up, round trip and wake-ups of both processes with one.
class ProbeBatcher {
 public:
  explicit ProbeBatcher(Database& db) : db_(db), open_(kProbeShapes) {}

  struct Rows {
    std::shared_ptr<const PgResult> result;
    int row = 0;
  };

  asio::awaitable<Rows> run(unsigned parts, std::vector<std::string> params) {
    for (;;) {
      std::shared_ptr<Batch> lead;
      {
        std::lock_guard lock(mu_);
        auto& open = open_[parts];
        if (!open || open->members.size() >= kMaxBatch) {
          open = std::make_shared<Batch>();
          open->members.push_back({std::move(params), nullptr});
          lead = open;
        }
      }
      if (lead) co_return co_await send(parts, std::move(lead));
      // Join the open batch; if it closed before this ran, try again.
      auto initiate = [&](auto handler) {
        std::unique_lock lock(mu_);
        auto& open = open_[parts];
        if (open && open->members.size() < kMaxBatch) {
          open->members.push_back({std::move(params), make_resumer<Outcome>(std::move(handler))});
          return;
        }
        lock.unlock();
        PostResumer<decltype(handler), Outcome>(std::move(handler)).resume(nullptr);
      };
      auto token = asio::use_awaitable;
      Outcome out = co_await asio::async_initiate<decltype(token), void(Outcome)>(initiate, token);
      if (!out) continue;
      if (out->error) std::rethrow_exception(out->error);
      co_return out->rows;
    }
  }

 private:
  static constexpr std::size_t kMaxBatch = 64;
  struct Result {
    Rows rows;
    std::exception_ptr error;
  };
  using Outcome = std::shared_ptr<const Result>;
  struct Member {
    std::vector<std::string> params;
    std::unique_ptr<Resumer<Outcome>> resume;  // none for the batch's first probe, which sends it
  };
  struct Batch {
    std::vector<Member> members;
  };

  asio::awaitable<Rows> send(unsigned parts, std::shared_ptr<Batch> batch) {
    const ProbeShape& shape = probe_shape(parts);
    std::vector<Member> members;
    std::function<Database::Statement()> choose = [&]() -> Database::Statement {
      {
        std::lock_guard lock(mu_);
        if (open_[parts] == batch) open_[parts] = nullptr;
        members = std::move(batch->members);
      }
      if (members.size() == 1) return {shape.name.c_str(), &shape.sql, members[0].params};
      std::vector<std::string> arrays;
      std::vector<std::string> column(members.size());
      for (std::size_t slot = 0; slot < shape.slots.size(); ++slot) {
        for (std::size_t m = 0; m < members.size(); ++m) column[m] = members[m].params[slot];
        arrays.push_back(to_pg_text_array(column));
      }
      return {shape.batch_name.c_str(), &shape.batch_sql, std::move(arrays)};
    };
    std::vector<Outcome> outs;
    std::exception_ptr error;
    bool alone = false;
    try {
      auto r = co_await db_.query(std::move(choose));
      if (std::size_t(r.size()) != std::max<std::size_t>(members.size(), 1))
        throw std::runtime_error("a batch of probes returned " + std::to_string(r.size()) + " rows for " +
                                 std::to_string(members.size()));
      probes_ += members.size();
      statements_++;
      auto shared = std::make_shared<const PgResult>(std::move(r));
      for (std::size_t m = 0; m < members.size(); ++m)
        outs.push_back(std::make_shared<const Result>(Result{Rows{shared, int(m)}, nullptr}));
    } catch (const pqxx::sql_error&) {
      // What PostgreSQL refused may be one probe's parameters (a key that is not UTF-8, say):
      // each probe then runs alone and gets its own answer.
      error = std::current_exception();
      alone = members.size() > 1;
    } catch (...) {
      error = std::current_exception();
    }
    if (alone) {
      for (auto& m : members) {
        auto res = std::make_shared<Result>();
        try {
          auto r = co_await db_.query(shape.name.c_str(), shape.sql, m.params);
          probes_++;
          statements_++;
          res->rows = Rows{std::make_shared<const PgResult>(std::move(r)), 0};
        } catch (...) {
          res->error = std::current_exception();
        }
        outs.push_back(std::move(res));
      }
    } else if (error) {
      if (members.empty()) {  // no connection was had: every probe that joined gets the error
        std::lock_guard lock(mu_);
        if (open_[parts] == batch) open_[parts] = nullptr;
        members = std::move(batch->members);
      }
      outs.assign(members.size(), std::make_shared<const Result>(Result{Rows{}, error}));
    }
    for (std::size_t m = 1; m < members.size(); ++m) members[m].resume->resume(outs[m]);
    if (outs[0]->error) std::rethrow_exception(outs[0]->error);
    co_return outs[0]->rows;
  }

  Database& db_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Batch>> open_;  // per shape: the batch still taking probes

 public:
  std::atomic<std::uint64_t> probes_{0}, statements_{0};
};

Engine::ProbeStats Engine::probe_stats() const {
  return {probes_->probes_.load(), probes_->statements_.load(), prefetch_skipped_.load()};
}

Engine::CommitStats Engine::commit_stats() const {
  return {committer_->statements_.load(), committer_->transactions_.load(), committer_->alone_.load(),
          committer_->flushes_.load()};
}

asio::awaitable<Engine::Probe> Engine::probe(ProbeQuery q) {
  // The statement holds only the parts asked for: each shape is its own prepared statement, so a
  // plan never initializes joins it does not need (executor start-up was the largest share of
  // PostgreSQL's time per request when one statement carried every part). One row always.
  const bool bucket = !q.bucket.empty(), obj = bucket && q.key, pfx = bucket && q.prefix,
             parent = bucket && q.parent_prefix;
  unsigned parts = 0;
  if (!q.access_key.empty()) parts |= kProbeKey;
  else if (q.credentials_version >= 0) parts |= kProbeVersion;
  if (bucket) parts |= kProbeBucket;
  if (obj) parts |= kProbeObject;
  // No bytes for a GET of an object whose bytes this server read before under the same name
  // (when it was replaced since, open_object reads the new ones).
  // The name is only made for a GET: other probes neither fetch bytes nor skip them.
  const std::string name = obj && q.prefetch ? InlineBlobCache::name_of(q.bucket, *q.key) : std::string();
  std::optional<std::string> held;
  if (!name.empty()) {
    held = inline_cache_->held_under(name);
    if (!held) parts |= kProbePrefetch;
    else prefetch_skipped_.fetch_add(1, std::memory_order_relaxed);
  }
  if (pfx) parts |= kProbePrefix;
  if (parent) parts |= kProbeParent;
  if (q.usage) parts |= kProbeUsage;
  if (!q.lock_roots.empty()) parts |= kProbeLocks;
  const ProbeShape& shape = probe_shape(parts);
  std::vector<std::string> params;
  params.reserve(shape.slots.size());
  for (auto slot : shape.slots) {
    switch (slot) {
      case ProbeSlot::access_key: params.push_back(q.access_key); break;
      case ProbeSlot::user: params.push_back(std::to_string(q.user)); break;
      case ProbeSlot::version: params.push_back(std::to_string(q.credentials_version)); break;
      case ProbeSlot::bucket: params.push_back(q.bucket); break;
      case ProbeSlot::key: params.push_back(*q.key); break;
      case ProbeSlot::prefetch: params.push_back(std::to_string(kPrefetch)); break;
      case ProbeSlot::prefix: params.push_back(*q.prefix); break;
      case ProbeSlot::prefix_upper: params.push_back(upper_or_max(*q.prefix)); break;
      case ProbeSlot::parent: params.push_back(*q.parent_prefix); break;
      case ProbeSlot::parent_upper: params.push_back(upper_or_max(*q.parent_prefix)); break;
      case ProbeSlot::lock_roots: params.push_back(to_pg_text_array(q.lock_roots)); break;
    }
  }
  // Runs on this I/O thread (Database::query): no hand-off to a database thread and back.
  auto rows = co_await probes_->run(parts, std::move(params));
  Probe p;
  auto r = (*rows.result)[rows.row];
  int col = 0;
  p.credentials_valid = r[col++].as<bool>();
  std::optional<Bucket> b;
  if (bucket) {
    if (!r[col].is_null()) {
      b = bucket_from_row(r, col);
      b->owner_name = q.user_name;
    }
    col += 6;
  }
  const int obj_col = col;
  if (obj) col += kObjectColumnCount + 1;
  const int pfx_col = col;
  if (pfx) col += 1;
  const int parent_col = col;
  if (parent) col += 1;
  if (q.usage) {
    p.usage = QuotaEngine::usage_from_row(r, col);
    col += QuotaEngine::kUsageColumnCount;
  }
  if (!q.lock_roots.empty()) p.locks_possible = r[col++].as<bool>();
  if (!b) co_return p;
  if (b->owner != q.user) {
    p.bucket = make_error(Errc::access_denied, "the bucket belongs to another user");
    co_return p;
  }
  p.bucket = *b;
  if (pfx) p.prefix_exists = !r[pfx_col].is_null() && r[pfx_col].as<bool>();
  if (parent) p.parent_exists = !r[parent_col].is_null() && r[parent_col].as<bool>();
  if (obj) {
    if (r[obj_col].is_null()) p.object = make_error(Errc::no_such_key, "the object does not exist");
    else p.object = held ? object_from_row(r, obj_col) : object_with_prefetch(r, obj_col, name);
    if (held && (!p.object->ok() || p.object->value().blob_id != *held)) inline_cache_->forget_name(name);
  }
  co_return p;
}

asio::awaitable<Result<std::vector<Bucket>>> Engine::list_buckets(UserId user) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<std::vector<Bucket>> {
    std::vector<Bucket> out;
    for (const auto& r : w.exec_params(std::string(kBucketSelect) + "WHERE b.owner_id = $1 ORDER BY b.name", user))
      out.push_back(bucket_from_row(r));
    return out;
  });
}

asio::awaitable<Result<void>> Engine::delete_bucket(UserId user, std::string name, bool force, TxHook in_tx) {
  std::vector<std::string> unlink;
  auto res = co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    unlink.clear();
    auto r = w.exec_params("SELECT id, owner_id FROM buckets WHERE name = $1 FOR UPDATE", name);
    if (r.empty()) return make_error(Errc::no_such_bucket, "the bucket does not exist");
    if (r[0][1].as<UserId>() != user) return make_error(Errc::access_denied, "the bucket belongs to another user");
    auto id = r[0][0].as<BucketId>();
    if (!force) {
      auto any = w.exec_params("SELECT 1 FROM objects WHERE bucket_id = $1 LIMIT 1", id);
      if (!any.empty()) return make_error(Errc::bucket_not_empty, "the bucket is not empty");
    } else {
      auto rel = release_deleted(w, "DELETE FROM objects WHERE bucket_id = $1 RETURNING blob_id, size", id);
      QuotaEngine::credit(w, user, rel.bytes, rel.objects);
      unlink = std::move(rel.unlink);
    }
    // The bucket's open uploads go with it (the cascade; their parts' trigger drops the blob
    // references, the files become orphans for the sweeper), and their parts stop counting
    // against their uploaders. Locked first, so an UploadPart in flight is counted or refused.
    w.exec_params("SELECT 1 FROM multipart_uploads WHERE bucket_id = $1 FOR UPDATE", id);
    for (const auto& p : w.exec_params("SELECT u.user_id, sum(p.size)::bigint FROM multipart_uploads u JOIN multipart_parts p "
                                       "ON p.upload_id = u.id WHERE u.bucket_id = $1 GROUP BY u.user_id ORDER BY u.user_id",
                                       id))
      QuotaEngine::credit(w, p[0].as<UserId>(), p[1].as<std::int64_t>(), 0);
    // WebDAV locks name paths, not rows: whichever protocol deletes the bucket, its locks go
    // too, or they would hold (and show) against the next bucket of that name, anyone's.
    w.exec_params("DELETE FROM dav_locks WHERE root >= $1 AND root < $2", "/" + name + "/", "/" + name + "0");
    if (in_tx) in_tx(w);
    w.exec_params("DELETE FROM buckets WHERE id = $1", id);
    return {};
  });
  co_await blobs_.remove_all(std::move(unlink));
  co_return res;
}

// ---------------------------------------------------------------- objects

ObjectInfo Engine::object_with_prefetch(const pqxx::row& r, int first, std::string name) {
  auto o = object_from_row(r, first);
  if (!r[first + kObjectColumnCount].is_null()) {
    pqxx::binarystring bs(r[first + kObjectColumnCount]);
    inline_cache_->put(o.blob_id, bs.str(), std::move(name));
  }
  return o;
}

ObjectInfo Engine::object_with_prefetch(const PgRow& r, int first, std::string name) {
  auto o = object_from_row(r, first);
  if (!r[first + kObjectColumnCount].is_null())
    inline_cache_->put(o.blob_id, r[first + kObjectColumnCount].bytea(), std::move(name));
  return o;
}

asio::awaitable<Result<ObjectInfo>> Engine::head_object(const Bucket& b, std::string key) {
  co_return co_await db_.read([&](pqxx::transaction_base& w) -> Result<ObjectInfo> {
    auto r = exec_prepared(w, "engine_head_object", kHeadObjectSql.c_str(), b.id, key, kPrefetch);
    if (r.empty()) return make_error(Errc::no_such_key, "the object does not exist");
    return object_with_prefetch(r[0], 0, InlineBlobCache::name_of(b.name, key));
  });
}

asio::awaitable<Result<PutTicket>> Engine::begin_put(UserId user, const Bucket& b, std::string key, PutOptions opts) {
  if (auto v = valid_key(key); !v) co_return v.error();
  if (auto v = valid_metadata(opts); !v) co_return v.error();
  if (opts.declared_size && *opts.declared_size > opts_.max_object_bytes)
    co_return make_error(Errc::too_large, "the object is larger than the maximum object size");
  if (opts.conditions.if_none_match_any || opts.conditions.if_match) {
    auto current = co_await db_.read([&](pqxx::transaction_base& w) { return fetch_object(w, b.id, key, false); });
    if (auto c = check_conditions(opts.conditions, current); !c) co_return c.error();
  }
  PutTicket t;
  // Uploads up to this size are checked against the quota, not reserved (see PutTicket): the
  // limit holds all the same, but two such uploads racing for the last free bytes can both pass
  // the check and one of them is then refused after its body was sent.
  constexpr std::uint64_t kUnreservedMax = 8 << 20;
  if (opts.declared_size && *opts.declared_size > 0 &&
      *opts.declared_size <= std::max<std::uint64_t>(opts_.inline_threshold, kUnreservedMax)) {
    constexpr auto refuses = [](const Usage& u, std::uint64_t size) {
      return u.bytes_used + u.bytes_reserved + std::int64_t(size) > u.bytes_limit;
    };
    auto u = co_await usage_for_put(user, opts, refuses, *opts.declared_size);
    if (!u) co_return u.error();
    if (refuses(*u, *opts.declared_size)) {
      // An upload replacing an object frees that object's bytes (the commit charges the
      // difference): a user at the limit can still save a file no larger than before.
      auto current = co_await db_.read([&](pqxx::transaction_base& w) { return fetch_object(w, b.id, key, false); });
      std::int64_t frees = current ? current->size : 0;
      if (u->bytes_used + u->bytes_reserved + std::int64_t(*opts.declared_size) - frees > u->bytes_limit)
        co_return make_error(Errc::quota_exceeded, "this upload would exceed your storage quota");
    }
    t.checked_bytes = std::int64_t(*opts.declared_size);
  } else if (opts.declared_size && *opts.declared_size > 0) {
    auto r = co_await quota_.reserve(user, std::int64_t(*opts.declared_size));
    if (!r) co_return r.error();
    t.reservation = std::move(r.value());
  } else {
    // Unknown or zero size: a zero reservation still proves the account can take writes now,
    // and an over-quota account is refused before any body is read.
    constexpr auto refuses = [](const Usage& u, std::uint64_t) { return u.bytes_used + u.bytes_reserved >= u.bytes_limit; };
    auto u = co_await usage_for_put(user, opts, opts.declared_size ? nullptr : +refuses, 0);
    if (!u) co_return u.error();
    if (!opts.declared_size && refuses(*u, 0)) co_return make_error(Errc::quota_exceeded, "your storage quota is used up");
  }
  t.user = user;
  t.bucket = b;
  t.key = std::move(key);
  t.options = std::move(opts);
  co_return t;
}

asio::awaitable<Result<Usage>> Engine::usage_for_put(UserId user, const PutOptions& opts,
                                                   bool (*refuses)(const Usage&, std::uint64_t), std::uint64_t size) {
  if (opts.known_usage && !(opts.known_usage_may_be_stale && refuses && refuses(*opts.known_usage, size)))
    co_return *opts.known_usage;
  co_return co_await quota_.usage(user);
}

asio::awaitable<std::size_t> BodySource::read_full(char* buf, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    std::size_t k = co_await read(buf + got, n - got);
    if (k == 0) break;
    got += k;
  }
  co_return got;
}

asio::awaitable<Result<ObjectInfo>> Engine::finish_put(PutTicket t, BodySource& body) {
  constexpr std::int64_t kGrowStep = 8 << 20;
  UploadBuffer buf(t.options.declared_size);  // not zeroed: every byte read is written first
  crypto::Md5Stream md5;  // after buf: may still read it while being destroyed
  std::string small;  // the body while it is small enough to keep inline
  std::unique_ptr<BlobWriter> writer;
  std::uint64_t total = 0;
  std::map<std::string, std::string> checksums;
  try {
    for (;;) {
      const std::size_t n = co_await body.read_full(buf.data(), buf.size());
      const bool at_end = n < buf.size();
      if (n == 0) break;
      total += n;
      if (total > opts_.max_object_bytes)
        co_return make_error(Errc::too_large, "the object is larger than the maximum object size");
      // Bodies of unknown size reserve quota as they grow.
      std::int64_t reserved = t.reservation ? t.reservation->bytes() : t.checked_bytes;
      if (std::int64_t(total) > reserved) {
        // In steps of 8 MiB, or of exactly what arrived when a step no longer fits (a body that
        // fits the quota is never refused for the step's sake).
        if (!t.reservation) {
          t.checked_bytes = 0;  // the body outgrew its checked size: reserve like an unknown size
          auto r = co_await quota_.reserve(t.user, std::max<std::int64_t>(kGrowStep, std::int64_t(total)));
          if (!r && r.code() == Errc::quota_exceeded && kGrowStep > std::int64_t(total))
            r = co_await quota_.reserve(t.user, std::int64_t(total));
          if (!r) co_return r.error();
          t.reservation = std::move(r.value());
        } else {
          const std::int64_t need = std::int64_t(total) - reserved;
          auto g = co_await quota_.grow(*t.reservation, std::max<std::int64_t>(kGrowStep, need));
          if (!g && g.code() == Errc::quota_exceeded && kGrowStep > need) g = co_await quota_.grow(*t.reservation, need);
          if (!g) co_return g.error();
        }
      }
      // Hashed in the MD5 farm while the same bytes go to the disk.
      md5.submit(buf.data(), n);
      if (!writer && small.size() + n <= opts_.inline_threshold) {
        small.append(buf.data(), n);
      } else {
        if (!writer) {
          writer = blobs_.create(t.options.declared_size.value_or(0));
          if (!small.empty()) co_await writer->write(small.data(), small.size());
          small.clear();
          small.shrink_to_fit();
        }
        co_await writer->write(buf.data(), n);
      }
      co_await md5.wait();
      if (at_end) break;
    }
    checksums = body.extra_checksums();
  } catch (const BodyError& e) {
    co_return e.error;
  }
  auto etag = crypto::to_hex(md5.finish());
  if (t.options.expected_md5_hex && *t.options.expected_md5_hex != etag)
    co_return make_error(Errc::bad_digest, "the Content-MD5 you specified did not match what we received");
  std::string blob_id;
  if (writer) {
    auto fin = co_await writer->finish();
    if (!fin) co_return fin.error();
    blob_id = writer->id();
  } else {
    blob_id = new_blob_id();
  }

  ObjectInfo info;
  info.bucket = t.bucket.id;
  info.key = t.key;
  info.size = std::int64_t(total);
  info.etag = etag;
  info.content_type = t.options.content_type;
  info.user_meta = t.options.user_meta;
  info.headers = t.options.headers;
  info.checksums = checksums;
  info.blob_id = blob_id;
  auto now = std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
  info.modified = t.options.modified.value_or(now);
  info.created = now;

  bool inline_blob = !writer;
  PutCommit job;
  job.user = t.user;
  job.info = std::move(info);
  job.inline_blob = inline_blob;
  job.small = &small;
  job.conditions = &t.options.conditions;
  job.in_tx = &t.options.in_tx;
  job.reservation = t.reservation.get();
  job.checked_bytes = t.checked_bytes;
  job.verify_access_key = &t.options.verify_access_key;
  job.dav_checks = &t.options.dav_checks;
  co_await committer_->commit(job);
  if (job.failure) {
    if (!inline_blob && !job.outcome_unknown) blobs_.remove(blob_id);
    std::rethrow_exception(job.failure);
  }
  auto res = std::move(*job.result);
  if (t.options.replaced) *t.options.replaced = res && job.replaced;
  auto unlink = std::move(job.unlink);
  if (!res && !inline_blob) blobs_.remove(blob_id);
  co_await blobs_.remove_all(std::move(unlink));
  co_return res;
}

asio::awaitable<Result<std::unique_ptr<BlobReader>>> Engine::open_object(const ObjectInfo& obj, std::uint64_t offset,
                                                                         std::uint64_t length) {
  // A completed S3 multipart upload: its blob is a manifest of part blobs (storage/multipart_store).
  if (obj.parts > 0) co_return co_await open_multipart_object(db_, blobs_, obj, offset, length);
  if (auto cached = inline_cache_->get(obj.blob_id)) co_return make_memory_reader(std::move(*cached), offset, length);
  // Larger than what is stored inline: the blob is a file, no query needed. (If the threshold was
  // lowered since, an older inline object finds no file and is looked up below.)
  if (std::uint64_t(obj.size) > opts_.inline_threshold) {
    auto file = blobs_.open(obj.blob_id, offset, length);
    if (file || file.code() != Errc::not_found) co_return file;
  }
  auto inline_data = co_await db_.read([&](pqxx::transaction_base& w) -> std::optional<std::string> {
    auto r = exec_prepared(w, "engine_inline_data",
                           "SELECT inline_data FROM blobs WHERE id = $1 AND inline_data IS NOT NULL", obj.blob_id);
    if (r.empty()) return std::nullopt;
    pqxx::binarystring bs(r[0][0]);
    return std::string(bs.str());
  });
  if (inline_data)
    co_return make_memory_reader(std::move(*inline_data), offset, length);
  co_return blobs_.open(obj.blob_id, offset, length);
}

asio::awaitable<Result<DeleteResult>> Engine::delete_object(const Bucket& b, std::string key, WriteConditions cond,
                                                            TxHook in_tx) {
  std::vector<std::string> unlink;
  auto res = co_await db_.tx([&](pqxx::work& w) -> Result<DeleteResult> {
    unlink.clear();
    if (cond.if_match || cond.if_none_match_any) {
      auto cur = fetch_object(w, b.id, key, true);
      if (auto c = check_conditions(cond, cur); !c) return c.error();
    }
    auto rel = release_deleted(w, "DELETE FROM objects WHERE bucket_id = $1 AND key = $2 RETURNING blob_id, size", b.id, key);
    QuotaEngine::credit(w, b.owner, rel.bytes, rel.objects);
    if (in_tx) in_tx(w);
    unlink = std::move(rel.unlink);
    return DeleteResult{rel.objects > 0};
  });
  co_await blobs_.remove_all(std::move(unlink));
  co_return res;
}

asio::awaitable<Result<std::vector<Result<DeleteResult>>>> Engine::delete_objects(
    const Bucket& b, std::vector<std::string> keys, KeysHook in_tx, std::vector<std::optional<std::string>> if_match) {
  std::vector<std::string> unlink;
  bool conditional = false;
  for (const auto& m : if_match) conditional = conditional || m.has_value();
  auto res = co_await db_.tx([&](pqxx::work& w) -> Result<std::vector<Result<DeleteResult>>> {
    unlink.clear();
    // The keys' current ETags (locked when a condition reads them), then one statement deletes
    // every key whose condition holds.
    auto existed_rows = w.exec_params(
        std::string("SELECT key, etag FROM objects WHERE bucket_id = $1 AND key = ANY($2::text[])") +
            (conditional ? " FOR UPDATE" : ""),
        b.id, to_pg_text_array(keys));
    std::map<std::string, std::string> existed;
    for (const auto& r : existed_rows) existed.emplace(r[0].as<std::string>(), r[1].as<std::string>());
    std::vector<Result<DeleteResult>> out;
    std::vector<std::string> doomed;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const auto& k = keys[i];
      if (auto v = valid_key(k); !v) {
        out.emplace_back(v.error());
        continue;
      }
      auto it = existed.find(k);
      if (i < if_match.size() && if_match[i]) {
        WriteConditions cond;
        cond.if_match = if_match[i];
        std::optional<ObjectInfo> cur;
        if (it != existed.end()) {
          cur.emplace();
          cur->etag = it->second;
        }
        if (auto c = check_conditions(cond, cur); !c) {
          out.emplace_back(c.error());
          continue;
        }
      }
      out.emplace_back(DeleteResult{it != existed.end()});
      doomed.push_back(k);
    }
    auto rel = release_deleted(w, "DELETE FROM objects WHERE bucket_id = $1 AND key = ANY($2::text[]) RETURNING blob_id, size",
                               b.id, to_pg_text_array(doomed));
    QuotaEngine::credit(w, b.owner, rel.bytes, rel.objects);
    if (in_tx) in_tx(w, doomed);
    unlink = std::move(rel.unlink);
    return out;
  });
  co_await blobs_.remove_all(std::move(unlink));
  co_return res;
}

asio::awaitable<Result<std::int64_t>> Engine::delete_prefix(const Bucket& b, std::string prefix, TxHook in_tx) {
  std::vector<std::string> unlink;
  auto upper = upper_or_max(prefix);
  auto res = co_await db_.tx([&](pqxx::work& w) -> Result<std::int64_t> {
    auto rel = release_deleted(
        w, "DELETE FROM objects WHERE bucket_id = $1 AND key >= $2 AND key < $3 RETURNING blob_id, size", b.id, prefix, upper);
    QuotaEngine::credit(w, b.owner, rel.bytes, rel.objects);
    if (in_tx) in_tx(w);
    unlink = std::move(rel.unlink);
    return rel.objects;
  });
  co_await blobs_.remove_all(std::move(unlink));
  co_return res;
}

std::vector<std::string> Engine::delete_in(pqxx::transaction_base& tb, const Bucket& b, const std::string& key,
                                           bool prefix, const std::string& keep) {
  // Hooks run inside Database::tx, whose transaction is a pqxx::work.
  auto& w = dynamic_cast<pqxx::work&>(tb);
  Released rel;
  if (!prefix)
    rel = release_deleted(w, "DELETE FROM objects WHERE bucket_id = $1 AND key = $2 RETURNING blob_id, size", b.id, key);
  else
    rel = release_deleted(w,
                          "DELETE FROM objects WHERE bucket_id = $1 AND key >= $2 AND key < $3 AND key <> $4 "
                          "RETURNING blob_id, size",
                          b.id, key, upper_or_max(key), keep);
  QuotaEngine::credit(w, b.owner, rel.bytes, rel.objects);
  return std::move(rel.unlink);
}

asio::awaitable<Result<ObjectInfo>> Engine::copy_object(UserId user, const Bucket& src, std::string src_key,
                                                        const Bucket& dst, std::string dst_key, CopyOptions opts) {
  if (auto v = valid_key(dst_key); !v) co_return v.error();
  std::vector<std::string> unlink;
  auto res = co_await db_.tx([&](pqxx::work& w) -> Result<ObjectInfo> {
    unlink.clear();
    return catch_tx([&]() -> Result<ObjectInfo> {
      // Both keys' locks (in one order, so two crossed copies cannot deadlock), then the source
      // row locked until the copy commits: a PUT or DELETE that replaces the source waits, so the
      // blob counted below is the blob the new row points at and the size charged is its size.
      bool self = src.id == dst.id && src_key == dst_key;
      if (std::tie(src.id, src_key) < std::tie(dst.id, dst_key)) {
        lock_key(w, src.id, src_key);
        lock_key(w, dst.id, dst_key);
      } else {
        lock_key(w, dst.id, dst_key);
        if (!self) lock_key(w, src.id, src_key);
      }
      auto source = fetch_object(w, src.id, src_key, true);
      if (!source) return make_error(Errc::no_such_key, "the source object does not exist");
      if (opts.source_etag && *opts.source_etag != source->etag)
        return make_error(Errc::precondition_failed, "the source object changed during the copy");
      auto old = self ? source : fetch_object(w, dst.id, dst_key, true);
      if (auto c = check_conditions(opts.dest_conditions, old); !c) return c.error();
      ObjectInfo info = *source;
      info.bucket = dst.id;
      info.key = dst_key;
      auto now = std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
      info.modified = now;
      info.created = now;
      if (opts.directive == MetadataDirective::replace) {
        info.content_type = opts.replacement.content_type;
        info.user_meta = opts.replacement.user_meta;
        info.headers = opts.replacement.headers;
        if (opts.replacement.modified) info.modified = *opts.replacement.modified;
      }
      std::optional<std::string> new_sums;
      if (opts.checksums) {
        info.checksums = *opts.checksums;
        new_sums = map_to_json(info.checksums);
      }
      if (self) {
        // Self-copy (S3 REPLACE, or a new checksum): only metadata changes; blob and usage stay.
        w.exec_params("UPDATE objects SET content_type = $3, user_meta = $4::jsonb, headers = $5::jsonb, "
                      "modified_at = to_timestamp($6::double precision / 1000000), "
                      "checksums = COALESCE($7::jsonb, checksums) WHERE bucket_id = $1 AND key = $2",
                      dst.id, dst_key, info.content_type, map_to_json(info.user_meta), map_to_json(info.headers),
                      double(to_micros(info.modified)), new_sums);
        return info;
      }
      w.exec_params("UPDATE blobs SET refcount = refcount + 1 WHERE id = $1", info.blob_id);
      Released rel;
      if (old)
        rel = release_deleted(w, "DELETE FROM objects WHERE bucket_id = $1 AND key = $2 RETURNING blob_id, size", dst.id,
                              dst_key);
      w.exec_params(
          "INSERT INTO objects (bucket_id, key, blob_id, size, etag, content_type, user_meta, headers, checksums, parts, "
          "part_sizes, modified_at, created_at) SELECT $1, $2, blob_id, size, etag, $3, $4::jsonb, $5::jsonb, "
          "COALESCE($10::jsonb, checksums), parts, part_sizes, to_timestamp($6::double precision / 1000000), "
          "to_timestamp($7::double precision / 1000000) FROM objects WHERE bucket_id = $8 AND key = $9",
          dst.id, dst_key, info.content_type, map_to_json(info.user_meta), map_to_json(info.headers),
          double(to_micros(info.modified)), double(to_micros(info.created)), src.id, src_key, new_sums);
      auto q = QuotaEngine::charge(w, dst.owner, info.size - rel.bytes, 1 - rel.objects);
      if (!q) throw TxError(q.error());
      if (opts.in_tx) opts.in_tx(w);
      unlink = std::move(rel.unlink);
      return info;
    });
  });
  co_await blobs_.remove_all(std::move(unlink));
  co_return res;
}

namespace {
// A tree copied or moved under a longer prefix must not make a key past the limit (GET and
// DELETE could not name it after).
void check_prefix_key_lengths(pqxx::work& w, BucketId src, const std::string& src_prefix, const std::string& src_upper,
                              const std::string& dst_prefix) {
  if (dst_prefix.size() <= src_prefix.size()) return;
  auto longest = std::int64_t(Engine::max_key_bytes) - std::int64_t(dst_prefix.size() - src_prefix.size());
  auto r = w.exec_params("SELECT 1 FROM objects WHERE bucket_id = $1 AND key >= $2 AND key < $3 AND octet_length(key) > $4 "
                         "LIMIT 1",
                         src, src_prefix, src_upper, longest);
  if (!r.empty()) throw TxError(make_error(Errc::too_large, "a key there would be longer than 1024 bytes"));
}
}  // namespace

asio::awaitable<Result<std::int64_t>> Engine::copy_prefix(UserId user, const Bucket& src, std::string src_prefix,
                                                          const Bucket& dst, std::string dst_prefix, bool overwrite,
                                                          TxHook in_tx) {
  std::vector<std::string> unlink;
  auto src_upper = upper_or_max(src_prefix);
  auto dst_upper = upper_or_max(dst_prefix);
  auto res = co_await db_.tx([&](pqxx::work& w) -> Result<std::int64_t> {
    unlink.clear();
    return catch_tx([&]() -> Result<std::int64_t> {
      check_prefix_key_lengths(w, src.id, src_prefix, src_upper, dst_prefix);
      Released rel;
      if (overwrite)
        rel = release_deleted(w,
                              "DELETE FROM objects WHERE bucket_id = $1 AND key >= $2 AND key < $3 RETURNING blob_id, size",
                              dst.id, dst_prefix, dst_upper);
      // The source rows are locked while they are copied: a PUT or DELETE that replaces one waits,
      // so the blob each copy counts a reference to is still there at commit.
      auto ins = w.exec_params(
          "WITH s AS (SELECT key, blob_id, size, etag, content_type, user_meta, headers, checksums, parts, part_sizes, "
          "modified_at FROM objects WHERE bucket_id = $4 AND key >= $3 AND key < $5 FOR SHARE), "
          "c AS (INSERT INTO objects (bucket_id, key, blob_id, size, etag, content_type, user_meta, headers, "
          "checksums, parts, part_sizes, modified_at, created_at) "
          "SELECT $1, $2 || substr(key, length($3) + 1), blob_id, size, etag, content_type, user_meta, headers, "
          "checksums, parts, part_sizes, modified_at, now() FROM s "
          "ON CONFLICT (bucket_id, key) DO NOTHING RETURNING blob_id, size), "
          "g AS (SELECT blob_id, count(*) AS n FROM c GROUP BY blob_id), "
          "u AS (UPDATE blobs SET refcount = blobs.refcount + g.n FROM g WHERE blobs.id = g.blob_id RETURNING 1) "
          "SELECT count(*), COALESCE(sum(size), 0)::bigint, (SELECT count(*) FROM u) FROM c",
          dst.id, dst_prefix, src_prefix, src.id, src_upper);
      auto copied = ins[0][0].as<std::int64_t>();
      auto bytes = ins[0][1].as<std::int64_t>();
      auto q = QuotaEngine::charge(w, dst.owner, bytes - rel.bytes, copied - rel.objects);
      if (!q) throw TxError(q.error());
      if (in_tx) in_tx(w);
      unlink = std::move(rel.unlink);
      return copied;
    });
  });
  co_await blobs_.remove_all(std::move(unlink));
  co_return res;
}

asio::awaitable<Result<ObjectInfo>> Engine::rename_object(const Bucket& src, std::string src_key, const Bucket& dst,
                                                          std::string dst_key, bool overwrite, TxHook in_tx) {
  if (auto v = valid_key(dst_key); !v) co_return v.error();
  std::vector<std::string> unlink;
  auto res = co_await db_.tx([&](pqxx::work& w) -> Result<ObjectInfo> {
    unlink.clear();
    return catch_tx([&]() -> Result<ObjectInfo> {
      lock_key(w, dst.id, dst_key);
      auto source = fetch_object(w, src.id, src_key, true);
      if (!source) return make_error(Errc::no_such_key, "the source object does not exist");
      if (src.id == dst.id && src_key == dst_key) return *source;
      auto old = fetch_object(w, dst.id, dst_key, true);
      Released rel;
      if (old) {
        if (!overwrite) return make_error(Errc::already_exists, "the destination exists");
        rel = release_deleted(w, "DELETE FROM objects WHERE bucket_id = $1 AND key = $2 RETURNING blob_id, size", dst.id,
                              dst_key);
        QuotaEngine::credit(w, dst.owner, rel.bytes, rel.objects);
      }
      w.exec_params("UPDATE objects SET bucket_id = $1, key = $2 WHERE bucket_id = $3 AND key = $4", dst.id, dst_key,
                    src.id, src_key);
      if (src.owner != dst.owner) {
        QuotaEngine::credit(w, src.owner, source->size, 1);
        auto q = QuotaEngine::charge(w, dst.owner, source->size, 1);
        if (!q) throw TxError(q.error());
      }
      if (in_tx) in_tx(w);
      unlink = std::move(rel.unlink);
      auto moved = *source;
      moved.bucket = dst.id;
      moved.key = dst_key;
      return moved;
    });
  });
  co_await blobs_.remove_all(std::move(unlink));
  co_return res;
}

asio::awaitable<Result<std::int64_t>> Engine::rename_prefix(const Bucket& src, std::string src_prefix, const Bucket& dst,
                                                            std::string dst_prefix, bool overwrite, TxHook in_tx) {
  std::vector<std::string> unlink;
  auto src_upper = upper_or_max(src_prefix);
  auto dst_upper = upper_or_max(dst_prefix);
  auto res = co_await db_.tx([&](pqxx::work& w) -> Result<std::int64_t> {
    unlink.clear();
    return catch_tx([&]() -> Result<std::int64_t> {
      check_prefix_key_lengths(w, src.id, src_prefix, src_upper, dst_prefix);
      Released rel;
      if (overwrite) {
        rel = release_deleted(w,
                              "DELETE FROM objects WHERE bucket_id = $1 AND key >= $2 AND key < $3 RETURNING blob_id, size",
                              dst.id, dst_prefix, dst_upper);
        QuotaEngine::credit(w, dst.owner, rel.bytes, rel.objects);
      }
      pqxx::result moved;
      try {
        pqxx::subtransaction sub(w);
        moved = sub.exec_params(
            "WITH m AS (UPDATE objects SET bucket_id = $1, key = $2 || substr(key, length($3) + 1) "
            "WHERE bucket_id = $4 AND key >= $3 AND key < $5 RETURNING size) "
            "SELECT count(*), COALESCE(sum(size), 0)::bigint FROM m",
            dst.id, dst_prefix, src_prefix, src.id, src_upper);
        sub.commit();
      } catch (const pqxx::unique_violation&) {
        throw TxError(make_error(Errc::already_exists, "a destination key exists"));
      }
      auto n = moved[0][0].as<std::int64_t>();
      if (src.owner != dst.owner) {
        auto bytes = moved[0][1].as<std::int64_t>();
        QuotaEngine::credit(w, src.owner, bytes, n);
        auto q = QuotaEngine::charge(w, dst.owner, bytes, n);
        if (!q) throw TxError(q.error());
      }
      if (in_tx) in_tx(w);
      unlink = std::move(rel.unlink);
      return n;
    });
  });
  co_await blobs_.remove_all(std::move(unlink));
  co_return res;
}

asio::awaitable<Result<ObjectInfo>> Engine::set_modified(const Bucket& b, std::string key, TimePoint when) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<ObjectInfo> {
    w.exec_params("UPDATE objects SET modified_at = to_timestamp($3::double precision / 1000000) WHERE bucket_id = $1 AND key = $2",
                  b.id, key, double(to_micros(when)));
    auto o = fetch_object(w, b.id, key, false);
    if (!o) return make_error(Errc::no_such_key, "the object does not exist");
    return *o;
  });
}

asio::awaitable<Result<bool>> Engine::prefix_exists(const Bucket& b, std::string prefix) {
  auto upper = upper_or_max(prefix);
  co_return co_await db_.read([&](pqxx::transaction_base& w) -> Result<bool> {
    auto r = w.exec_params("SELECT 1 FROM objects WHERE bucket_id = $1 AND key >= $2 AND key < $3 LIMIT 1", b.id, prefix,
                           upper);
    return !r.empty();
  });
}

asio::awaitable<Result<ListPage>> Engine::list(const Bucket& b, ListQuery q) {
  if (q.max_keys < 0) co_return make_error(Errc::invalid_argument, "max-keys must not be negative");
  // The walk below jumps past a common prefix to the next code point after the delimiter's
  // last (U+D7FF is followed by U+E000, past the surrogates); after U+10FFFF there is none.
  if (q.delimiter.ends_with("\xF4\x8F\xBF\xBF"))
    co_return make_error(Errc::invalid_argument, "a delimiter may not end with U+10FFFF");
  int max = std::min(q.max_keys, 1000);
  ListPage page;
  if (max == 0) co_return page;
  auto upper = upper_or_max(q.prefix);
  std::string start = q.start_after;
  // The start key: strictly after start_after, and no lower than the prefix.
  bool start_inclusive = false;
  if (start < q.prefix) {
    start = q.prefix;
    start_inclusive = true;
  }
  if (!q.delimiter.empty() && !start_inclusive && start.size() > q.prefix.size() && start.starts_with(q.prefix) &&
      start.ends_with(q.delimiter) &&
      start.find(q.delimiter, q.prefix.size()) == start.size() - q.delimiter.size()) {
    // Continuing after a common prefix: skip the whole group.
    if (auto u = prefix_upper_bound(start)) {
      start = *u;
      start_inclusive = true;
    }
  }
  // A plain range scan first. Without a delimiter it is the page; with one, the keys before the
  // first one that has the delimiter after the prefix are entries as they are, and the loose index
  // scan takes over only from that key on (a page of plain keys under a prefix costs one range
  // scan, not one probe per key).
  struct Scanned {
    pqxx::result plain;
    std::size_t plain_used = 0;  // rows of plain that are entries
    pqxx::result walk;           // from the first grouped key on
  };
  auto rows = co_await db_.read([&](pqxx::transaction_base& w) {
    Scanned s;
    std::string cmp = start_inclusive ? ">=" : ">";
    s.plain = w.exec_params(std::string("SELECT NULL::text, ") + kObjectColumns +
                                " FROM objects o WHERE o.bucket_id = $1 AND o.key " + cmp +
                                " $2 AND o.key >= $3 AND o.key < $4 ORDER BY o.key LIMIT $5",
                            b.id, start, q.prefix, upper, max + 1);
    std::string from;
    for (; s.plain_used < s.plain.size(); ++s.plain_used) {
      const auto& f = s.plain[static_cast<pqxx::result::size_type>(s.plain_used)][2];
      std::string_view k(f.c_str(), f.size());
      if (!q.delimiter.empty() && k.find(q.delimiter, q.prefix.size()) != std::string_view::npos) {
        from = std::string(k);
        break;
      }
    }
    if (from.empty()) return s;
    // Loose index scan: each step is one index probe for the next key, jumping past a whole
    // common-prefix group (prefix + X + delimiter) instead of reading its keys. The jump must be
    // one lower bound of the index condition (COALESCE), not an OR in a filter: a filter made
    // every step read the whole group (480 ms for a root page of 1M keys). Each step carries the
    // object's columns, so a plain key costs no second probe.
    const std::string cp_of =
        "CASE WHEN strpos(substr(o.key, length($3) + 1), $6) > 0"
        " THEN substr(o.key, 1, length($3) + strpos(substr(o.key, length($3) + 1), $6) - 1 + length($6)) END, o.key, ";
    std::string sql = std::string(
        "WITH RECURSIVE walk(cp, k, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12) AS ("
        " (SELECT ") + cp_of + kObjectColumns + " FROM objects o WHERE o.bucket_id = $1 AND o.key >= $2"
        " AND o.key >= $3 AND o.key < $4 ORDER BY o.key LIMIT 1)"
        " UNION ALL"
        " SELECT n.* FROM walk w CROSS JOIN LATERAL (SELECT " + cp_of + kObjectColumns +
        "   FROM objects o WHERE o.bucket_id = $1 AND o.key < $4 AND o.key > w.k"
        "   AND o.key >= COALESCE(left(w.cp, -1) || chr(CASE ascii(right(w.cp, 1)) WHEN 55295 THEN 57344"
        "     ELSE ascii(right(w.cp, 1)) + 1 END), $3)"
        "   ORDER BY o.key LIMIT 1) n"
        ") "
        "SELECT cp, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12 FROM (SELECT * FROM walk LIMIT $5) w ORDER BY k";
    s.walk = w.exec_params(sql, b.id, from, q.prefix, upper, max + 1 - static_cast<int>(s.plain_used), q.delimiter);
    return s;
  });
  // Appends one row; false once the page is full (then it is truncated).
  auto take = [&](const pqxx::row& r) {
    if (int(page.entries.size()) == max) {
      page.truncated = true;
      return false;
    }
    ListEntry e;
    if (!r[0].is_null()) {
      e.is_prefix = true;
      e.key = r[0].as<std::string>();
    } else {
      e.object = object_from_row(r, 1);
      e.key = e.object.key;
    }
    page.entries.push_back(std::move(e));
    return true;
  };
  bool room = true;
  for (std::size_t i = 0; room && i < rows.plain_used; ++i) room = take(rows.plain[static_cast<pqxx::result::size_type>(i)]);
  for (std::size_t i = 0; room && i < static_cast<std::size_t>(rows.walk.size()); ++i)
    room = take(rows.walk[static_cast<pqxx::result::size_type>(i)]);
  if (!page.entries.empty()) page.next_marker = page.entries.back().key;
  co_return page;
}

asio::awaitable<Result<ListPage>> Engine::search(const Bucket& b, std::string prefix, std::string needle,
                                               std::string start_after, int max_keys, int scan_limit) {
  int max = std::clamp(max_keys, 1, 1000);
  scan_limit = std::max(scan_limit, max);
  auto upper = upper_or_max(prefix);
  ListPage page;
  std::int64_t scanned = 0;
  std::string last_scanned;
  auto rows = co_await db_.tx([&](pqxx::work& w) {
    const std::string window =
        "(SELECT * FROM objects o WHERE o.bucket_id = $1 AND o.key > $2 AND o.key >= $3 AND o.key < $4 "
        "ORDER BY o.key LIMIT $5) o";
    auto hits = w.exec_params(std::string("SELECT ") + kObjectColumns + " FROM " + window +
                                  " WHERE strpos(lower(substr(o.key, length($3) + 1)), lower($6)) > 0 ORDER BY o.key LIMIT $7",
                              b.id, start_after, prefix, upper, scan_limit, needle, max + 1);
    auto span = w.exec_params("SELECT count(*), max(o.key) FROM " + window, b.id, start_after, prefix, upper, scan_limit);
    scanned = span[0][0].as<std::int64_t>();
    if (!span[0][1].is_null()) last_scanned = span[0][1].as<std::string>();
    return hits;
  });
  for (const auto& r : rows) {
    if (int(page.entries.size()) == max) {
      page.truncated = true;
      break;
    }
    ListEntry e;
    e.object = object_from_row(r, 0);
    e.key = e.object.key;
    page.entries.push_back(std::move(e));
  }
  if (page.truncated) {
    page.next_marker = page.entries.back().key;
  } else if (scanned == scan_limit) {
    page.truncated = true;  // the window ended before the prefix did: continue after it
    page.next_marker = last_scanned;
  }
  co_return page;
}

}  // namespace depot::storage
