// What every WebDAV method handler shares: the request context, resource resolution, answers,
// bounded body reading, and the write check (If header + locks).
#pragma once
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "auth/users.hpp"
#include "protocols/webdav/dav_path.hpp"
#include "protocols/webdav/if_header.hpp"
#include "src/app.hpp"
#include "src/http/exchange.hpp"
#include "storage/dav_store.hpp"
#include "storage/engine.hpp"
#include "storage/put_probe_cache.hpp"

namespace depot::webdav {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

// One resource of the namespace as it is now.
struct Resource {
  enum class Type { missing, root, bucket, file, collection };
  Type type = Type::missing;
  DavPath path;
  std::optional<storage::Bucket> bucket;  // set for everything inside an existing bucket
  storage::ObjectInfo object;             // the file, or the collection's marker when has_marker
  bool has_marker = false;
  // Read with the resource: no unexpired lock is rooted at or above its path (check_write then
  // needs no lock query). False when unknown.
  bool lock_free = false;
  // Read with the resource when the request was going to ask (a PUT, MKCOL or LOCK of its own
  // path): whether the parent collection exists. parent_exists() then needs no query.
  std::optional<bool> parent_known;

  bool exists() const { return type != Type::missing; }
  bool is_collection() const { return type == Type::root || type == Type::bucket || type == Type::collection; }
  // The key dead properties hang off ("" for a bucket, "dir/" for a collection).
  std::string props_key() const;
  std::string lock_path() const { return path.lock_path(is_collection() || (type == Type::missing && path.trailing_slash)); }
  std::string href() const { return path.href(is_collection()); }
  // The ETag without quotes: a file's own; for a bucket or collection (marked or implied)
  // collection_etag() of its prefix; "" for the root and missing resources.
  std::string etag() const;
};

// A collection's ETag: stable and the same at Depth 0 and 1 (a listing sees implied collections
// and markers alike as common prefixes, so it cannot depend on the marker), unique per bucket and
// prefix. A marker's own ETag (the MD5 of nothing) would be the same for every directory.
std::string collection_etag(storage::BucketId bucket, std::string_view prefix);

struct Ctx {
  App& app;
  storage::DavStore& store;
  http::Exchange& ex;
  auth::User user;  // id and name (the rest is not read: a cached login fills only these)
  DavPath path;
  // Read with the credentials' confirmation (Engine::probe) for probe_path; used once by resolve.
  std::optional<storage::Engine::Probe> probe;
  DavPath probe_path;
  std::optional<storage::Usage> probe_usage;  // read by the probe of a PUT, for begin_put
  // A small PUT into a bucket this user's PUT probed a moment ago (WebdavHandler::authenticate)
  // goes without a probe: handle_put commits it with PutOptions::dav_checks.
  std::optional<storage::PutProbeCache::Entry> unprobed_put;
  std::int64_t credentials_version = 0;  // of the cached login, with unprobed_put
  // Its commit found the cached entry stale: drop it (and, when the login no longer holds, the
  // cached login too).
  std::function<void(bool login)> forget_unprobed;

  const http::RequestHeader& req() const { return ex.request(); }
};

// What resolve needs of PostgreSQL for a path, as one Engine::probe (user and credentials unset).
storage::Engine::ProbeQuery probe_query(const DavPath& p);
// The roots of every lock that could cover the path, as a file or as a collection.
std::vector<std::string> lock_roots(const DavPath& p);

// Resolves a path: the bucket must be the user's (access_denied otherwise, no_such_bucket when
// it does not exist); a missing member is Type::missing with bucket set.
asio::awaitable<Result<Resource>> resolve(Ctx& c, const DavPath& p);

// True when the parent collection of a member exists (409 otherwise for PUT, MKCOL, COPY, MOVE).
asio::awaitable<Result<bool>> parent_exists(Ctx& c, const Resource& r);

// ---- answers ----
asio::awaitable<void> respond_status(Ctx& c, unsigned status, std::string text = {});
// An RFC 4918 error body: <D:error><D:{condition}/></D:error>.
asio::awaitable<void> respond_condition(Ctx& c, unsigned status, std::string_view condition_xml);
// Maps an engine error through status_for().
asio::awaitable<void> respond_error(Ctx& c, const Error& e);
http::StringResponse make(Ctx& c, unsigned status);

// Reads the whole request body up to limit; nullopt when it is larger (the caller answers 413).
asio::awaitable<std::optional<std::string>> read_small_body(Ctx& c, std::size_t limit);

// ---- the write check ----
// Evaluates the If header (412 when it fails) and the locks on the resources a write changes:
// each lock covering one of `targets` (and, with deep, rooted below a target collection) needs
// one of its tokens submitted in the If header, else 423. Returns 0 when the write may go on,
// otherwise the status already answered.
// The HTTP preconditions (If-Match, If-None-Match, If-Unmodified-Since; RFC 9110 13.2) of a
// request that changes r: true when they fail, and a 412 was sent. Clients use them to change a
// file only as they last saw it (GET and HEAD evaluate their own).
asio::awaitable<bool> http_preconditions_fail(Ctx& c, const Resource& r);

struct WriteTarget {
  const Resource* resource;
  bool deep = false;  // also locks rooted below (DELETE, MOVE source, COPY/MOVE over a collection)
  // The write adds or removes the resource, so changes its parent collection's membership: a
  // Depth 0 lock on the parent needs its token too (RFC 4918 7.5).
  bool membership = false;
};
// The If header is evaluated against if_resource, the request's own resource (the source of a
// COPY, which writes only its destination); targets.front() when null.
asio::awaitable<unsigned> check_write(Ctx& c, std::vector<WriteTarget> targets, bool answer = true,
                                      const Resource* if_resource = nullptr);
// The same for one resource. (Not a coroutine: GCC 12 miscompiles braced lists in coroutine calls.)
inline asio::awaitable<unsigned> check_write(Ctx& c, const Resource& r, bool deep = false, bool membership = false) {
  std::vector<WriteTarget> t;
  t.push_back(WriteTarget{&r, deep, membership});
  return check_write(c, std::move(t));
}

// Evaluates only the If header against the request resource (for reads): 0 or 412 answered.
asio::awaitable<unsigned> check_if_only(Ctx& c, const Resource& r);

// The tokens submitted in the If header ({} when none or malformed).
std::vector<std::string> submitted_tokens(Ctx& c);

// Maps an absolute URI or path to a DavPath (for Destination and If resource tags).
std::optional<DavPath> path_from_uri(std::string_view uri);

}  // namespace depot::webdav
