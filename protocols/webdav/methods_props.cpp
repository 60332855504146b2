// PROPFIND and PROPPATCH: live properties computed from the engine, dead properties from the
// DavStore. A PROPFIND answer streams: one listing page (up to 1,000 members, one range scan
// and one dead-property query) at a time.
#include <charconv>
#include <map>

#include "protocols/webdav/dav_headers.hpp"
#include "protocols/webdav/error.hpp"
#include "protocols/webdav/methods.hpp"
#include "protocols/webdav/multistatus.hpp"
#include "src/crypto/checksum.hpp"
#include "src/http/semantics.hpp"
#include "storage/quota.hpp"

namespace depot::webdav {

namespace {

constexpr std::size_t kFlushBytes = 64 * 1024;

QName dav(const char* local) { return QName{std::string(dav_ns), local}; }

// Live properties returned by allprop, in order. quota-* are only returned when named (RFC 4331).
const std::vector<QName>& allprop_live() {
  static const std::vector<QName> v = {dav("resourcetype"),     dav("getcontentlength"), dav("getcontenttype"),
                                       dav("getetag"),          dav("getlastmodified"),  dav("creationdate"),
                                       dav("displayname"),      dav("supportedlock"),    dav("lockdiscovery")};
  return v;
}
bool is_quota(const QName& n) {
  return n.ns == dav_ns && (n.local == "quota-available-bytes" || n.local == "quota-used-bytes");
}
bool is_live(const QName& n) {
  if (is_quota(n)) return true;
  for (const auto& l : allprop_live())
    if (l == n) return true;
  return false;
}

struct Listing {
  std::optional<storage::Usage> usage;
  std::vector<storage::DavLock> locks;  // locks that apply to the resource being described
};

constexpr std::string_view oc_ns = "http://owncloud.org/ns";

// ownCloud's <oc:checksums> (rclone vendor=owncloud compares hashes without downloading):
// "MD5:<hex> SHA1:<hex>" with whichever digests the object has.
std::optional<std::string> oc_checksums(const Resource& r) {
  if (r.type != Resource::Type::file) return std::nullopt;
  std::string sums;
  const auto& etag = r.object.etag;
  if (etag.size() == 32 && etag.find_first_not_of("0123456789abcdef") == std::string::npos) sums = "MD5:" + etag;
  if (auto it = r.object.checksums.find("SHA1"); it != r.object.checksums.end())
    if (auto raw = crypto::base64_decode(it->second)) sums += (sums.empty() ? "SHA1:" : " SHA1:") + crypto::to_hex(*raw);
  if (sums.empty()) return std::nullopt;
  return "<oc:checksum>" + sums + "</oc:checksum>";
}

std::optional<std::string> live_value(const Resource& r, const QName& n, const Listing& ctx) {
  if (n.ns == oc_ns && n.local == "checksums") return oc_checksums(r);
  if (n.ns != dav_ns) return std::nullopt;
  const auto& o = r.object;
  bool has_object = r.type == Resource::Type::file || (r.type == Resource::Type::collection && r.has_marker);
  const auto& l = n.local;
  if (l == "resourcetype") return r.is_collection() ? "<D:collection/>" : "";
  if (l == "getcontentlength") {
    if (r.type != Resource::Type::file) return std::nullopt;
    return std::to_string(o.size);
  }
  if (l == "getcontenttype") {
    if (r.type != Resource::Type::file) return std::nullopt;
    return xml_escape(o.content_type.empty() ? "application/octet-stream" : o.content_type);
  }
  if (l == "getetag") {
    if (!has_object) return std::nullopt;
    return "&quot;" + xml_escape(o.etag) + "&quot;";
  }
  if (l == "getlastmodified") {
    if (has_object) return http::format_http_date(o.modified);
    if (r.type == Resource::Type::bucket) return http::format_http_date(r.bucket->created);
    return std::nullopt;
  }
  if (l == "creationdate") {
    if (has_object) return http::format_iso8601(o.created);
    if (r.type == Resource::Type::bucket) return http::format_iso8601(r.bucket->created);
    return std::nullopt;
  }
  if (l == "displayname") {
    if (r.type == Resource::Type::root) return std::nullopt;
    return xml_escape(r.path.name());
  }
  if (l == "supportedlock")
    return "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>"
           "<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>";
  if (l == "lockdiscovery") {
    std::string out;
    for (const auto& lk : ctx.locks) out += activelock_xml(lk);
    return out;
  }
  if (is_quota(n)) {
    if (!r.is_collection() || !ctx.usage) return std::nullopt;
    if (l == "quota-used-bytes") return std::to_string(ctx.usage->bytes_used);
    auto avail = ctx.usage->bytes_limit - ctx.usage->bytes_used - ctx.usage->bytes_reserved;
    return std::to_string(avail < 0 ? 0 : avail);
  }
  return std::nullopt;
}

PropValue dead_value(const storage::DeadProp& d) { return PropValue{QName{d.ns, d.name}, d.value_xml}; }

void describe(MultistatusWriter& w, const Resource& r, const PropfindRequest& q, const Listing& ctx,
              const std::vector<storage::DeadProp>& dead) {
  w.begin_response(r.href());
  std::vector<PropValue> found, missing;
  auto add_named = [&](const QName& n) {
    if (auto v = live_value(r, n, ctx)) {
      found.push_back({n, std::move(*v)});
      return;
    }
    for (const auto& d : dead)
      if (d.ns == n.ns && d.name == n.local) {
        found.push_back(dead_value(d));
        return;
      }
    missing.push_back({n, {}});
  };
  switch (q.kind) {
    case PropfindRequest::Kind::prop:
      for (const auto& n : q.props) add_named(n);
      break;
    case PropfindRequest::Kind::allprop:
    case PropfindRequest::Kind::propname: {
      for (const auto& n : allprop_live())
        if (auto v = live_value(r, n, ctx)) found.push_back({n, std::move(*v)});
      for (const auto& d : dead)
        if (!is_live(QName{d.ns, d.name})) found.push_back(dead_value(d));
      if (q.kind == PropfindRequest::Kind::propname) {
        if (r.is_collection() && ctx.usage) {
          found.push_back({dav("quota-available-bytes"), {}});
          found.push_back({dav("quota-used-bytes"), {}});
        }
        break;
      }
      for (const auto& n : q.include) {
        bool have = false;
        for (const auto& f : found) have = have || f.name == n;
        if (!have) add_named(n);
      }
      break;
    }
  }
  bool names = q.kind == PropfindRequest::Kind::propname;
  w.propstat(200, found, names);
  w.propstat(404, missing, names);
  w.end_response();
}

bool wants_quota(const PropfindRequest& q) {
  if (q.kind == PropfindRequest::Kind::propname) return true;
  for (const auto& n : q.kind == PropfindRequest::Kind::prop ? q.props : q.include)
    if (is_quota(n)) return true;
  return false;
}

// Sends the multistatus: whole with Content-Length when it stays small, else chunked.
class MultistatusSender {
 public:
  explicit MultistatusSender(Ctx& c) : c_(c) {}
  MultistatusWriter w;

