#!/usr/bin/env bash
# README command 2: installs what is missing, builds (normal and ASan+UBSan), starts a private
# PostgreSQL and a depot server, runs every test (unit, integration, conformance with real
# clients), stops what it started, and ends with one line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=$(nproc)
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime CCACHE_NOHASHDIR=1
# Both build trees fit in about 1 GB of compressed cache; a cap keeps older entries from filling
# a machine that runs this often (unless the caller chose a size).
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-2G}"

# Work directories of runs killed before their cleanup (a run takes well under 3 hours).
find /tmp -maxdepth 1 -name 'depot-test.*' -type d -mmin +180 -exec rm -rf {} + 2>/dev/null
# The suites need several GB (two builds, a 2.5 GiB upload): say what the machine has.
disk_report() { df -h --output=avail,target "$ROOT" /tmp 2>/dev/null | tail -n +2 | sort -u | sed "s/^/# disk free ($1): /"; }
disk_report start

bash scripts/bootstrap.sh --test || { echo "bootstrap failed"; echo "0 passed, 1 failed"; exit 1; }

WORK=$(mktemp -d /tmp/depot-test.XXXXXX)
chmod 755 "$WORK"
PASSED=0
FAILED=0
FAILURES=()
pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); echo "FAIL $1"; }

cleanup() {
  [[ -n "${SERVER_PIDS:-}" ]] && kill $SERVER_PIDS 2>/dev/null
  sleep 1
  [[ -x build/depot ]] && build/depot db stop --data-dir "$WORK/pg" >/dev/null 2>&1
  # A mount a suite left behind (davfs2) would keep its directory and stall later scans of /tmp.
  awk -v w="$WORK/" 'index($2, w) == 1 {print $2}' /proc/mounts | xargs -r -n1 umount -l 2>/dev/null
  if [[ "${KEEP_WORK:-0}" != 1 ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

step() { echo; echo "=== $* ==="; }

step "build (RelWithDebInfo)"
if cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$WORK/cmake.log" 2>&1 &&
   cmake --build build -j"$JOBS" >"$WORK/build.log" 2>&1; then
  pass "build"
else
  tail -n 50 "$WORK/cmake.log" "$WORK/build.log"
  fail "build"
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi

step "build (ASan+UBSan unit tests)"
if cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDEPOT_SANITIZE=ON >"$WORK/cmake-asan.log" 2>&1 &&
   cmake --build build-asan -j"$JOBS" --target depot_unit_tests >"$WORK/build-asan.log" 2>&1; then
  pass "build-asan"
else
  tail -n 50 "$WORK/build-asan.log"
  fail "build-asan"
fi

step "private PostgreSQL"
DB_URL=$(build/depot db start --data-dir "$WORK/pg" 2>"$WORK/pg-start.log" | tail -1)
if [[ "$DB_URL" != postgresql://* ]]; then
  cat "$WORK/pg-start.log"
  fail "postgresql-start"
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi
pass "postgresql-start"
export DEPOT_TEST_DATABASE_URL="$DB_URL"

# Catch2 prints "test cases: N | M passed | K failed"; count test cases.
run_catch() {
  local name=$1 bin=$2
  local out="$WORK/$name.log"
  if [[ ! -x $bin ]]; then fail "$name: not built"; return; fi
  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 "$bin" >"$out" 2>&1
  local rc=$?
  tail -4 "$out"
  local line
  line=$(grep -E "^test cases:|^All tests passed" "$out" | tail -1)
  local total p f
  total=$(sed -nE 's/.* ([0-9]+) test cases?\).*/\1/p; s/^test cases: *([0-9]+).*/\1/p' <<<"$line" | head -1)
  f=$(sed -nE 's/.*\| *([0-9]+) failed.*/\1/p' <<<"$line" | head -1)
  total=${total:-0}; f=${f:-0}
  if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
  p=$((total - f)); ((p < 0)) && p=0
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
  if [[ $f -ne 0 ]]; then
    FAILURES+=("$name")
    grep -B5 -A15 "FAILED:" "$out" | head -80
  fi
  echo "$name: $p passed, $f failed"
}

step "unit and integration tests (ASan+UBSan, real PostgreSQL)"
run_catch unit-asan build-asan/depot_unit_tests

step "server"
PORT=18080
TLS_PORT=18443
mkdir -p "$WORK/data"
build/depot serve --database-url "$DB_URL" --data-dir "$WORK/data" --listen 127.0.0.1:$PORT \
  --tls-listen 127.0.0.1:$TLS_PORT --sweep-interval 2 --node-timeout 6 --orphan-grace 5 \
  --admin-password 'admin-test-pass-1' >"$WORK/server.log" 2>&1 &
SERVER_PIDS="$!"
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then pass "server-ready"; else
  tail -30 "$WORK/server.log"; fail "server-ready"; fi

export DEPOT_ENDPOINT="http://127.0.0.1:$PORT"
export DEPOT_TLS_ENDPOINT="https://127.0.0.1:$TLS_PORT"
export DEPOT_BIN="$ROOT/build/depot"
export DEPOT_DATABASE_URL="$DB_URL"
export DEPOT_DATA_DIR="$WORK/data"
export DEPOT_SERVER_LOG="$WORK/server.log"
export DEPOT_TEST_USER=tester
export DEPOT_TEST_PASSWORD='tester-pass-123'
export DEPOT_ADMIN_USER=admin                    # created by serve's --admin-password above
export DEPOT_ADMIN_PASSWORD='admin-test-pass-1'
printf '%s\n' "$DEPOT_TEST_PASSWORD" | build/depot user add tester --email tester@example.com --password-stdin \
  --plan premium --database-url "$DB_URL" --data-dir "$WORK/data" >/dev/null
read -r DEPOT_ACCESS_KEY DEPOT_SECRET_KEY < <(build/depot key add tester --database-url "$DB_URL" --data-dir "$WORK/data")
export DEPOT_ACCESS_KEY DEPOT_SECRET_KEY

step "conformance tests"
for suite in conformance-tests/*/run.sh; do
  name=$(basename "$(dirname "$suite")")
  export DEPOT_WORK="$WORK/suite-$name"
  mkdir -p "$DEPOT_WORK"
  echo "--- $name"
  out="$WORK/suite-$name.log"
  timeout 1500 bash "$suite" >"$out" 2>&1
  rc=$?
  cat "$out" | grep -E "^(PASS|FAIL)" || true
  p=$(grep -c "^PASS" "$out"); f=$(grep -c "^FAIL" "$out")
  if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; echo "FAIL $name: exited $rc"; tail -20 "$out"; fi
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
  [[ $f -ne 0 ]] && FAILURES+=("$name")
done

if grep -qE "AddressSanitizer|runtime error:" "$WORK/server.log"; then fail "server-log-clean"; fi
disk_report end

echo
if ((${#FAILURES[@]})); then echo "failed: ${FAILURES[*]}"; fi
echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
