#include "src/http/exchange.hpp"

namespace depot::http {

std::string_view Exchange::path() const {
  auto t = target();
  auto q = t.find('?');
  return q == std::string_view::npos ? t : t.substr(0, q);
}

std::string_view Exchange::query() const {
  auto t = target();
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

std::string_view Exchange::header(bhttp::field f) const {
  auto it = request().find(f);
  return it == request().end() ? std::string_view{} : std::string_view(it->value());
}

std::string_view Exchange::header(std::string_view name) const {
  auto it = request().find(name);
  return it == request().end() ? std::string_view{} : std::string_view(it->value());
}

StringResponse make_response(const Exchange& ex, bhttp::status st, std::string body,
                             std::string_view content_type) {
  StringResponse res{st, ex.request().version()};
  if (!content_type.empty()) res.set(bhttp::field::content_type, content_type);
  res.body() = std::move(body);
  return res;
}

}  // namespace depot::http
