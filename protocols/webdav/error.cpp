#include "protocols/webdav/error.hpp"

namespace depot::webdav {

unsigned status_for(Errc code) {
  switch (code) {
    case Errc::ok: return 200;
    case Errc::invalid_argument: return 400;
    case Errc::invalid_name: return 403;        // a name the namespace rules refuse (design: "a clear 403")
    case Errc::not_found:
    case Errc::no_such_bucket:
    case Errc::no_such_key: return 404;
    case Errc::bucket_exists:
    case Errc::bucket_owned_by_you:
    case Errc::already_exists: return 405;      // MKCOL on an existing resource
    case Errc::bucket_not_empty:
    case Errc::conflict: return 409;
    case Errc::precondition_failed: return 412;
    case Errc::quota_exceeded:
    case Errc::storage_full: return 507;
    case Errc::too_large: return 413;
    case Errc::bad_digest: return 400;
    case Errc::access_denied: return 403;
    case Errc::unauthenticated: return 401;
    case Errc::locked: return 423;
    case Errc::unavailable: return 503;
    case Errc::internal: return 500;
  }
  return 500;
}

}  // namespace depot::webdav
