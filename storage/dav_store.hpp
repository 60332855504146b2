// DavStore: the WebDAV state the engine does not model, in PostgreSQL so that every server sees
// the same: dead properties (RFC 4918 section 4) and write locks (section 6).
//
// Resources are named two ways. Dead properties hang off (bucket id, key) where a bucket root is
// key "" and a collection is its marker key "dir/". Locks hang off the decoded URL path below
// /dav: "/" (the user's root), "/bucket/", "/bucket/dir/", "/bucket/file"; they survive the
// absence of the resource (a lock on an unmapped URL) and do not follow MOVE or COPY.
// Thread-safety: all methods may be called concurrently.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "src/result.hpp"
#include "storage/types.hpp"

namespace pqxx { class transaction_base; }

namespace depot::storage {

class Database;

struct DeadProp {
  std::string ns;
  std::string name;
  std::string value_xml;  // self-contained XML content
  std::string lang;       // xml:lang, may be empty
};

struct PropChange {
  bool remove = false;
  DeadProp prop;
};

struct DavLock {
  std::string token;  // "opaquelocktoken:<uuid>"
  UserId user = 0;
  std::string root;   // see above
  bool depth_infinity = false;
  bool exclusive = true;
  std::string owner_xml;
  std::int64_t timeout_s = 0;
  TimePoint expires;
};

class DavStore {
 public:
  explicit DavStore(Database& db) : db_(db) {}

  // ---- dead properties ----
  boost::asio::awaitable<Result<std::vector<DeadProp>>> props(BucketId b, std::string key);
  // The dead properties of several keys of one bucket in one query (a PROPFIND page).
  boost::asio::awaitable<Result<std::map<std::string, std::vector<DeadProp>>>> props_of(BucketId b,
                                                                                       std::vector<std::string> keys);
  // Applies every change in order, in one transaction (all or nothing). too_large when the
  // resource would carry more than max_props_per_resource properties.
  boost::asio::awaitable<Result<void>> patch_props(BucketId b, std::string key, std::vector<PropChange> changes);
  // With prefix, every key starting with src_key moves/copies to dst_key + rest; otherwise the
  // one key. A copy or move replaces the destination's properties.
  boost::asio::awaitable<Result<void>> move_props(BucketId src, std::string src_key, BucketId dst, std::string dst_key,
                                                  bool prefix);
  boost::asio::awaitable<Result<void>> copy_props(BucketId src, std::string src_key, BucketId dst, std::string dst_key,
                                                  bool prefix);
  boost::asio::awaitable<Result<void>> delete_props(BucketId b, std::string key, bool prefix);

  // ---- locks ----
  // Unexpired locks whose scope includes path: a lock rooted at path, or a depth-infinity lock
  // rooted at an ancestor collection.
  boost::asio::awaitable<Result<std::vector<DavLock>>> locks_covering(std::string path);
  // Unexpired locks rooted strictly below collection path (which ends in '/').
  boost::asio::awaitable<Result<std::vector<DavLock>>> locks_below(std::string path);
  // Creates a lock unless it conflicts with one covering its root or (depth infinity) rooted
  // below it: locked then. Checked and inserted under one advisory lock, so two servers cannot
  // both grant conflicting locks.
  boost::asio::awaitable<Result<DavLock>> create_lock(DavLock lock);
  // Extends the lock with this token if it covers path; not_found otherwise.
  boost::asio::awaitable<Result<DavLock>> refresh_lock(std::string token, std::string path, std::int64_t timeout_s);
  // Removes the lock with this token if it covers path; not_found otherwise.
  boost::asio::awaitable<Result<void>> remove_lock(std::string token, std::string path);
  // Removes every lock rooted at path, and with prefix every lock rooted below it (DELETE, MOVE).
  boost::asio::awaitable<Result<void>> remove_locks(std::string path, bool prefix);

  // The same changes inside a caller's transaction, so that they commit or roll back with the
  // engine change they belong to (an Engine TxHook): DELETE, MOVE and COPY of the keys.
  static void move_props_in(pqxx::transaction_base& w, BucketId src, const std::string& src_key, BucketId dst,
                            const std::string& dst_key, bool prefix);
  static void copy_props_in(pqxx::transaction_base& w, BucketId src, const std::string& src_key, BucketId dst,
                            const std::string& dst_key, bool prefix);
  static void delete_props_in(pqxx::transaction_base& w, BucketId b, const std::string& key, bool prefix);
  // The properties of these keys (an S3 DeleteObjects): a key made again later starts bare.
  static void delete_props_of_in(pqxx::transaction_base& w, BucketId b, const std::vector<std::string>& keys);
  static void remove_locks_in(pqxx::transaction_base& w, const std::string& path, bool prefix);

  static constexpr int max_props_per_resource = 256;

  // "/", "/b/", "/b/dir/" for "/b/dir/file": every collection above path, then path itself.
  static std::vector<std::string> ancestors_and_self(const std::string& path);

 private:
  Database& db_;
};

}  // namespace depot::storage
