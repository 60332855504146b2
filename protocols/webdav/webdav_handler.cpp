// The WebDAV front-end: authentication, path mapping, dispatch to one handler per method.
#include "protocols/webdav/webdav_handler.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "auth/throttle.hpp"

#include "protocols/webdav/basic_auth.hpp"
#include "protocols/webdav/dav_headers.hpp"
#include "protocols/webdav/error.hpp"
#include "protocols/webdav/methods.hpp"
#include "storage/quota.hpp"

namespace depot::webdav {

namespace {

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  if (d.count() <= 0) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

class WebdavHandler final : public http::Handler {
 public:
  explicit WebdavHandler(App& app) : app_(app), store_(app.db), throttle_(app.db, app.config) {}

  asio::awaitable<void> handle(http::Exchange& ex) override {
    ex.info().protocol = "webdav";
    ex.info().operation = std::string(ex.request().method_string());
    bool failed = false;
    try {
      co_await serve(ex);
    } catch (const boost::system::system_error&) {
      throw;  // the connection: nothing to answer
    } catch (const std::exception& e) {
      spdlog::error("webdav {} {}: {}", ex.info().operation, std::string(ex.target()), e.what());
      if (ex.responded()) throw;
      failed = true;
    }
    if (failed) {
      ex.close_after_response();
      co_await ex.respond(http::make_response(ex, bhttp::status::internal_server_error, "internal error\n",
                                              "text/plain"));
    }
  }

 private:
  asio::awaitable<void> serve(http::Exchange& ex) {
    auto method = ex.request().method();
    auto raw_path = ex.path();
    Ctx c{app_, store_, ex, {}, {}};

    // Windows probes OPTIONS before it sends credentials: answer it without them.
    if (method == bhttp::verb::options) co_return co_await handle_options(c);

    // Parsed now (the probe of a cached login reads what it names), refused after authentication.
    auto p = parse_dav_path(raw_path);
    const DavPath* parsed = p ? &*p : nullptr;
    bool authenticated = co_await authenticate(c, parsed);
    if (!authenticated) co_return;

    // A fragment is never part of a resource's name; a client that sends one (raw '#') gets
    // a refusal rather than an operation on the resource without it (litmus delete_fragment).
    if (raw_path.find('#') != std::string_view::npos)
      co_return co_await respond_status(c, 400, "the request target contains a '#fragment'");
    if (!p) {
      unsigned st = p.code() == Errc::too_large ? 414 : 400;
      co_return co_await respond_status(c, st, p.error().message);
    }
    c.path = std::move(*p);

    switch (method) {
      case bhttp::verb::get: co_return co_await handle_get(c, false);
      case bhttp::verb::head: co_return co_await handle_get(c, true);
      case bhttp::verb::put: co_return co_await handle_put(c);
      case bhttp::verb::delete_: co_return co_await handle_delete(c);
      case bhttp::verb::mkcol: co_return co_await handle_mkcol(c);
      case bhttp::verb::copy: co_return co_await handle_copy_move(c, false);
      case bhttp::verb::move: co_return co_await handle_copy_move(c, true);
      case bhttp::verb::propfind: co_return co_await handle_propfind(c);
      case bhttp::verb::proppatch: co_return co_await handle_proppatch(c);
      case bhttp::verb::lock: co_return co_await handle_lock(c);
      case bhttp::verb::unlock: co_return co_await handle_unlock(c);
      default: {
        auto res = make(c, 405);
        res.set(bhttp::field::allow, kAllow);
        co_return co_await ex.respond(std::move(res));
      }
    }
  }

  // The probe for the request's own path (nothing beyond the credentials if it did not parse).
  // Sets c.probe_path to match.
  static storage::Engine::ProbeQuery probe_query_for(Ctx& c, const DavPath* p) {
    if (!p) return {};
    c.probe_path = *p;
    auto q = probe_query(*p);
    const auto method = c.ex.request().method();
    q.usage = method == bhttp::verb::put;
    q.prefetch = method == bhttp::verb::get;
    // The methods that need the parent collection (PUT and MKCOL of their own path; LOCK when
    // the path is unmapped) read it here rather than in a query of their own.
    if (method == bhttp::verb::put || method == bhttp::verb::mkcol || method == bhttp::verb::lock) {
      if (auto parent = p->parent_prefix(); !parent.empty()) q.parent_prefix = std::move(parent);
    }
    return q;
  }

  // Checks the password of cached credentials again, off the request's path, and renews their
  // entry (CredentialCache::claim_refresh). A failure leaves the entry to expire; the request
  // after that checks for itself, with the throttle.
  asio::awaitable<void> renew(BasicCredentials creds) {
    try {
      auto verified = co_await app_.users.verify_webdav_password(creds.name, creds.password);
      if (verified) cache_.insert(creds, {verified->id, verified->name, verified->credentials_version});
    } catch (const std::exception& e) {
      spdlog::warn("renewing cached WebDAV credentials: {}", e.what());
    }
  }

  // The request acts as the cached login's user from here on.
  void accept_cached(Ctx& c, const BasicCredentials& creds, const CredentialCache::Entry& known,
                     const asio::any_io_executor& executor) {
    if (cache_.claim_refresh(creds)) asio::co_spawn(executor, renew(creds), asio::detached);
    c.user.id = known.user;
    c.user.name = known.name;
    c.ex.info().user = c.user.name;
  }

  // A body of known size up to kEarlyContinueMax whose user had ample room a moment ago: it may
  // have 100 Continue before any query answers (a refusal over the quota cannot be owed to it).
  bool small_with_room(Ctx& c, storage::UserId user) const {
    auto len = c.ex.content_length();
    return len && *len <= kEarlyContinueMax && usage_hints_.ample(user, *len);
  }