  asio::awaitable<void> maybe_flush() {
    if (w.pending() < kFlushBytes) co_return;
    if (!started_) {
      http::ResponseHeader hdr;
      hdr.result(static_cast<bhttp::status>(207));
      hdr.version(c_.req().version());
      hdr.set(bhttp::field::content_type, "application/xml; charset=utf-8");
      co_await c_.ex.begin_response(std::move(hdr), std::nullopt);
      started_ = true;
    }
    auto chunk = w.take();
    co_await c_.ex.write_body(chunk.data(), chunk.size());
  }

  asio::awaitable<void> finish() {
    w.finish();
    if (started_) {
      auto chunk = w.take();
      co_await c_.ex.write_body(chunk.data(), chunk.size());
      co_await c_.ex.end_response();
      co_return;
    }
    auto res = make(c_, 207);
    res.set(bhttp::field::content_type, "application/xml; charset=utf-8");
    res.body() = w.take();
    co_await c_.ex.respond(std::move(res));
  }

 private:
  Ctx& c_;
  bool started_ = false;
};

std::vector<storage::DavLock> locks_for_child(const std::vector<storage::DavLock>& covering_parent,
                                              const std::vector<storage::DavLock>& below_parent,
                                              const std::string& child_lock_path) {
  std::vector<storage::DavLock> out;
  for (const auto& l : covering_parent)
    if (l.depth_infinity) out.push_back(l);
  for (const auto& l : below_parent)
    if (l.root == child_lock_path || (l.depth_infinity && child_lock_path.starts_with(l.root))) out.push_back(l);
  return out;
}

}  // namespace

asio::awaitable<void> handle_propfind(Ctx& c) {
  auto depth = parse_depth(c.ex.header("Depth"), Depth::infinity);
  if (!depth) co_return co_await respond_status(c, 400, "Depth must be 0, 1 or infinity");
  if (*depth == Depth::infinity && !c.app.config.dav_depth_infinity)
    co_return co_await respond_condition(c, 403, "<D:propfind-finite-depth/>");
  auto body = co_await read_small_body(c, max_xml_body);
  if (!body) co_return co_await respond_status(c, 413, "request body too large");
  auto q = parse_propfind(*body);
  if (!q) co_return co_await respond_status(c, 400, q.error().message);
  auto r = co_await resolve(c, c.path);
  if (!r) co_return co_await respond_error(c, r.error());
  if (!r->exists()) co_return co_await respond_status(c, 404, "not found");
  if (co_await check_if_only(c, *r)) co_return;

  Listing self;
  if (wants_quota(*q) && r->is_collection()) {
    auto u = co_await c.app.quota.usage(c.user.id);
    if (u) self.usage = *u;
  }
  auto covering = co_await c.store.locks_covering(r->lock_path());
  if (!covering) co_return co_await respond_error(c, covering.error());
  self.locks = *covering;
  std::vector<storage::DavLock> below;
  if (r->is_collection() && *depth != Depth::zero) {
    auto b = co_await c.store.locks_below(r->lock_path());
    if (b) below = std::move(*b);
  }
  std::vector<storage::DeadProp> dead;
  if (r->bucket && r->exists()) {
    auto d = co_await c.store.props(r->bucket->id, r->props_key());
    if (d) dead = std::move(*d);
  }

  MultistatusSender out(c);
  describe(out.w, *r, *q, self, dead);
  if (*depth == Depth::zero || !r->is_collection()) co_return co_await out.finish();

  Listing child_ctx;
  child_ctx.usage = self.usage;
  if (r->type == Resource::Type::root) {
    auto buckets = co_await c.app.engine.list_buckets(c.user.id);
    if (buckets) {
      for (auto& b : *buckets) {
        Resource br;
        br.type = Resource::Type::bucket;
        br.path.kind = DavPath::Kind::bucket;
        br.path.bucket = b.name;
        br.bucket = b;
        child_ctx.locks = locks_for_child(self.locks, below, br.lock_path());
        auto d = co_await c.store.props(b.id, "");
        describe(out.w, br, *q, child_ctx, d ? *d : std::vector<storage::DeadProp>{});
        co_await out.maybe_flush();
      }
    }
    co_return co_await out.finish();
  }

  storage::ListQuery lq;
  lq.prefix = r->props_key();
  if (*depth == Depth::one) lq.delimiter = "/";
  int budget = *depth == Depth::infinity ? c.app.config.dav_depth_infinity_max : -1;
  while (true) {
    auto page = co_await c.app.engine.list(*r->bucket, lq);
    if (!page) break;
    std::vector<std::string> keys;
    for (const auto& e : page->entries)
      if (e.key != lq.prefix && key_is_showable(e.key)) keys.push_back(e.key);
    std::map<std::string, std::vector<storage::DeadProp>> props;
    if (auto p = co_await c.store.props_of(r->bucket->id, keys)) props = std::move(*p);
    for (auto& e : page->entries) {
      if (e.key == lq.prefix || !key_is_showable(e.key)) continue;
      if (budget == 0) break;
      if (budget > 0) --budget;
      Resource m;
      m.bucket = r->bucket;
      m.path.kind = DavPath::Kind::member;
      m.path.bucket = r->path.bucket;
      bool coll = e.key.back() == '/';
      m.path.key = coll ? e.key.substr(0, e.key.size() - 1) : e.key;
      m.type = coll ? Resource::Type::collection : Resource::Type::file;
      if (!e.is_prefix) {
        m.object = std::move(e.object);
        m.has_marker = coll;
      }
      child_ctx.locks = locks_for_child(self.locks, below, m.lock_path());
      auto it = props.find(e.key);
      static const std::vector<storage::DeadProp> none;
      describe(out.w, m, *q, child_ctx, it == props.end() ? none : it->second);
    }
    co_await out.maybe_flush();
    if (!page->truncated || budget == 0) break;
    lq.start_after = page->next_marker;
  }
  co_await out.finish();
}

// ---------------------------------------------------------------- PROPPATCH

namespace {

bool is_mtime_prop(const QName& n) {
  return (n.ns == dav_ns && (n.local == "getlastmodified" || n.local == "lastmodified")) ||
         (n.ns == "urn:schemas-microsoft-com:" && n.local == "Win32LastModifiedTime");
}

std::optional<storage::TimePoint> parse_mtime(std::string_view v) {
  if (auto t = http::parse_http_date(v)) return t;
  if (auto t = http::parse_iso8601(v)) return t;
  std::int64_t secs = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
  if (ec == std::errc{} && p == v.data() + v.size()) return storage::TimePoint(std::chrono::seconds(secs));
  return std::nullopt;
}

}  // namespace

asio::awaitable<void> handle_proppatch(Ctx& c) {
  auto r = co_await resolve(c, c.path);
  if (!r) co_return co_await respond_error(c, r.error());
  if (!r->exists()) co_return co_await respond_status(c, 404, "not found");
  if (r->type == Resource::Type::root) co_return co_await respond_status(c, 403, "the root has no properties");
  if (co_await check_write(c, *r)) co_return;
  auto body = co_await read_small_body(c, max_xml_body);
  if (!body) co_return co_await respond_status(c, 413, "request body too large");
  auto q = parse_proppatch(*body);
  if (!q) co_return co_await respond_status(c, 400, q.error().message);

  std::vector<storage::PropChange> changes;
  std::vector<PropValue> ok, forbidden;
  std::optional<storage::TimePoint> new_mtime;
  bool can_mtime = r->type == Resource::Type::file || (r->type == Resource::Type::collection && r->has_marker);
  for (const auto& op : q->ops) {
    if (is_mtime_prop(op.name) && !op.remove && can_mtime) {
      if (auto t = parse_mtime(op.value_xml)) new_mtime = t;
    } else if (op.name.ns == dav_ns && is_live(op.name)) {
      forbidden.push_back({op.name, {}});
      continue;
    }
    if (op.name.ns == dav_ns && is_mtime_prop(op.name)) {
      ok.push_back({op.name, {}});
      continue;  // a live property: not stored as dead
    }
    changes.push_back({op.remove, storage::DeadProp{op.name.ns, op.name.local, op.value_xml, op.lang}});
    ok.push_back({op.name, {}});
  }

  MultistatusWriter w;
  w.begin_response(r->href());
  if (!forbidden.empty()) {
    w.propstat(403, forbidden);
    w.propstat(424, ok);
  } else {
    auto res = co_await c.store.patch_props(r->bucket->id, r->props_key(), std::move(changes));
    if (!res) {
      w.propstat(res.code() == Errc::too_large ? 507 : 500, ok);
    } else {
      if (new_mtime) (void)co_await c.app.engine.set_modified(*r->bucket, r->object.key, *new_mtime);
      w.propstat(200, ok);
    }
  }
  w.end_response();
  w.finish();
  auto res = make(c, 207);
  res.set(bhttp::field::content_type, "application/xml; charset=utf-8");
  res.body() = w.take();
  co_await c.ex.respond(std::move(res));
}

}  // namespace depot::webdav
