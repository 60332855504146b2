// The S3 front-end.
#pragma once
#include <memory>

#include "src/app.hpp"
#include "src/http/handler.hpp"

namespace depot::s3 {
std::unique_ptr<http::Handler> make_s3_handler(App& app);
}
