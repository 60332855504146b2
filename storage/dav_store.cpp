#include "storage/dav_store.hpp"

#include <openssl/rand.h>

#include "storage/db.hpp"
#include "storage/object_rows.hpp"

namespace depot::storage {

namespace asio = boost::asio;

namespace {

// Shared locks one resource may carry (with an owner of up to 4 KiB each, its lockdiscovery stays
// small enough for every PROPFIND that lists it).
constexpr std::size_t kMaxSharedLocks = 32;

constexpr const char* kLockColumns =
    "token, user_id, root, depth_infinity, exclusive, owner_xml, timeout_s, "
    "(extract(epoch from expires_at) * 1000000)::bigint";

DavLock lock_from_row(const pqxx::row& r) {
  DavLock l;
  l.token = r[0].as<std::string>();
  l.user = r[1].as<UserId>();
  l.root = r[2].as<std::string>();
  l.depth_infinity = r[3].as<bool>();
  l.exclusive = r[4].as<bool>();
  l.owner_xml = r[5].as<std::string>();
  l.timeout_s = r[6].as<std::int64_t>();
  l.expires = from_micros(r[7].as<std::int64_t>());
  return l;
}

std::vector<DavLock> locks_from(const pqxx::result& rows) {
  std::vector<DavLock> out;
  for (const auto& r : rows) out.push_back(lock_from_row(r));
  return out;
}

std::string upper_bound_or_max(const std::string& prefix) {
  auto u = prefix_upper_bound(prefix);
  return u ? *u : std::string(1, '\xff') + std::string(1, '\xff');
}

pqxx::result covering(pqxx::transaction_base& w, const std::string& path) {
  static const std::string sql = std::string("SELECT ") + kLockColumns +
                                 " FROM dav_locks WHERE root = ANY($1::text[]) AND expires_at > now() "
                                 "AND (root = $2 OR depth_infinity)";
  return exec_prepared(w, "dav_locks_covering", sql.c_str(), to_pg_text_array(DavStore::ancestors_and_self(path)), path);
}

pqxx::result below(pqxx::work& w, const std::string& path) {
  return w.exec_params(std::string("SELECT ") + kLockColumns +
                           " FROM dav_locks WHERE root > $1 AND root < $2 AND expires_at > now()",
                       path, upper_bound_or_max(path));
}

std::string new_lock_token() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;  // UUID version 4
  b[8] = (b[8] & 0x3f) | 0x80;
  static const char* hex = "0123456789abcdef";
  std::string s = "opaquelocktoken:";
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += hex[b[i] >> 4];
    s += hex[b[i] & 15];
  }
  return s;
}

}  // namespace

std::vector<std::string> DavStore::ancestors_and_self(const std::string& path) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < path.size(); ++i)
    if (path[i] == '/' && i + 1 < path.size()) out.push_back(path.substr(0, i + 1));
  out.push_back(path);
  return out;
}

// ---------------------------------------------------------------- dead properties

asio::awaitable<Result<std::vector<DeadProp>>> DavStore::props(BucketId b, std::string key) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<std::vector<DeadProp>> {
    std::vector<DeadProp> out;
    for (const auto& r : w.exec_params("SELECT ns, name, value, lang FROM dav_props WHERE bucket_id = $1 AND key = $2 "
                                       "ORDER BY ns, name",
                                       b, key))
      out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>()});
    return out;
  });
}

asio::awaitable<Result<std::map<std::string, std::vector<DeadProp>>>> DavStore::props_of(BucketId b,
                                                                                        std::vector<std::string> keys) {
  using M = std::map<std::string, std::vector<DeadProp>>;
  if (keys.empty()) co_return M{};
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<M> {
    M out;
    for (const auto& r : w.exec_params("SELECT key, ns, name, value, lang FROM dav_props WHERE bucket_id = $1 AND "
                                       "key = ANY($2::text[]) ORDER BY key, ns, name",
                                       b, to_pg_text_array(keys)))
      out[r[0].as<std::string>()].push_back(
          {r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>(), r[4].as<std::string>()});
    return out;
  });
}

