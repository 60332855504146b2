#include "admin-ui/ui_assets.hpp"

#include <algorithm>
#include <cctype>

#include "src/http/semantics.hpp"

namespace depot::console {
namespace {

namespace bhttp = http::bhttp;
namespace asio = boost::asio;

constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  auto tail = s.substr(s.size() - suffix.size());
  return std::equal(tail.begin(), tail.end(), suffix.begin(),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

// A missing module or stylesheet is a 404, not index.html (which nosniff would refuse anyway and
// which would hide the mistake); any other unknown path is a client-side route.
bool looks_like_asset(std::string_view path) {
  for (auto ext : {".js", ".mjs", ".css", ".map", ".png", ".svg", ".ico", ".woff2"})
    if (ends_with_ci(path, ext)) return true;
  return false;
}

void secure(http::StringResponse& res) {
  res.set("Content-Security-Policy", kCsp);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "same-origin");
  res.set("X-Frame-Options", "DENY");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
}

bool etag_matches(std::string_view header, std::string_view etag) {
  if (header.empty()) return false;
  if (header.find('*') != std::string_view::npos) return true;
  return header.find(etag) != std::string_view::npos;
}

class UiHandler final : public http::Handler {
 public:
  asio::awaitable<void> handle(http::Exchange& ex) override {
    auto path = ex.path();
    ex.info().protocol = "ui";
    auto method = ex.request().method();
    if (path == "/" || path == "/ui") {
      ex.info().operation = "redirect";
      auto res = http::make_response(ex, bhttp::status::found);
      res.set(bhttp::field::location, "/ui/");
      res.set(bhttp::field::cache_control, "no-store");
      secure(res);
      co_return co_await ex.respond(std::move(res));
    }
    if (method != bhttp::verb::get && method != bhttp::verb::head) {
      ex.info().operation = "method_not_allowed";
      auto res = http::make_response(ex, bhttp::status::method_not_allowed, "only GET and HEAD are allowed here\n",
                                     "text/plain; charset=utf-8");
      res.set(bhttp::field::allow, "GET, HEAD");
      secure(res);
      co_return co_await ex.respond(std::move(res));
    }
    auto rel = path.substr(std::min<std::size_t>(path.size(), 4));  // after "/ui/"
    auto decoded = http::percent_decode(rel);
    const UiFile* file = decoded ? find_ui_file(*decoded) : nullptr;
    if (!file && looks_like_asset(path) && ex.header(bhttp::field::accept).find("text/html") == std::string_view::npos) {
      ex.info().operation = "not_found";
      auto res = http::make_response(ex, bhttp::status::not_found, "no such file\n", "text/plain; charset=utf-8");
      res.set(bhttp::field::cache_control, "no-store");
      secure(res);
      co_return co_await ex.respond(std::move(res));
    }
    if (!file) file = find_ui_file("index.html");
    if (!file) {
      auto res = http::make_response(ex, bhttp::status::not_found, "the web console is not built in\n",
                                     "text/plain; charset=utf-8");
      secure(res);
      co_return co_await ex.respond(std::move(res));
    }
    ex.info().operation = "static";
    auto type = ui_content_type(file->path);
    if (etag_matches(ex.header(bhttp::field::if_none_match), file->etag)) {
      auto res = http::make_response(ex, bhttp::status::not_modified);
      res.set(bhttp::field::etag, file->etag);
      res.set(bhttp::field::cache_control, "no-cache");
      secure(res);
      co_return co_await ex.respond(std::move(res));
    }
    bool head = method == bhttp::verb::head;
    auto res = http::make_response(ex, bhttp::status::ok, head ? std::string() : std::string(file->data), type);
    if (head) res.content_length(file->data.size());
    res.set(bhttp::field::etag, file->etag);
    // No hashed file names: the browser revalidates every time and mostly gets 304.
    res.set(bhttp::field::cache_control, "no-cache");
    secure(res);
    co_await ex.respond(std::move(res));
  }
};

}  // namespace

const UiFile* find_ui_file(std::string_view path) {
  for (const auto& f : embedded_ui_files())  // a few dozen files
    if (f.path == path) return &f;
  return nullptr;
}

std::string_view ui_content_type(std::string_view path) {
  struct Ext {
    std::string_view ext, type;
  };
  static constexpr Ext kTypes[] = {
      {".html", "text/html; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},           {".svg", "image/svg+xml"},
      {".png", "image/png"},                   {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},                {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"},
  };
  for (const auto& e : kTypes)
    if (ends_with_ci(path, e.ext)) return e.type;
  return "application/octet-stream";
}

bool is_browser_visit_of_root(const http::Exchange& ex) {
  if (ex.path() != "/" || ex.request().method() != bhttp::verb::get) return false;
  if (!ex.header(bhttp::field::authorization).empty()) return false;
  std::string q(ex.query());
  for (auto& ch : q) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (q.find("x-amz-") != std::string::npos || q.find("awsaccesskeyid") != std::string::npos) return false;
  return ex.header(bhttp::field::accept).find("text/html") != std::string_view::npos;
}

std::unique_ptr<http::Handler> make_ui_handler() { return std::make_unique<UiHandler>(); }

}  // namespace depot::console
