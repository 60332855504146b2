#include "src/result.hpp"

namespace depot {
const char* errc_name(Errc c) {
  switch (c) {
    case Errc::ok: return "ok";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::invalid_name: return "invalid_name";
    case Errc::not_found: return "not_found";
    case Errc::no_such_bucket: return "no_such_bucket";
    case Errc::no_such_key: return "no_such_key";
    case Errc::bucket_exists: return "bucket_exists";
    case Errc::bucket_owned_by_you: return "bucket_owned_by_you";
    case Errc::bucket_not_empty: return "bucket_not_empty";
    case Errc::already_exists: return "already_exists";
    case Errc::conflict: return "conflict";
    case Errc::precondition_failed: return "precondition_failed";
    case Errc::quota_exceeded: return "quota_exceeded";
    case Errc::too_large: return "too_large";
    case Errc::bad_digest: return "bad_digest";
    case Errc::access_denied: return "access_denied";
    case Errc::unauthenticated: return "unauthenticated";
    case Errc::locked: return "locked";
    case Errc::storage_full: return "storage_full";
    case Errc::unavailable: return "unavailable";
    case Errc::internal: return "internal";
  }
  return "unknown";
}
}  // namespace depot
