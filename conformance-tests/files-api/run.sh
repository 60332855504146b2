#!/usr/bin/env bash
# The console's files API (/api/v1/files): sign in with the session cookie and CSRF token; buckets,
# listing, search, upload/download checked by hash (Range, Content-Disposition), uploads in parts,
# abort, rename/move/copy/delete, new folders, then the same keys read over S3 (aws CLI) and WebDAV
# (curl); quota refusals with numbers; another user's bucket is 404; bad names are 400.
# Env: DEPOT_ENDPOINT, DEPOT_TEST_USER, DEPOT_TEST_PASSWORD, DEPOT_ACCESS_KEY, DEPOT_SECRET_KEY,
# DEPOT_BIN, DEPOT_DATABASE_URL, DEPOT_DATA_DIR, DEPOT_WORK.
# Prints "PASS name" / "FAIL name: why" per scenario; exits non-zero if any failed.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${DEPOT_ENDPOINT:?}" "${DEPOT_TEST_USER:?}" "${DEPOT_TEST_PASSWORD:?}" "${DEPOT_BIN:?}" "${DEPOT_DATABASE_URL:?}"
export DEPOT_WORK="${DEPOT_WORK:-$(mktemp -d)}"
unset AWS_CA_BUNDLE
export BOTO_DISABLE_CRT=true
exec /usr/bin/python3 "$HERE/files_api_test.py"
