// Router: the root handler. Sends each request to its front-end by path:
// /dav/ -> WebDAV (and OPTIONS on / for Windows' probe), /api/ -> the console API, /ui/ (and a
// browser's plain GET of /) -> the console's static files,
// /healthz, /readyz, /metrics -> here, everything else -> S3 (path style, or virtual-hosted
// style when a base domain is configured and the Host is under it).
#pragma once
#include <memory>

#include "src/app.hpp"
#include "src/http/handler.hpp"

namespace depot::http {

class Router final : public Handler {
 public:
  explicit Router(App& app);
  ~Router() override;
  asio::awaitable<void> handle(Exchange& ex) override;

 private:
  asio::awaitable<void> health(Exchange& ex);
  asio::awaitable<void> ready(Exchange& ex);
  asio::awaitable<void> metrics(Exchange& ex);

  App& app_;
  std::unique_ptr<Handler> s3_;
  std::unique_ptr<Handler> webdav_;
  std::unique_ptr<Handler> console_;
  std::unique_ptr<Handler> ui_;  // the web console's static files
};

}  // namespace depot::http
