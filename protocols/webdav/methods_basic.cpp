// OPTIONS, GET/HEAD, PUT, DELETE, MKCOL.
#include <charconv>

#include "protocols/webdav/dav_headers.hpp"
#include "protocols/webdav/error.hpp"
#include "protocols/webdav/methods.hpp"
#include "protocols/webdav/multistatus.hpp"
#include "src/http/body_source.hpp"
#include "src/http/semantics.hpp"
#include "src/http/send_blob.hpp"
#include "storage/dav_store.hpp"

namespace depot::webdav {

namespace {

using ExchangeBody = http::ExchangeBodySource;
using EmptyBody = http::EmptyBodySource;

std::string quote_etag(std::string_view etag) { return "\"" + std::string(etag) + "\""; }

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

asio::awaitable<void> send_listing(Ctx& c, const Resource& r, bool head) {
  http::ResponseHeader hdr;
  hdr.result(bhttp::status::ok);
  hdr.version(c.req().version());
  hdr.set(bhttp::field::content_type, "text/html; charset=utf-8");
  // HEAD answers GET's headers: the listing is made and only its length kept.
  std::uint64_t length = 0;
  auto emit = [&](std::string& s) -> asio::awaitable<void> {
    length += s.size();
    if (!head) co_await c.ex.write_body(s.data(), s.size());
    s.clear();
  };
  if (!head) co_await c.ex.begin_response(hdr, std::nullopt);
  std::string out = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>";
  append_xml_escaped(out, r.href());
  out += "</title></head><body><h1>";
  append_xml_escaped(out, r.href());
  out += "</h1><ul>\n";
  if (r.path.kind != DavPath::Kind::root) out += "<li><a href=\"../\">../</a></li>\n";
  auto item = [&](const std::string& href, const std::string& name) {
    out += "<li><a href=\"";
    append_xml_escaped(out, href);
    out += "\">";
    append_xml_escaped(out, name);
    out += "</a></li>\n";
  };
  if (r.type == Resource::Type::root) {
    auto buckets = co_await c.app.engine.list_buckets(c.user.id);
    if (buckets)
      for (const auto& b : *buckets) item(http::percent_encode(b.name, false) + "/", b.name + "/");
  } else {
    storage::ListQuery q;
    q.prefix = r.props_key();
    q.delimiter = "/";
    while (true) {
      auto page = co_await c.app.engine.list(*r.bucket, q);
      if (!page) break;
      for (const auto& e : page->entries) {
        if (e.key == q.prefix || !key_is_showable(e.key)) continue;
        auto name = e.key.substr(q.prefix.size());
        item(http::percent_encode(name, true), name);
      }
      co_await emit(out);
      if (!page->truncated) break;
      q.start_after = page->next_marker;
    }
  }
  out += "</ul></body></html>\n";
  co_await emit(out);
  if (!head) co_return co_await c.ex.end_response();
  auto res = make(c, 200);
  res.set(bhttp::field::content_type, "text/html; charset=utf-8");
  res.content_length(length);
  co_await c.ex.respond(std::move(res));
}

}  // namespace

asio::awaitable<void> handle_options(Ctx& c) {
  auto res = make(c, 200);
  res.set("DAV", "1, 2");
  res.set("MS-Author-Via", "DAV");
  res.set(bhttp::field::allow, kAllow);
  res.set(bhttp::field::accept_ranges, "bytes");
  co_await c.ex.respond(std::move(res));
}

// retried: looked up again after the file's blob went between lookup and open (a write that
// replaced or deleted it committed in between).
static asio::awaitable<void> get(Ctx& c, bool head, bool retried) {
  auto r = co_await resolve(c, c.path);
  if (!r) co_return co_await respond_error(c, r.error());
  if (!r->exists()) co_return co_await respond_status(c, 404, "not found");
  if (co_await check_if_only(c, *r)) co_return;
  if (r->is_collection()) co_return co_await send_listing(c, *r, head);

  const auto& o = r->object;
  switch (http::evaluate_preconditions(c.req(), o.etag, o.modified, true)) {
    case http::Precondition::pass: break;
    case http::Precondition::not_modified: {
      auto res = make(c, 304);
      res.set(bhttp::field::etag, quote_etag(o.etag));
      res.set(bhttp::field::last_modified, http::format_http_date(o.modified));
      co_return co_await c.ex.respond(std::move(res));
    }
    case http::Precondition::precondition_failed: co_return co_await respond_status(c, 412, "precondition failed");
  }

  std::uint64_t size = std::uint64_t(o.size), first = 0, length = size;
  unsigned status = 200;
  auto range_h = c.ex.header(bhttp::field::range);
  auto if_range = c.ex.header(bhttp::field::if_range);
  bool range_applies = !range_h.empty() &&
                       (if_range.empty() || http::unquote_etag(if_range) == o.etag ||
                        if_range == http::format_http_date(o.modified));
  if (range_applies) {
    auto rr = http::resolve_range(range_h, size);
    if (rr.outcome == http::RangeOutcome::unsatisfiable) {
      auto res = make(c, 416);
      res.set(bhttp::field::content_range, "bytes */" + std::to_string(size));
      co_return co_await c.ex.respond(std::move(res));
    }
    if (rr.outcome == http::RangeOutcome::satisfiable) {
      status = 206;
      first = rr.range.first;
      length = rr.range.length;
    }
  }

  http::ResponseHeader hdr;
  hdr.result(static_cast<bhttp::status>(status));
  hdr.version(c.req().version());
  hdr.set(bhttp::field::content_type, o.content_type.empty() ? "application/octet-stream" : o.content_type);
  hdr.set(bhttp::field::etag, quote_etag(o.etag));
  hdr.set(bhttp::field::last_modified, http::format_http_date(o.modified));
  hdr.set(bhttp::field::accept_ranges, "bytes");
  for (const auto& [k, v] : o.headers) hdr.set(k, v);
  http::set_stored_content_guard(hdr);
  if (status == 206)
    hdr.set(bhttp::field::content_range,
            "bytes " + std::to_string(first) + "-" + std::to_string(first + length - 1) + "/" + std::to_string(size));
  if (head) {
    http::StringResponse res{hdr};
    res.set(bhttp::field::content_length, std::to_string(length));
    co_return co_await c.ex.respond(std::move(res));
  }
  auto reader = co_await c.app.engine.open_object(o, first, length);
  if (!reader && reader.code() == Errc::not_found && !retried) co_return co_await get(c, head, true);
  if (!reader) co_return co_await respond_error(c, reader.error());
  co_await c.ex.begin_response(std::move(hdr), length);
  co_await http::send_blob_body(c.ex, **reader, length, "object " + o.key);
}

asio::awaitable<void> handle_get(Ctx& c, bool head) { return get(c, head, false); }

asio::awaitable<Result<storage::ObjectInfo>> put_empty(Ctx& c, const storage::Bucket& b, std::string key,
                                                       std::string content_type, storage::TxHook in_tx,
                                                       bool only_if_absent) {
  storage::PutOptions opts;
  opts.declared_size = 0;
  opts.conditions.if_none_match_any = only_if_absent;
  opts.content_type = std::move(content_type);
  opts.in_tx = std::move(in_tx);
  auto t = co_await c.app.engine.begin_put(c.user.id, b, std::move(key), std::move(opts));
  if (!t) co_return t.error();
  EmptyBody body;
  co_return co_await c.app.engine.finish_put(std::move(t.value()), body);
}

namespace {

// A PUT's options from its headers, but for its conditions: Content-Type, the size (Content-Length
// or macOS's X-Expected-Entity-Length) and X-OC-Mtime (rclone's owncloud vendor), which the
// answer then acknowledges.
struct PutHeaders {
  storage::PutOptions opts;
  bool oc_mtime = false;
};
PutHeaders put_headers(Ctx& c) {
  PutHeaders h;
  h.opts.content_type = std::string(c.ex.header(bhttp::field::content_type));
  if (auto len = c.ex.content_length()) {
    h.opts.declared_size = *len;
  } else if (auto x = c.ex.header("X-Expected-Entity-Length"); !x.empty()) {
    h.opts.declared_size = parse_u64(x);
  }
  if (auto m = c.ex.header("X-OC-Mtime"); !m.empty()) {
    auto dot = m.find('.');
    if (auto secs = parse_u64(m.substr(0, dot)); secs && *secs <= std::uint64_t(kMaxMtimeSeconds)) {
      h.opts.modified = storage::TimePoint(std::chrono::seconds(*secs));
      h.oc_mtime = true;
    }
  }
  return h;
}

asio::awaitable<void> respond_put(Ctx& c, bool replaced, const storage::ObjectInfo& info, bool oc_mtime) {
  auto res = make(c, replaced ? 204 : 201);
  res.set(bhttp::field::etag, quote_etag(info.etag));
  if (oc_mtime) res.set("X-OC-Mtime", "accepted");
  co_await c.ex.respond(std::move(res));
}

// A PUT of the request's path with the body from `body`, after the checks of its resource (parent,
// collection, locks and the If header, conditions).
asio::awaitable<void> put_probed(Ctx& c, storage::BodySource& body) {
  auto r = co_await resolve(c, c.path);
  if (!r) co_return co_await respond_error(c, r.error());
  if (!r->bucket) co_return co_await respond_status(c, 409, "the parent collection does not exist");
  if (r->is_collection()) co_return co_await respond_status(c, 405, "a collection exists at this URL");
  auto parent = co_await parent_exists(c, *r);
  if (!parent) co_return co_await respond_error(c, parent.error());
  if (!*parent) co_return co_await respond_status(c, 409, "the parent collection does not exist");
  if (co_await check_write(c, *r, false, !r->exists())) co_return;
  if (co_await http_preconditions_fail(c, *r)) co_return;

  auto [opts, oc_mtime] = put_headers(c);
  opts.known_usage = std::move(c.probe_usage);
  // Checked again when the write commits (a PUT may have come in between) where the engine can:
  // If-None-Match: * and an If-Match of one strong tag.
  if (auto inm = c.ex.header(bhttp::field::if_none_match); inm == "*") opts.conditions.if_none_match_any = true;
  if (auto im = c.ex.header(bhttp::field::if_match);
      im.size() >= 2 && im.front() == '"' && im.back() == '"' && im.find(',') == std::string_view::npos)
    opts.conditions.if_match = std::string(http::unquote_etag(im));
  bool existed = r->exists();
  auto ticket = co_await c.app.engine.begin_put(c.user.id, *r->bucket, c.path.key, std::move(opts));
  if (!ticket) co_return co_await respond_error(c, ticket.error());
  auto info = co_await c.app.engine.finish_put(std::move(ticket.value()), body);
  if (!info) co_return co_await respond_error(c, info.error());
  co_await respond_put(c, existed, *info, oc_mtime);
}

// A small PUT without conditions into a bucket probed a moment ago (Ctx::unprobed_put): its body
// is read into memory, and its commit makes the checks its probe would have made
// (PutOptions::dav_checks). When one does not hold (a lock, no parent collection, a collection at
// the path, the bucket gone), nothing was written, and the bytes read go the probed way, which
// answers exactly as for any PUT. One query per PUT instead of two.
asio::awaitable<void> put_unprobed(Ctx& c) {
  auto cached = std::move(*c.unprobed_put);
  c.unprobed_put.reset();
  std::string data(*c.ex.content_length(), '\0');
  {
    ExchangeBody src(c.ex);
    data.resize(co_await src.read_full(data.data(), data.size()));
  }
  auto [opts, oc_mtime] = put_headers(c);
  opts.known_usage = cached.usage;
  opts.known_usage_may_be_stale = true;
  opts.dav_checks = storage::PutOptions::DavChecks{c.credentials_version, c.path.parent_prefix(), lock_roots(c.path)};
  bool replaced = false;
  opts.replaced = &replaced;
  auto ticket = co_await c.app.engine.begin_put(c.user.id, cached.bucket, c.path.key, std::move(opts));
  if (!ticket) co_return co_await respond_error(c, ticket.error());
  http::MemoryBodySource body(data);
  auto info = co_await c.app.engine.finish_put(std::move(ticket.value()), body);
  if (!info && info.code() == Errc::unauthenticated) {
    c.forget_unprobed(true);
    co_return co_await respond_status(c, 401, "wrong user name or password");
  }
  if (!info && info.code() == Errc::conflict) {
    c.forget_unprobed(false);
    http::MemoryBodySource again(data);
    co_return co_await put_probed(c, again);
  }
  if (!info) co_return co_await respond_error(c, info.error());
  co_await respond_put(c, replaced, *info, oc_mtime);
}

}  // namespace

asio::awaitable<void> handle_put(Ctx& c) {
  if (c.path.kind != DavPath::Kind::member || c.path.trailing_slash)
    co_return co_await respond_status(c, 405, "PUT on a collection");
  if (!c.ex.header(bhttp::field::content_range).empty())
    co_return co_await respond_status(c, 400, "partial PUT (Content-Range) is not supported");
  if (c.unprobed_put) co_return co_await put_unprobed(c);
  ExchangeBody body(c.ex);
  co_await put_probed(c, body);
}

asio::awaitable<Result<void>> delete_resource(Ctx& c, const Resource& r) {
  auto& e = c.app.engine;
  // Dead properties and locks go in the engine's transaction: all or nothing with the keys.
  // (Hooks are named locals: GCC 12 and lambda temporaries inside co_await do not mix.)
  const bool coll = r.is_collection();
  const std::string lock_path = r.lock_path();
  switch (r.type) {
    case Resource::Type::missing:
    case Resource::Type::root: co_return make_error(Errc::access_denied, "cannot delete this");
    case Resource::Type::bucket: {
      // The bucket's dead properties go with it (ON DELETE CASCADE).
      storage::TxHook hook = [lock_path](pqxx::transaction_base& w) { storage::DavStore::remove_locks_in(w, lock_path, true); };
      auto d = co_await e.delete_bucket(c.user.id, r.path.bucket, true, hook);
      if (!d) co_return d.error();
      break;
    }
    case Resource::Type::collection:
    case Resource::Type::file: {
      const storage::BucketId bid = r.bucket->id;
      const std::string key = coll ? r.path.collection_prefix() : r.path.key;
      storage::TxHook hook = [bid, key, lock_path, coll](pqxx::transaction_base& w) {
        storage::DavStore::delete_props_in(w, bid, key, coll);
        storage::DavStore::remove_locks_in(w, lock_path, coll);
      };
      if (coll) {
        auto d = co_await e.delete_prefix(*r.bucket, key, hook);
        if (!d) co_return d.error();
      } else {
        storage::WriteConditions none;
        auto d = co_await e.delete_object(*r.bucket, key, none, hook);
        if (!d) co_return d.error();
      }
      break;
    }
  }
  co_return Result<void>{};
}

asio::awaitable<void> handle_delete(Ctx& c) {
  auto r = co_await resolve(c, c.path);
  if (!r) co_return co_await respond_error(c, r.error());
  if (!r->exists()) co_return co_await respond_status(c, 404, "not found");
  if (r->type == Resource::Type::root) co_return co_await respond_status(c, 403, "the root cannot be deleted");
  if (co_await check_write(c, *r, true, true)) co_return;
  if (co_await http_preconditions_fail(c, *r)) co_return;
  auto d = co_await delete_resource(c, *r);
  if (!d) co_return co_await respond_error(c, d.error());
  co_await respond_status(c, 204);
}

asio::awaitable<void> handle_mkcol(Ctx& c) {
  if (c.ex.has_body()) co_return co_await respond_status(c, 415, "MKCOL with a body is not supported");
  if (c.path.kind == DavPath::Kind::root) co_return co_await respond_status(c, 405, "the root exists");
  auto r = co_await resolve(c, c.path);
  if (!r) co_return co_await respond_error(c, r.error());
  if (r->exists()) co_return co_await respond_status(c, 405, "a resource exists at this URL");
  if (c.path.kind == DavPath::Kind::bucket) {
    if (!storage::Engine::valid_bucket_name(c.path.bucket))
      co_return co_await respond_status(
          c, 403,
          "top-level collections are buckets: 3-63 characters, lower-case letters, digits, '-' and '.', "
          "starting and ending with a letter or digit");
    auto b = co_await c.app.engine.create_bucket(c.user.id, c.path.bucket, c.app.config.region);
    if (!b) {
      if (b.code() == Errc::bucket_exists)
        co_return co_await respond_status(c, 403, "this bucket name is taken by another account");
      co_return co_await respond_error(c, b.error());
    }
    co_return co_await respond_status(c, 201);
  }
  if (!r->bucket) co_return co_await respond_status(c, 409, "the parent collection does not exist");
  auto parent = co_await parent_exists(c, *r);
  if (!parent) co_return co_await respond_error(c, parent.error());
  if (!*parent) co_return co_await respond_status(c, 409, "the parent collection does not exist");
  if (co_await check_write(c, *r, false, true)) co_return;
  auto o = co_await put_empty(c, *r->bucket, c.path.collection_prefix(), {}, {}, true);
  if (!o && o.code() == Errc::precondition_failed) co_return co_await respond_status(c, 405, "the collection exists");
  if (!o) co_return co_await respond_error(c, o.error());
  co_await respond_status(c, 201);
}

}  // namespace depot::webdav
