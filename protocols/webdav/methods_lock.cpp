// LOCK and UNLOCK (RFC 4918 9.10, 9.11). Locks live in PostgreSQL (storage/dav_store.hpp) so
// every server honours them; an expired lock stops counting at once.
#include "protocols/webdav/dav_headers.hpp"
#include "protocols/webdav/error.hpp"
#include "protocols/webdav/methods.hpp"
#include "protocols/webdav/multistatus.hpp"
#include "src/http/semantics.hpp"

namespace depot::webdav {

namespace {

constexpr std::chrono::seconds kDefaultTimeout{3600};
constexpr std::chrono::seconds kMaxTimeout{7 * 24 * 3600};  // "Infinite" is capped to this

asio::awaitable<void> respond_lock(Ctx& c, unsigned status, const storage::DavLock& l, bool with_token_header) {
  auto res = make(c, status);
  res.set(bhttp::field::content_type, "application/xml; charset=utf-8");
  if (with_token_header) res.set("Lock-Token", "<" + l.token + ">");
  res.body() = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:prop xmlns:D=\"DAV:\"><D:lockdiscovery>" +
               activelock_xml(l) + "</D:lockdiscovery></D:prop>\n";
  co_await c.ex.respond(std::move(res));
}

}  // namespace

std::string activelock_xml(const storage::DavLock& l) {
  auto now = storage::Clock::now();
  auto left = std::chrono::duration_cast<std::chrono::seconds>(l.expires - now).count();
  if (left < 0) left = 0;
  std::string s = "<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope>";
  s += l.exclusive ? "<D:exclusive/>" : "<D:shared/>";
  s += "</D:lockscope><D:depth>";
  s += l.depth_infinity ? "infinity" : "0";
  s += "</D:depth>";
  if (!l.owner_xml.empty()) s += "<D:owner>" + l.owner_xml + "</D:owner>";
  s += "<D:timeout>Second-" + std::to_string(left) + "</D:timeout>";
  s += "<D:locktoken><D:href>" + xml_escape(l.token) + "</D:href></D:locktoken>";
  s += "<D:lockroot><D:href>" + xml_escape("/dav" + http::percent_encode(l.root, true)) + "</D:href></D:lockroot>";
  s += "</D:activelock>";
  return s;
}

asio::awaitable<void> handle_lock(Ctx& c) {
  auto r = co_await resolve(c, c.path);
  if (!r) co_return co_await respond_error(c, r.error());
  auto body = co_await read_small_body(c, max_xml_body);
  if (!body) co_return co_await respond_status(c, 413, "request body too large");
  auto timeout = parse_timeout(c.ex.header("Timeout"), kDefaultTimeout, kMaxTimeout);

  if (body->find_first_not_of(" \t\r\n") == std::string::npos) {
    // Refresh: the lock is named by the If header.
    auto tokens = submitted_tokens(c);
    if (tokens.empty()) co_return co_await respond_status(c, 400, "a LOCK refresh needs the lock token in an If header");
    if (co_await check_if_only(c, *r)) co_return;
    for (const auto& t : tokens) {
      auto l = co_await c.store.refresh_lock(t, r->lock_path(), timeout.count());
      if (l) co_return co_await respond_lock(c, 200, *l, false);
    }
    co_return co_await respond_condition(c, 412, "<D:lock-token-matches-request-uri/>");
  }

  auto info = parse_lockinfo(*body);
  if (!info) co_return co_await respond_status(c, 400, info.error().message);
  auto depth = parse_depth(c.ex.header("Depth"), Depth::infinity);
  if (!depth || *depth == Depth::one) co_return co_await respond_status(c, 400, "Depth must be 0 or infinity");
  if (r->type == Resource::Type::root) co_return co_await respond_status(c, 403, "the root cannot be locked");
  if (!r->exists()) {
    if (!r->bucket || c.path.kind != DavPath::Kind::member)
      co_return co_await respond_status(c, 409, "the parent collection does not exist");
    auto parent = co_await parent_exists(c, *r);
    if (!parent) co_return co_await respond_error(c, parent.error());
    if (!*parent) co_return co_await respond_status(c, 409, "the parent collection does not exist");
  }
  // A new resource is a new member of its collection: a lock that covers it (the parent's
  // depth-infinity lock, even a shared one) needs its token, as a PUT there would.
  // (No co_await inside ?: — GCC 12 miscompiles it.)
  unsigned refused = 0;
  if (r->exists()) refused = co_await check_if_only(c, *r);
  else refused = co_await check_write(c, *r, false, true);
  if (refused) co_return;

  storage::DavLock want;
  want.user = c.user.id;
  want.exclusive = info->exclusive;
  want.owner_xml = info->owner_xml;
  want.timeout_s = timeout.count();
  bool created = !r->exists();
  if (created) {
    // A LOCK on an unmapped URL makes an empty resource (RFC 4918 7.3).
    r->type = Resource::Type::file;
    r->path.trailing_slash = false;
  }
  want.root = r->lock_path();
  want.depth_infinity = *depth == Depth::infinity && r->is_collection();
  auto lock = co_await c.store.create_lock(want);
  if (!lock) {
    if (lock.code() == Errc::locked) co_return co_await respond_condition(c, 423, "<D:no-conflicting-lock/>");
    co_return co_await respond_error(c, lock.error());
  }
  if (created) {
    // Only if still absent: a PUT that got there since keeps its content (and the lock holds).
    auto o = co_await put_empty(c, *r->bucket, c.path.key, {}, {}, true);
    if (!o && o.code() == Errc::precondition_failed) {
      created = false;
    } else if (!o) {
      (void)co_await c.store.remove_lock(lock->token, lock->root);
      co_return co_await respond_error(c, o.error());
    }
  }
  co_await respond_lock(c, created ? 201 : 200, *lock, true);
}

asio::awaitable<void> handle_unlock(Ctx& c) {
  auto token = parse_lock_token_header(c.ex.header("Lock-Token"));
  if (!token) co_return co_await respond_status(c, 400, "Lock-Token header missing or malformed");
  auto r = co_await resolve(c, c.path);
  if (!r) co_return co_await respond_error(c, r.error());
  auto res = co_await c.store.remove_lock(*token, r->lock_path());
  if (!res) {
    if (res.code() == Errc::not_found)
      co_return co_await respond_condition(c, 409, "<D:lock-token-matches-request-uri/>");
    co_return co_await respond_error(c, res.error());
  }
  co_await respond_status(c, 204);
}

}  // namespace depot::webdav
