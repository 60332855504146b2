// The WebDAV front-end: authentication, path mapping, dispatch to one handler per method.
#include "protocols/webdav/webdav_handler.hpp"

#include <spdlog/spdlog.h>

#include <mutex>
#include <unordered_map>

#include "protocols/webdav/basic_auth.hpp"
#include "protocols/webdav/dav_headers.hpp"
#include "protocols/webdav/error.hpp"
#include "protocols/webdav/methods.hpp"

namespace depot::webdav {

namespace {

// Account rows by name, kept a few seconds so that a request costs no user lookup.
class UserRowCache {
 public:
  static constexpr std::chrono::seconds kUserTtl{5};
  std::optional<auth::User> get(const std::string& name) {
    std::lock_guard lock(mu_);
    auto it = rows_.find(name);
    if (it == rows_.end() || it->second.second < std::chrono::steady_clock::now()) return std::nullopt;
    return it->second.first;
  }
  void put(const auth::User& u) {
    std::lock_guard lock(mu_);
    if (rows_.size() > 10000) rows_.clear();
    rows_[u.name] = {u, std::chrono::steady_clock::now() + kUserTtl};
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::pair<auth::User, std::chrono::steady_clock::time_point>> rows_;
};

class WebdavHandler final : public http::Handler {
 public:
  explicit WebdavHandler(App& app) : app_(app), store_(app.db) {}

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

    if (!co_await authenticate(c)) co_return;

    // A fragment is never part of a resource's name; a client that sends one (raw '#') gets
    // a refusal rather than an operation on the resource without it (litmus delete_fragment).
    if (raw_path.find('#') != std::string_view::npos)
      co_return co_await respond_status(c, 400, "the request target contains a '#fragment'");
    auto p = parse_dav_path(raw_path);
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

  // HTTP Basic with the account password. Answers 401/429 itself and returns false on failure.
  asio::awaitable<bool> authenticate(Ctx& c) {
    const auto& addr = c.ex.info().remote_addr;
    if (throttle_.blocked(addr)) {
      auto res = make(c, 429);
      res.set(bhttp::field::retry_after, "60");
      co_await c.ex.respond(std::move(res));
      co_return false;
    }
    auto creds = parse_basic_authorization(c.ex.header(bhttp::field::authorization));
    if (!creds) {
      co_await respond_status(c, 401, "authentication required");
      co_return false;
    }
    // The account row (status, credentials_version) is re-read at most every kUserTtl; a
    // password change or suspension therefore takes effect within that many seconds.
    std::optional<auth::User> user = users_.get(creds->name);
    if (!user) {
      auto found = co_await app_.users.find_by_name(creds->name);
      if (found) {
        user = std::move(found.value());
        users_.put(*user);
      }
    }
    bool ok = user && user->active();
    if (ok && !cache_.contains(*creds, user->credentials_version)) {
      auto verified = co_await app_.users.verify_webdav_password(creds->name, creds->password);
      ok = verified.ok();
      if (ok) {
        user = std::move(verified.value());
        users_.put(*user);
        cache_.insert(*creds, user->credentials_version);
      }
    }
    if (!ok) {
      throttle_.failed(addr);
      co_await respond_status(c, 401, "wrong user name or password");
      co_return false;
    }
    c.user = std::move(*user);
    c.ex.info().user = c.user.name;
    co_return true;
  }

  App& app_;
  storage::DavStore store_;
  CredentialCache cache_;
  UserRowCache users_;
  FailureThrottle throttle_;
};

}  // namespace

std::unique_ptr<http::Handler> make_webdav_handler(App& app) { return std::make_unique<WebdavHandler>(app); }

}  // namespace depot::webdav
