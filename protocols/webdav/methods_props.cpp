// PROPFIND and PROPPATCH: live properties computed from the engine, dead properties from the
// DavStore. A PROPFIND answer streams: one listing page (up to 1,000 members, one range scan
// and one dead-property query) at a time.
#include <charconv>
#include <chrono>
#include <climits>
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

constexpr std::string_view kSupportedLock =
    "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>"
    "<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>";

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
    auto etag = r.etag();
    if (etag.empty()) return std::nullopt;
    return "&quot;" + xml_escape(etag) + "&quot;";
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
  if (l == "supportedlock") return std::string(kSupportedLock);
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

PropValue dead_value(const storage::DeadProp& d) { return PropValue{QName{d.ns, d.name}, d.value_xml, d.lang}; }

// allprop without include, the answer to most PROPFINDs: the same bytes describe() writes through
// PropValue lists, appended straight into the writer's buffer without a temporary per property
// (a 10,000-member listing spends most of its CPU time here).
void describe_allprop(std::string& out, const Resource& r, const Listing& ctx,
                      const std::vector<storage::DeadProp>& dead) {
  const auto& o = r.object;
  const bool file = r.type == Resource::Type::file;
  const bool has_object = file || (r.type == Resource::Type::collection && r.has_marker);
  out += "<D:response><D:href>";
  append_xml_escaped(out, r.href());
  out += "</D:href><D:propstat><D:prop>";
  out += r.is_collection() ? "<D:resourcetype><D:collection/></D:resourcetype>" : "<D:resourcetype/>";
  if (file) {
    char num[24];
    auto [end, ec] = std::to_chars(num, num + sizeof num, o.size);
    out += "<D:getcontentlength>";
    out.append(num, end);
    out += "</D:getcontentlength><D:getcontenttype>";
    append_xml_escaped(out, o.content_type.empty() ? std::string_view("application/octet-stream") : o.content_type);
    out += "</D:getcontenttype>";
  }
  if (auto etag = r.etag(); !etag.empty()) {
    out += "<D:getetag>&quot;";
    append_xml_escaped(out, etag);
    out += "&quot;</D:getetag>";
  }
  std::optional<storage::TimePoint> modified, created;
  if (has_object) {
    modified = o.modified;
    created = o.created;
  } else if (r.type == Resource::Type::bucket) {
    modified = created = r.bucket->created;
  }
  if (modified) {
    // Members written together share their timestamps: format each distinct one once (per
    // thread), not twice per entry (snprintf was the largest single cost of a 10,000 listing).
    struct DateText {
      std::int64_t key = INT64_MIN;
      std::string text;
    };
    thread_local DateText http_date, iso_date;
    auto secs = std::chrono::floor<std::chrono::seconds>(modified->time_since_epoch()).count();
    if (secs != http_date.key) http_date = {secs, http::format_http_date(*modified)};
    auto ms = std::chrono::floor<std::chrono::milliseconds>(created->time_since_epoch()).count();
    if (ms != iso_date.key) iso_date = {ms, http::format_iso8601(*created)};
    out += "<D:getlastmodified>";
    out += http_date.text;
    out += "</D:getlastmodified><D:creationdate>";
    out += iso_date.text;
    out += "</D:creationdate>";
  }
  if (r.type != Resource::Type::root) {
    auto name = r.path.name();
    if (name.empty()) {
      out += "<D:displayname/>";
    } else {
      out += "<D:displayname>";
      append_xml_escaped(out, name);
      out += "</D:displayname>";
    }
  }
  out += "<D:supportedlock>";
  out += kSupportedLock;
  out += "</D:supportedlock>";
  if (ctx.locks.empty()) {
    out += "<D:lockdiscovery/>";
  } else {
    out += "<D:lockdiscovery>";
    for (const auto& lk : ctx.locks) out += activelock_xml(lk);
    out += "</D:lockdiscovery>";
  }
  for (const auto& d : dead) {
    QName n{d.ns, d.name};
    if (is_live(n)) continue;
    if (d.value_xml.empty()) {
      MultistatusWriter::open_element(out, n, true, d.lang);
    } else {
      MultistatusWriter::open_element(out, n, false, d.lang);
      out += d.value_xml;
      MultistatusWriter::close_element(out, n);
    }
  }
  out += "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>\n";
}

