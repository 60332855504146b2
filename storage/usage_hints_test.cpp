#include <catch2/catch.hpp>

#include "storage/quota.hpp"

using depot::storage::Usage;
using depot::storage::UsageHints;

TEST_CASE("usage hints: ample room only when seen lately and well under the limits", "[quota]") {
  UsageHints h;
  CHECK_FALSE(h.ample(1, 10));  // never seen
  Usage u;
  u.bytes_limit = 1ll << 30;
  u.bytes_used = 100;
  h.note(1, u);
  CHECK(h.ample(1, 64 * 1024));
  CHECK_FALSE(h.ample(2, 1));
  // Room for the upload but not for the margin as well.
  u.bytes_used = u.bytes_limit - UsageHints::kMargin - 1000;
  h.note(1, u);
  CHECK(h.ample(1, 1000));
  CHECK_FALSE(h.ample(1, 1001));
  u.bytes_reserved = 1;
  h.note(1, u);
  CHECK_FALSE(h.ample(1, 1000));
  // Over the limit, or at the object limit.
  u.bytes_reserved = 0;
  u.bytes_used = u.bytes_limit + 1;
  h.note(1, u);
  CHECK_FALSE(h.ample(1, 1));
  u.bytes_used = 0;
  u.objects_limit = 5;
  u.objects_used = 5;
  h.note(1, u);
  CHECK_FALSE(h.ample(1, 1));
  u.objects_used = 4;
  h.note(1, u);
  CHECK(h.ample(1, 1));
}
