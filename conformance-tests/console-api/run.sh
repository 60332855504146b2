#!/usr/bin/env bash
# Console admin API: branding, settings (stored settings win at once; SMTP password write-only;
# test mail through the outbox), audit log, overview and usage history, users search/sort/paging,
# user detail extras (buckets, password reset), billing event filters and raw payload; every admin
# route refused to a plain user (403) and to a cookie session without CSRF.
# Env: DEPOT_ENDPOINT, DEPOT_BIN, DEPOT_DATABASE_URL, DEPOT_DATA_DIR, DEPOT_WORK.
# Prints "PASS name" / "FAIL name: why" per scenario; exits non-zero if any failed.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${DEPOT_ENDPOINT:?}" "${DEPOT_BIN:?}" "${DEPOT_DATABASE_URL:?}" "${DEPOT_DATA_DIR:?}"
export DEPOT_WORK="${DEPOT_WORK:-$(mktemp -d)}"
exec /usr/bin/python3 "$HERE/console_api_test.py"
