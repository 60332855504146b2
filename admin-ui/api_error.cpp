#include "admin-ui/api_error.hpp"

#include <boost/json.hpp>

namespace depot::console {

using st = http::bhttp::status;

ApiError api_error(const Error& e) {
  switch (e.code) {
    case Errc::invalid_argument:
    case Errc::invalid_name: return {st::bad_request, "invalid_argument", e.message};
    case Errc::not_found:
    case Errc::no_such_bucket:
    case Errc::no_such_key: return {st::not_found, "not_found", e.message};
    case Errc::already_exists:
    case Errc::bucket_exists:
    case Errc::bucket_owned_by_you: return {st::conflict, "already_exists", e.message};
    case Errc::conflict:
    case Errc::bucket_not_empty: return {st::conflict, "conflict", e.message};
    case Errc::precondition_failed: return {st::precondition_failed, "precondition_failed", e.message};
    case Errc::quota_exceeded: return {st::forbidden, "quota_exceeded", e.message};
    case Errc::too_large: return {st::payload_too_large, "too_large", e.message};
    case Errc::access_denied: return {st::forbidden, "forbidden", e.message};
    case Errc::unauthenticated: return {st::unauthorized, "unauthenticated", e.message};
    case Errc::unavailable: return {st::service_unavailable, "unavailable", e.message};
    default: return {st::internal_server_error, "internal", "internal error"};
  }
}

ApiError api_error(st status, std::string code, std::string message) {
  return {status, std::move(code), std::move(message)};
}

std::string error_body(const ApiError& e) {
  boost::json::object err{{"error", {{"code", e.code}, {"message", e.message}}}};
  return boost::json::serialize(err);
}

}  // namespace depot::console