asio::awaitable<Result<void>> DavStore::patch_props(BucketId b, std::string key, std::vector<PropChange> changes) {
  struct TooMany {};  // thrown to roll the transaction back
  try {
    co_await db_.tx([&](pqxx::work& w) {
      for (const auto& c : changes) {
        if (c.remove) {
          w.exec_params("DELETE FROM dav_props WHERE bucket_id = $1 AND key = $2 AND ns = $3 AND name = $4", b, key,
                        c.prop.ns, c.prop.name);
        } else {
          w.exec_params(
              "INSERT INTO dav_props (bucket_id, key, ns, name, value, lang) VALUES ($1, $2, $3, $4, $5, $6) "
              "ON CONFLICT (bucket_id, key, ns, name) DO UPDATE SET value = EXCLUDED.value, lang = EXCLUDED.lang",
              b, key, c.prop.ns, c.prop.name, c.prop.value_xml, c.prop.lang);
        }
      }
      auto n = w.exec_params("SELECT count(*) FROM dav_props WHERE bucket_id = $1 AND key = $2", b, key)[0][0].as<int>();
      if (n > max_props_per_resource) throw TooMany{};
    });
  } catch (const TooMany&) {
    co_return make_error(Errc::too_large, "too many dead properties on one resource");
  }
  co_return Result<void>{};
}

void DavStore::move_props_in(pqxx::transaction_base& w, BucketId src, const std::string& src_key, BucketId dst,
                             const std::string& dst_key, bool prefix) {
  if (prefix) {
    w.exec_params("DELETE FROM dav_props WHERE bucket_id = $1 AND key >= $2 AND key < $3", dst, dst_key,
                  upper_bound_or_max(dst_key));
    w.exec_params("UPDATE dav_props SET bucket_id = $1, key = $2 || substr(key, length($3) + 1) "
                  "WHERE bucket_id = $4 AND key >= $3 AND key < $5",
                  dst, dst_key, src_key, src, upper_bound_or_max(src_key));
  } else {
    w.exec_params("DELETE FROM dav_props WHERE bucket_id = $1 AND key = $2", dst, dst_key);
    w.exec_params("UPDATE dav_props SET bucket_id = $1, key = $2 WHERE bucket_id = $3 AND key = $4", dst, dst_key, src,
                  src_key);
  }
}

void DavStore::copy_props_in(pqxx::transaction_base& w, BucketId src, const std::string& src_key, BucketId dst,
                             const std::string& dst_key, bool prefix) {
  if (prefix) {
    w.exec_params("DELETE FROM dav_props WHERE bucket_id = $1 AND key >= $2 AND key < $3", dst, dst_key,
                  upper_bound_or_max(dst_key));
    w.exec_params("INSERT INTO dav_props (bucket_id, key, ns, name, value, lang) "
                  "SELECT $1, $2 || substr(key, length($3) + 1), ns, name, value, lang FROM dav_props "
                  "WHERE bucket_id = $4 AND key >= $3 AND key < $5",
                  dst, dst_key, src_key, src, upper_bound_or_max(src_key));
  } else {
    w.exec_params("DELETE FROM dav_props WHERE bucket_id = $1 AND key = $2", dst, dst_key);
    w.exec_params("INSERT INTO dav_props (bucket_id, key, ns, name, value, lang) "
                  "SELECT $1, $2, ns, name, value, lang FROM dav_props WHERE bucket_id = $3 AND key = $4",
                  dst, dst_key, src, src_key);
  }
}

void DavStore::delete_props_in(pqxx::transaction_base& w, BucketId b, const std::string& key, bool prefix) {
  if (prefix)
    w.exec_params("DELETE FROM dav_props WHERE bucket_id = $1 AND key >= $2 AND key < $3", b, key,
                  upper_bound_or_max(key));
  else
    w.exec_params("DELETE FROM dav_props WHERE bucket_id = $1 AND key = $2", b, key);
}

void DavStore::delete_props_of_in(pqxx::transaction_base& w, BucketId b, const std::vector<std::string>& keys) {
  w.exec_params("DELETE FROM dav_props WHERE bucket_id = $1 AND key = ANY($2::text[])", b, to_pg_text_array(keys));
}

