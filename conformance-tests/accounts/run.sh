#!/usr/bin/env bash
# Accounts, plans and billing: sign-up → mail → verify → login → keys → aws CLI; password reset;
# tokens; webhook signatures, replays and ordering; downgrade to read + delete only over S3 and
# WebDAV; throttling; per-role authorization; JWT; TOTP; app passwords; the SMTP outbox.
# Starts its own depot server (SMTP sink, fake billing API, fast sweeper) on the shared database.
# Env: DEPOT_BIN, DEPOT_DATABASE_URL, DEPOT_DATA_DIR (for master.key), DEPOT_WORK.
# Prints "PASS name" / "FAIL name: why" per scenario; exits non-zero if any failed.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${DEPOT_BIN:?}" "${DEPOT_DATABASE_URL:?}"
export DEPOT_WORK="${DEPOT_WORK:-$(mktemp -d)}"
unset AWS_CA_BUNDLE
export BOTO_DISABLE_CRT=true
exec /usr/bin/python3 "$HERE/accounts_test.py"
