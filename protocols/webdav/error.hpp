// The one place where engine errors become WebDAV status codes (RFC 4918, RFC 4331, RFC 9110).
#pragma once
#include "src/result.hpp"

namespace depot::webdav {

// The status for an engine error as WebDAV answers it: 404, 403, 409, 412, 423, 507...
unsigned status_for(Errc code);

}  // namespace depot::webdav