void DavStore::remove_locks_in(pqxx::transaction_base& w, const std::string& path, bool prefix) {
  if (prefix)
    w.exec_params("DELETE FROM dav_locks WHERE root >= $1 AND root < $2", path, upper_bound_or_max(path));
  else
    w.exec_params("DELETE FROM dav_locks WHERE root = $1", path);
}

asio::awaitable<Result<void>> DavStore::move_props(BucketId src, std::string src_key, BucketId dst, std::string dst_key,
                                                   bool prefix) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    move_props_in(w, src, src_key, dst, dst_key, prefix);
    return {};
  });
}

asio::awaitable<Result<void>> DavStore::copy_props(BucketId src, std::string src_key, BucketId dst, std::string dst_key,
                                                   bool prefix) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    copy_props_in(w, src, src_key, dst, dst_key, prefix);
    return {};
  });
}

asio::awaitable<Result<void>> DavStore::delete_props(BucketId b, std::string key, bool prefix) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    delete_props_in(w, b, key, prefix);
    return {};
  });
}

// ---------------------------------------------------------------- locks

asio::awaitable<Result<std::vector<DavLock>>> DavStore::locks_covering(std::string path) {
  // Every write checks the locks above it: one prepared read, no transaction.
  co_return co_await db_.read(
      [&](pqxx::transaction_base& w) -> Result<std::vector<DavLock>> { return locks_from(covering(w, path)); });
}

asio::awaitable<Result<std::vector<DavLock>>> DavStore::locks_below(std::string path) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<std::vector<DavLock>> { return locks_from(below(w, path)); });
}

asio::awaitable<Result<DavLock>> DavStore::create_lock(DavLock lock) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<DavLock> {
    // One advisory lock serialises lock creation across servers (locks are few and short).
    w.exec("SELECT pg_advisory_xact_lock(4918)");
    w.exec("DELETE FROM dav_locks WHERE expires_at < now() - interval '1 hour'");
    std::vector<DavLock> existing = locks_from(covering(w, lock.root));
    if (lock.depth_infinity && !lock.root.empty() && lock.root.back() == '/') {
      auto more = locks_from(below(w, lock.root));
      existing.insert(existing.end(), more.begin(), more.end());
    }
    for (const auto& l : existing)
      if (l.exclusive || lock.exclusive) return make_error(Errc::locked, "the resource is locked");
    // Shared locks are bounded: every PROPFIND of the resource lists them all.
    if (existing.size() >= kMaxSharedLocks) return make_error(Errc::locked, "too many locks on the resource");
    lock.token = new_lock_token();
    auto r = w.exec_params(std::string("INSERT INTO dav_locks (token, user_id, root, depth_infinity, exclusive, "
                                       "owner_xml, timeout_s, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                                       "now() + $7::bigint * interval '1 second') RETURNING ") +
                               kLockColumns,
                           lock.token, lock.user, lock.root, lock.depth_infinity, lock.exclusive, lock.owner_xml,
                           lock.timeout_s);
    return lock_from_row(r[0]);
  });
}

asio::awaitable<Result<DavLock>> DavStore::refresh_lock(std::string token, std::string path, std::int64_t timeout_s) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<DavLock> {
    for (const auto& l : locks_from(covering(w, path))) {
      if (l.token != token) continue;
      auto r = w.exec_params(std::string("UPDATE dav_locks SET timeout_s = $2::bigint, expires_at = now() + "
                                         "$2::bigint * interval '1 second' WHERE token = $1 RETURNING ") +
                                 kLockColumns,
                             token, timeout_s);
      return lock_from_row(r[0]);
    }
    return make_error(Errc::not_found, "no such lock on this resource");
  });
}

asio::awaitable<Result<void>> DavStore::remove_lock(std::string token, std::string path) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    for (const auto& l : locks_from(covering(w, path))) {
      if (l.token != token) continue;
      w.exec_params("DELETE FROM dav_locks WHERE token = $1", token);
      return {};
    }
    return make_error(Errc::not_found, "no such lock on this resource");
  });
}

asio::awaitable<Result<void>> DavStore::remove_locks(std::string path, bool prefix) {
  co_return co_await db_.tx([&](pqxx::work& w) -> Result<void> {
    remove_locks_in(w, path, prefix);
    return {};
  });
}

}  // namespace depot::storage
