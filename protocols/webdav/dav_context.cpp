#include "protocols/webdav/dav_context.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "protocols/webdav/dav_headers.hpp"
#include "protocols/webdav/error.hpp"
#include "protocols/webdav/multistatus.hpp"
#include "src/crypto/checksum.hpp"
#include "src/http/semantics.hpp"

namespace depot::webdav {

std::string Resource::props_key() const {
  if (type == Type::bucket) return {};
  if (type == Type::collection) return path.collection_prefix();
  return path.key;
}

std::string collection_etag(storage::BucketId bucket, std::string_view prefix) {
  std::string msg = std::to_string(bucket);
  msg += ':';
  msg += prefix;
  return "c-" + crypto::sha256_hex(msg).substr(0, 24);
}

std::string Resource::etag() const {
  if (type == Type::file) return object.etag;
  if (bucket && (type == Type::bucket || type == Type::collection)) return collection_etag(bucket->id, props_key());
  return {};
}

storage::Engine::ProbeQuery probe_query(const DavPath& p) {
  storage::Engine::ProbeQuery q;
  if (p.kind == DavPath::Kind::root) return q;
  q.bucket = p.bucket;
  if (p.kind == DavPath::Kind::member) {
    q.key = p.key;
    q.prefix = p.collection_prefix();
  }
  // When no lock has one of these roots, check_write needs no lock query.
  q.lock_roots = lock_roots(p);
  return q;
}

std::vector<std::string> lock_roots(const DavPath& p) {
  auto roots = storage::DavStore::ancestors_and_self(p.lock_path(true));
  if (p.kind == DavPath::Kind::member) roots.push_back(p.lock_path(false));
  return roots;
}

namespace {
bool same_path(const DavPath& a, const DavPath& b) {
  return a.kind == b.kind && a.bucket == b.bucket && a.key == b.key && a.trailing_slash == b.trailing_slash;
}
}  // namespace

asio::awaitable<Result<Resource>> resolve(Ctx& c, const DavPath& p) {
  Resource r;
  r.path = p;
  if (p.kind == DavPath::Kind::root) {
    r.type = Resource::Type::root;
    co_return r;
  }
  // The bucket, the file and whether a collection is there, in one query (or taken from the
  // probe that confirmed the credentials of this request).
  storage::Engine::Probe pr;
  if (c.probe && same_path(c.probe_path, p)) {
    pr = std::move(*c.probe);
    c.probe.reset();
  } else {
    auto q = probe_query(p);
    q.user = c.user.id;
    q.user_name = c.user.name;
    pr = co_await c.app.engine.probe(std::move(q));
  }
  if (!pr.bucket) {
    if (pr.bucket.code() == Errc::no_such_bucket) co_return r;  // missing, no bucket
    co_return pr.bucket.error();
  }
  r.bucket = std::move(pr.bucket.value());
  r.lock_free = !pr.locks_possible;
  r.parent_known = pr.parent_exists;
  if (p.kind == DavPath::Kind::bucket) {
    r.type = Resource::Type::bucket;
    co_return r;
  }
  if (pr.object && !*pr.object && pr.object->code() != Errc::no_such_key) co_return pr.object->error();
  bool file = pr.object && *pr.object;
  if (file && !p.trailing_slash) {
    r.type = Resource::Type::file;
    r.object = std::move(pr.object->value());
    co_return r;
  }
  // A collection is any key under "key/" (its marker included); only then is the marker read.
  if (pr.prefix_exists) {
    r.type = Resource::Type::collection;
    auto marker = co_await c.app.engine.head_object(*r.bucket, p.collection_prefix());
    if (marker) {
      r.has_marker = true;
      r.object = std::move(marker.value());
    } else if (marker.code() != Errc::no_such_key) {
      co_return marker.error();
    }
    co_return r;
  }
  if (file) {  // "file/" names the file when there is no such collection
    r.type = Resource::Type::file;
    r.object = std::move(pr.object->value());
  }
  co_return r;
}

asio::awaitable<Result<bool>> parent_exists(Ctx& c, const Resource& r) {
  if (r.path.kind != DavPath::Kind::member) co_return true;
  if (!r.bucket) co_return false;
  auto parent = r.path.parent_prefix();
  if (parent.empty()) co_return true;
  if (r.parent_known) co_return *r.parent_known;
  co_return co_await c.app.engine.prefix_exists(*r.bucket, parent);
}

http::StringResponse make(Ctx& c, unsigned status) {
  http::StringResponse res{static_cast<bhttp::status>(status), c.req().version()};
  return res;
}

asio::awaitable<void> respond_status(Ctx& c, unsigned status, std::string text) {
  auto res = make(c, status);
  if (!text.empty()) {
    res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    res.body() = std::move(text);
    if (res.body().back() != '\n') res.body() += '\n';
  }
  if (status == 401) res.set(bhttp::field::www_authenticate, "Basic realm=\"depot\", charset=\"UTF-8\"");
  co_await c.ex.respond(std::move(res));
}

asio::awaitable<void> respond_condition(Ctx& c, unsigned status, std::string_view condition_xml) {
  auto res = make(c, status);
  res.set(bhttp::field::content_type, "application/xml; charset=utf-8");
  res.body() = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\">";
  res.body() += condition_xml;
  res.body() += "</D:error>\n";
  co_await c.ex.respond(std::move(res));
}

asio::awaitable<void> respond_error(Ctx& c, const Error& e) {
  co_await respond_status(c, status_for(e.code), e.message);
}

asio::awaitable<std::optional<std::string>> read_small_body(Ctx& c, std::size_t limit) {
  std::string body;
  if (auto len = c.ex.content_length(); len && *len > limit) co_return std::nullopt;
  if (!c.ex.has_body()) co_return body;
  char buf[16384];
  while (true) {
    auto n = co_await c.ex.read_body(buf, sizeof buf);
    if (n == 0) break;
    if (body.size() + n > limit) co_return std::nullopt;
    body.append(buf, n);
  }
  co_return body;
}

std::optional<DavPath> path_from_uri(std::string_view uri) {
  auto d = parse_destination(uri);
  if (!d) return std::nullopt;
  auto p = parse_dav_path(strip_fragment(d->path));
  if (!p) return std::nullopt;
  return *p;
}

std::vector<std::string> submitted_tokens(Ctx& c) {
  auto h = c.ex.header(bhttp::field::if_);
  if (h.empty()) return {};
  auto parsed = parse_if_header(h);
  if (!parsed) return {};
  return parsed->submitted_tokens();
}

namespace {

// State of a resource for the If evaluator.
asio::awaitable<ResourceState> state_of(Ctx& c, const Resource& r) {
  ResourceState st;
  st.exists = r.exists();
  st.etag = r.etag();
  auto locks = co_await c.store.locks_covering(r.lock_path());
  if (locks)
    for (auto& l : *locks) st.lock_tokens.push_back(l.token);
  co_return st;
}

// Evaluates the If header, resolving tagged resources; returns 0, 400 or 412 (not answered).
// extra_tokens count as the request resource's own (the locks of the collection a new member
// joins, as mod_dav does).
asio::awaitable<unsigned> evaluate_if(Ctx& c, const Resource& request_resource,
                                      std::vector<std::string> extra_tokens = {}) {
  auto h = c.ex.header(bhttp::field::if_);
  if (h.empty()) co_return 0;
  auto parsed = parse_if_header(h);
  if (!parsed) co_return 400;
  std::map<std::string, ResourceState> states;
  auto self = co_await state_of(c, request_resource);
  self.lock_tokens.insert(self.lock_tokens.end(), extra_tokens.begin(), extra_tokens.end());
  states[""] = std::move(self);
  for (const auto& tag : parsed->resources()) {
    auto p = path_from_uri(tag);
    if (!p) {
      states[tag] = ResourceState{};
      continue;
    }
    auto r = co_await resolve(c, *p);
    // (No co_await inside ?: — GCC 12 miscompiles it.)
    ResourceState st;
    if (r) st = co_await state_of(c, *r);
    states[tag] = std::move(st);
  }
  bool ok = evaluate_if_header(*parsed, [&](const std::string& tag) { return states[tag]; });
  co_return ok ? 0 : 412;
}

}  // namespace

asio::awaitable<bool> http_preconditions_fail(Ctx& c, const Resource& r) {
  const auto& req = c.req();
  bool failed;
  if (!r.exists())  // no current representation: any If-Match fails, If-None-Match holds
    failed = req.find(bhttp::field::if_match) != req.end();
  else
    failed = http::evaluate_preconditions(req, r.etag(), r.object.modified, false) == http::Precondition::precondition_failed;
  if (failed) co_await respond_status(c, 412, "precondition failed");
  co_return failed;
}

asio::awaitable<unsigned> check_if_only(Ctx& c, const Resource& r) {
  auto st = co_await evaluate_if(c, r);
  if (st) co_await respond_status(c, st, st == 400 ? "malformed If header" : "the If header's conditions do not hold");
  co_return st;
}

namespace {
// The lock path of the collection a lock path is a member of: "/b/" for "/b/f" and "/b/d/", "/"
// for "/b/".
std::string parent_lock_path(std::string_view path) {
  if (path.ends_with('/')) path.remove_suffix(1);
  auto slash = path.rfind('/');
  return std::string(path.substr(0, slash == std::string_view::npos ? 0 : slash + 1));
}

// The Depth 0 locks of the collection t's resource is a member of, when t changes that
// membership (depth-infinity ones cover the resource itself, so locks_covering has them).
asio::awaitable<std::vector<storage::DavLock>> membership_locks(Ctx& c, const WriteTarget& t) {
  std::vector<storage::DavLock> out;
  if (!t.membership || t.resource->lock_free) co_return out;
  auto path = t.resource->lock_path();
  if (path == "/") co_return out;
  auto parent = parent_lock_path(path);
  auto above = co_await c.store.locks_covering(parent);
  if (above)
    for (auto& l : *above)
      if (l.root == parent && !l.depth_infinity) out.push_back(std::move(l));
  co_return out;
}
}  // namespace

asio::awaitable<unsigned> check_write(Ctx& c, std::vector<WriteTarget> targets, bool answer,
                                      const Resource* if_resource) {
  if (!if_resource && !targets.empty()) if_resource = targets.front().resource;
  // Each target's membership locks, looked up once for the If header and the lock check.
  std::vector<std::optional<std::vector<storage::DavLock>>> membership(targets.size());
  if (if_resource) {
    std::vector<std::string> extra;
    const bool has_if = !c.ex.header(bhttp::field::if_).empty();
    for (std::size_t i = 0; i < targets.size(); ++i)
      if (has_if && targets[i].resource == if_resource) {
        membership[i] = co_await membership_locks(c, targets[i]);
        for (const auto& l : *membership[i]) extra.push_back(l.token);
      }
    auto st = co_await evaluate_if(c, *if_resource, std::move(extra));
    if (st) {
      if (answer)
        co_await respond_status(c, st, st == 400 ? "malformed If header" : "the If header's conditions do not hold");
      co_return st;
    }
  }
  auto submitted = submitted_tokens(c);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto& t = targets[i];
    // Resolved together with "no lock is rooted at or above it": nothing to look up.
    if (t.resource->lock_free && !(t.deep && t.resource->is_collection())) continue;
    auto path = t.resource->lock_path();
    auto locks = co_await c.store.locks_covering(path);
    if (!locks) {
      if (answer) co_await respond_error(c, locks.error());
      co_return 500;
    }
    if (t.deep && t.resource->is_collection()) {
      auto below = co_await c.store.locks_below(path);
      if (below) locks->insert(locks->end(), below->begin(), below->end());
    }
    if (!membership[i]) membership[i] = co_await membership_locks(c, t);
    for (auto& l : *membership[i]) locks->push_back(std::move(l));
    // Every lock root touched needs one of its locks' tokens.
    std::map<std::string, bool> satisfied;
    for (const auto& l : *locks) {
      bool sub = std::find(submitted.begin(), submitted.end(), l.token) != submitted.end();
      satisfied[l.root] = satisfied[l.root] || sub;
    }
    for (const auto& [root, ok] : satisfied) {
      if (ok) continue;
      if (answer) {
        std::string href = "/dav" + http::percent_encode(root, true);
        co_await respond_condition(c, 423, "<D:lock-token-submitted><D:href>" + xml_escape(href) +
                                               "</D:href></D:lock-token-submitted>");
      }
      co_return 423;
    }
  }
  co_return 0;
}

}  // namespace depot::webdav