void describe(MultistatusWriter& w, const Resource& r, const PropfindRequest& q, const Listing& ctx,
              const std::vector<storage::DeadProp>& dead) {
  if (q.kind == PropfindRequest::Kind::allprop && q.include.empty()) return describe_allprop(w.buffer(), r, ctx, dead);
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
  if (found.empty() && missing.empty()) w.empty_propstat();
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

// One member of a listing: a file, or a child collection (its marker's row when it has one).
struct Member {
  std::string key;  // "dir/" for a collection
  bool has_object = false;
  storage::ObjectInfo object;
};

// Pages through the members of a collection. Depth infinity is a plain range scan. Depth 1
// folds deeper keys into their child collection: it reads plain range-scan pages (an index
// range read, ~100x cheaper per row than the engine's delimiter walk, which probes the index once
// per entry) and switches to the delimiter walk only to jump past a child collection that fills
// a page, or after a page that yielded few members (a collection of a few big directories).
class MemberPager {
 public:
  MemberPager(std::string prefix, bool one_level) : prefix_(std::move(prefix)), one_level_(one_level) {}

  storage::ListQuery next_query() const {
    storage::ListQuery q;
    q.prefix = prefix_;
    q.start_after = after_;
    q.max_keys = 1000;
    if (one_level_ && walk_) q.delimiter = "/";
    return q;
  }

  // Appends the page's showable members; false when the listing is complete.
  bool take(storage::ListPage page, std::vector<Member>& out) {
    bool walked = walk_;
    walk_ = false;
    std::size_t before = out.size();
    std::string group;  // the child collection the last key belonged to ("" for a file)
    for (auto& e : page.entries) {
      group.clear();
      if (e.key == prefix_) continue;
      if (!one_level_ || walked) {  // entries are members already (files and common prefixes)
        if (!key_is_showable(e.key)) continue;
        if (e.is_prefix) group = e.key;
        bool has = !e.is_prefix;
        out.push_back(Member{std::move(e.key), has, std::move(e.object)});
        continue;
      }
      auto slash = e.key.find('/', prefix_.size());
      if (slash == std::string::npos) {
        if (key_is_showable(e.key)) out.push_back(Member{std::move(e.key), true, std::move(e.object)});
        continue;
      }
      group = e.key.substr(0, slash + 1);
      if (group == last_group_ || !key_is_showable(group)) continue;  // listed already, or not showable
      last_group_ = group;
      if (e.key.size() == group.size()) {  // the marker: the collection's first key
        out.push_back(Member{std::move(e.key), true, std::move(e.object)});
      } else {  // an implied collection: no object of its own
        Member m;
        m.key = group;
        out.push_back(std::move(m));
      }
    }
    if (!page.truncated) return false;
    if (!one_level_) {
      after_ = page.next_marker;
      return true;
    }
    if (!group.empty()) {
      // The page ended inside a child collection: the walk skips the rest of it in one probe
      // (the engine continues after a common prefix given as start_after).
      after_ = group;
      walk_ = true;
    } else {
      after_ = page.next_marker;
      walk_ = !walked && out.size() - before < 100;
    }
    return true;
  }

 private:
  std::string prefix_;
  bool one_level_;
  std::string after_;
  std::string last_group_;
  bool walk_ = false;
};

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
    // Below the root are every user's buckets: only the caller's own locks belong here.
    if (r->type == Resource::Type::root)
      std::erase_if(below, [&](const storage::DavLock& l) { return l.user != c.user.id; });
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

  // Members, one listing page at a time: one range scan and one dead-property query per page.
  const std::string prefix = r->props_key();
  int budget = *depth == Depth::infinity ? c.app.config.dav_depth_infinity_max : -1;
  MemberPager pager(prefix, *depth == Depth::one);
  std::vector<Member> members;
  while (budget != 0) {
    storage::ListQuery lq = pager.next_query();
    auto page = co_await c.app.engine.list(*r->bucket, lq);
    if (!page) break;
    members.clear();
    bool more = pager.take(std::move(*page), members);
    std::vector<std::string> keys;
    keys.reserve(members.size());
    for (const auto& m : members) keys.push_back(m.key);
    std::map<std::string, std::vector<storage::DeadProp>> props;
    auto p = co_await c.store.props_of(r->bucket->id, std::move(keys));
    if (p) props = std::move(*p);
    for (auto& e : members) {
      if (budget == 0) break;
      if (budget > 0) --budget;
      Resource m;
      m.bucket = r->bucket;
      m.path.kind = DavPath::Kind::member;
      m.path.bucket = r->path.bucket;
      bool coll = e.key.back() == '/';
      m.path.key = coll ? e.key.substr(0, e.key.size() - 1) : e.key;
      m.type = coll ? Resource::Type::collection : Resource::Type::file;
      if (e.has_object) {
        m.object = std::move(e.object);
        m.has_marker = coll;
      }
      child_ctx.locks = locks_for_child(self.locks, below, m.lock_path());
      auto it = props.find(e.key);
      static const std::vector<storage::DeadProp> none;
      describe(out.w, m, *q, child_ctx, it == props.end() ? none : it->second);
    }
    co_await out.maybe_flush();
    if (!more) break;
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
  std::optional<storage::TimePoint> t = http::parse_http_date(v);
  if (!t) t = http::parse_iso8601(v);
  if (!t) {
    std::int64_t secs = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
    if (ec == std::errc{} && p == v.data() + v.size() && secs >= 0 && secs <= kMaxMtimeSeconds)
      t = storage::TimePoint(std::chrono::seconds(secs));
  }
  if (t && (*t < storage::TimePoint{} || *t > storage::TimePoint(std::chrono::seconds(kMaxMtimeSeconds)))) return std::nullopt;
  return t;
}

}  // namespace

asio::awaitable<void> handle_proppatch(Ctx& c) {
  auto r = co_await resolve(c, c.path);
  if (!r) co_return co_await respond_error(c, r.error());
  if (!r->exists()) co_return co_await respond_status(c, 404, "not found");
  if (r->type == Resource::Type::root) co_return co_await respond_status(c, 403, "the root has no properties");
  if (co_await check_write(c, *r)) co_return;
  if (co_await http_preconditions_fail(c, *r)) co_return;
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
