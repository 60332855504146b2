// The console API's one error shape: {"error": {"code": "...", "message": "..."}} with the HTTP
// status that fits. Engine errors (Errc) are mapped here and nowhere else.
#pragma once
#include <string>

#include "src/http/exchange.hpp"
#include "src/result.hpp"

namespace depot::console {

struct ApiError {
  http::bhttp::status status = http::bhttp::status::internal_server_error;
  std::string code;     // snake_case, stable: clients switch on it
  std::string message;  // a sentence for people
};

ApiError api_error(const Error& e);
ApiError api_error(http::bhttp::status st, std::string code, std::string message);
std::string error_body(const ApiError& e);

}  // namespace depot::console