  // A PUT that may go without a probe of its own (handle_put) when its bucket was probed a
  // moment ago: a small file with room (read into memory, so that it can still go the probed
  // way) and without conditions.
  bool may_skip_probe(Ctx& c, const DavPath* p, storage::UserId user) const {
    if (c.ex.request().method() != bhttp::verb::put || !p || p->kind != DavPath::Kind::member || p->trailing_slash)
      return false;
    for (auto f : {bhttp::field::if_, bhttp::field::if_match, bhttp::field::if_none_match, bhttp::field::content_range})
      if (!c.ex.header(f).empty()) return false;
    return small_with_room(c, user);
  }

  // HTTP Basic with the account password or an app password. Answers 401/429 itself and
  // returns false on failure.
  //
  // Every request confirms the account in PostgreSQL: its status and credentials_version are the
  // truth on every server, so a suspension, a password change or an app-password revocation
  // (each bumps credentials_version) takes effect at once. Credentials verified in the last 30 s
  // skip the password hash, and their confirmation rides in the query that reads the request's
  // bucket and object (Engine::probe); others read the account row and check the hash.
  // Failures count in the shared PostgreSQL throttle (per address and per account), which is
  // consulted whenever a password is about to be checked for real: a ban stops guessing, while
  // credentials verified in the cache's lifetime (30 s, renewed in the background while in use)
  // keep working, so an attacker cannot lock a working client out.
  asio::awaitable<bool> authenticate(Ctx& c, const DavPath* path) {
    const std::string addr = c.ex.info().remote_addr;
    auto creds = parse_basic_authorization(c.ex.header(bhttp::field::authorization));
    if (!creds) {
      co_await respond_status(c, 401, "authentication required");
      co_return false;
    }
    auto known = cache_.find(*creds);
    std::optional<CredentialCache::Check> check;  // a check this request leads ends with it
    if (!known) check.emplace(cache_, *creds);
    while (!known) {
      const bool waited = co_await check->join();
      if (!waited) break;  // this request checks the password (below)
      known = cache_.find(*creds);
    }
    if (known && may_skip_probe(c, path, known->user)) {
      if (auto cached = put_probes_.get(std::to_string(known->user), path->bucket)) {
        // Its commit confirms the account along with the path (handle_put).
        accept_cached(c, *creds, *known, co_await asio::this_coro::executor);
        c.unprobed_put = std::move(cached);
        c.credentials_version = known->credentials_version;
        c.forget_unprobed = [this, creds = *creds, user = known->user, bucket = path->bucket](bool login) {
          put_probes_.drop(std::to_string(user), bucket);
          if (login) cache_.erase(creds);
        };
        co_return true;
      }
    }
    if (known) {
      // Verified in the last 30 s: confirm the account (active, same credentials_version) in the
      // query that also reads what the request's path names.
      auto q = probe_query_for(c, path);
      q.user = known->user;
      q.user_name = known->name;
      q.credentials_version = known->credentials_version;
      // A small PUT that waits for 100 Continue (curl, for one) gets it now when its user had
      // ample room a moment ago: its body travels while the probe runs, instead of after it.
      if (q.usage && small_with_room(c, known->user)) co_await c.ex.send_continue();
      const bool put = q.usage;
      auto pr = co_await app_.engine.probe(std::move(q));
      if (pr.usage) usage_hints_.note(known->user, *pr.usage);
      if (pr.credentials_valid) {
        accept_cached(c, *creds, *known, co_await asio::this_coro::executor);
        if (put && pr.bucket && pr.usage) put_probes_.put(std::to_string(known->user), path->bucket, *pr.bucket, *pr.usage);
        c.probe_usage = std::move(pr.usage);
        c.probe = std::move(pr);
        co_return true;
      }
      cache_.erase(*creds);  // changed or suspended since: the full check below says which
    }
    std::optional<auth::User> user;
    auto found = co_await app_.users.find_by_name(creds->name);
    if (found) user = std::move(found.value());
    else if (found.code() != Errc::not_found) {
      co_await respond_error(c, found.error());
      co_return false;
    }
    auto left = co_await throttle_.banned(addr, creds->name);
    if (left) {
      auto res = make(c, 429);
      res.set(bhttp::field::retry_after, std::to_string(*left));
      res.set(bhttp::field::content_type, "text/plain");
      res.body() = "too many failed sign-ins; try again later\n";
      co_await c.ex.respond(std::move(res));
      co_return false;
    }
    // The slow hash runs for unknown and inactive names too (check_password hashes a dummy then):
    // how long a refusal takes must not tell which user names exist.
    auto verified = co_await app_.users.verify_webdav_password(creds->name, creds->password);
    bool ok = verified.ok() && user && user->active();
    if (ok) user = std::move(verified.value());
    if (!ok) {
      auto delay = co_await throttle_.record_failure(addr, creds->name);
      co_await sleep_for(delay);
      co_await respond_status(c, 401, "wrong user name or password");
      co_return false;
    }
    cache_.insert(*creds, {user->id, user->name, user->credentials_version});
    co_await throttle_.record_success(creds->name);
    c.user = std::move(*user);
    c.ex.info().user = c.user.name;
    co_return true;
  }

  // Bodies up to this size may follow an early 100 Continue (a refusal then costs the client
  // no more than sending this much for nothing).
  static constexpr std::uint64_t kEarlyContinueMax = 64 * 1024;

  App& app_;
  storage::DavStore store_;
  CredentialCache cache_;
  auth::Throttle throttle_;
  storage::UsageHints usage_hints_;
  storage::PutProbeCache put_probes_;  // by user id and bucket name
};
}  // namespace

std::unique_ptr<http::Handler> make_webdav_handler(App& app) { return std::make_unique<WebdavHandler>(app); }

}  // namespace depot::webdav
