#!/usr/bin/env bash
# The web console end to end, in Debian's headless Chromium driven by playwright-core (from npm,
# installed here at run time, never committed): security headers, CSRF, sign-in with two-factor,
# user pages, admin pages, the file browser, quota messages, XSS, authorization, screenshots.
# Env: DEPOT_ENDPOINT, DEPOT_WORK, DEPOT_ADMIN_USER / DEPOT_ADMIN_PASSWORD (an administrator),
# optional DEPOT_DATABASE_URL (to read the mail outbox for the password-reset link),
# CHROMIUM (default /usr/bin/chromium).
# Prints "PASS name" / "FAIL name: why" per scenario; exits non-zero if any failed.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${DEPOT_ENDPOINT:?}"
export DEPOT_WORK="${DEPOT_WORK:-$(mktemp -d)}"
export DEPOT_ADMIN_USER="${DEPOT_ADMIN_USER:-admin}"
export DEPOT_ADMIN_PASSWORD="${DEPOT_ADMIN_PASSWORD:-admin-test-pass-1}"
mkdir -p "$DEPOT_WORK"

# playwright-core into the suite folder (git-ignored node_modules), reused across runs.
want=$(node -e 'console.log(require(process.argv[1]).dependencies["playwright-core"])' "$HERE/package.json")
have=$(node -e 'try{console.log(require(process.argv[1]).version)}catch{console.log("")}' \
  "$HERE/node_modules/playwright-core/package.json" 2>/dev/null)
if [[ "$have" != "$want" ]]; then
  if ! (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >"$DEPOT_WORK/npm.log" 2>&1); then
    tail -20 "$DEPOT_WORK/npm.log"
    echo "FAIL console-setup: npm could not install playwright-core"
    exit 1
  fi
fi
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]]; then
  echo "FAIL console-setup: $CHROMIUM is missing (apt-get install chromium)"
  exit 1
fi
export CHROMIUM
exec node "$HERE/console_e2e.mjs"
