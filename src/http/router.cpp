#include "src/http/router.hpp"

#include "admin-ui/console_handler.hpp"
#include "admin-ui/ui_assets.hpp"
#include "protocols/s3/router.hpp"
#include "protocols/s3/s3_handler.hpp"
#include "protocols/webdav/webdav_handler.hpp"
#include "src/metrics.hpp"
#include "storage/blob_store.hpp"
#include "storage/db.hpp"

namespace depot::http {

Router::Router(App& app)
    : app_(app),
      s3_(s3::make_s3_handler(app)),
      webdav_(webdav::make_webdav_handler(app)),
      console_(console::make_console_handler(app)),
      ui_(console::make_ui_handler()) {}

Router::~Router() = default;

asio::awaitable<void> Router::handle(Exchange& ex) {
  auto path = ex.path();
  // A virtual-hosted-style S3 request (Host: <bucket>.<base domain>) is S3 whatever its path:
  // its keys may well start with dav/, api/ or ui/.
  if (!app_.config.s3_base_domain.empty() &&
      !s3::virtual_host_bucket(ex.header(bhttp::field::host), app_.config.s3_base_domain).empty()) {
    ex.info().protocol = "s3";
    co_return co_await s3_->handle(ex);
  }
  // A request signed for S3 is S3's, also where the server's own paths begin: CreateBucket
  // "readyz" then gets S3's InvalidBucketName rather than the health check's 200.
  const auto auth = ex.header(bhttp::field::authorization);
  if (auth.starts_with("AWS4-HMAC-SHA256 ") || auth.starts_with("AWS ") ||
      ex.request().target().find("X-Amz-Signature=") != std::string_view::npos) {
    ex.info().protocol = "s3";
    co_return co_await s3_->handle(ex);
  }
  if (path == "/dav" || path.starts_with("/dav/") || (path == "/" && ex.request().method() == bhttp::verb::options &&
                                                       ex.header(bhttp::field::origin).empty())) {
    ex.info().protocol = "webdav";
    co_return co_await webdav_->handle(ex);
  }
  if (path == "/healthz") co_return co_await health(ex);
  if (path == "/readyz") co_return co_await ready(ex);
  if (path == "/metrics") co_return co_await metrics(ex);
  if (path == "/ui" || path.starts_with("/ui/") || console::is_browser_visit_of_root(ex)) {
    ex.info().protocol = "ui";
    co_return co_await ui_->handle(ex);
  }
  if (path.starts_with("/api/")) {
    ex.info().protocol = "api";
    co_return co_await console_->handle(ex);
  }
  ex.info().protocol = "s3";
  co_return co_await s3_->handle(ex);
}

asio::awaitable<void> Router::health(Exchange& ex) {
  ex.info().protocol = "health";
  ex.info().operation = "healthz";
  co_await ex.respond(make_response(ex, bhttp::status::ok, "ok\n", "text/plain; charset=utf-8"));
}

asio::awaitable<void> Router::ready(Exchange& ex) {
  ex.info().protocol = "health";
  ex.info().operation = "readyz";
  bool db_ok = co_await app_.db.ping();
  bool blobs_ok = app_.blobs.writable();
  std::string body = std::string("database: ") + (db_ok ? "ok" : "unreachable") + "\nblob store: " +
                     (blobs_ok ? "ok" : "not writable") + "\n";
  auto st = db_ok && blobs_ok ? bhttp::status::ok : bhttp::status::service_unavailable;
  co_await ex.respond(make_response(ex, st, body, "text/plain; charset=utf-8"));
}

asio::awaitable<void> Router::metrics(Exchange& ex) {
  ex.info().protocol = "health";
  ex.info().operation = "metrics";
  co_await ex.respond(make_response(ex, bhttp::status::ok, app_.metrics.render(), "text/plain; version=0.0.4"));
}

}  // namespace depot::http
