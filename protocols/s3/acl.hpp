// Canned ACLs and grants: depot has one owner per bucket, so only `private` (and its single-owner
// synonym bucket-owner-full-control), and no grant but the owner's full control, are accepted;
// anything else is refused with a clear error.
#pragma once
#include <optional>

#include "protocols/s3/context.hpp"

namespace depot::s3 {
std::optional<S3Error> check_canned_acl(const Ctx& c);
}
