#!/usr/bin/env bash
# Throughput of the request path (issues 3 and 4), with the CPU it costs.
#   scripts/bench-throughput.sh [BUILD_DIR]        (default ./build)
# Env: PORT (19680), WORK (default: a fresh /tmp dir, removed at the end), DURATION (10 s per figure), CONNS (32),
#      WARMUP (10: seconds of 4 KiB PUTs before the S3 figures, printed apart; 0 skips it),
#      WEBDAV=1 also runs conformance-tests/webdav/bench.sh against depot and a private Apache
#      httpd mod_dav on PORT+1 (BENCH_FILES: PROPFIND collection size), S3=0 skips the S3
#      figures, LIST=1 adds ListObjectsV2 pages of a bucket of 1,000,000 keys (rows inserted by SQL
#      sharing one blob, keys dNNN/sNN/fNNNNN), KEEP=1 leaves the servers running, SERVER_ENV
#      (e.g. LD_PRELOAD=...) is set for the depot server only.
# Prints, per figure: the `depot bench` line, then the CPU seconds used per 1,000 requests by the
# depot process and by the PostgreSQL cluster (utime+stime from /proc, before/after). The CPU
# figures are the stable measure on a shared machine; wall-clock figures move with the load.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
DEPOT="$BUILD/depot"
BENCH_BIN="${BENCH_BIN:-$DEPOT}"   # the load generator (any depot build)
PORT="${PORT:-19680}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-32}"
OWN_WORK=0
[[ -z "${WORK:-}" ]] && { WORK="$(mktemp -d /tmp/depot-tput.XXXXXX)"; OWN_WORK=1; }
mkdir -p "$WORK"
chmod 755 "$WORK"
SRV=""
APACHE_PID=""
cleanup() {
  [[ "${KEEP:-0}" == 1 ]] && return
  [[ -n "$SRV" ]] && kill "$SRV" 2>/dev/null
  [[ -n "$APACHE_PID" ]] && kill "$APACHE_PID" 2>/dev/null
  sleep 1
  "$DEPOT" db stop --data-dir "$WORK/pg" >/dev/null 2>&1
  # A run leaves gigabytes of blobs and WAL behind: a directory made here goes with it.
  [[ "$OWN_WORK" == 1 ]] && rm -rf "$WORK"
}
trap cleanup EXIT

DB=$("$DEPOT" db start --data-dir "$WORK/pg" 2>"$WORK/pg-start.log" | tail -1)
[[ "$DB" == postgresql://* ]] || { cat "$WORK/pg-start.log"; exit 1; }
PG_PID=$(head -1 "$WORK/pg/pg/postmaster.pid")
mkdir -p "$WORK/data"
env ${SERVER_ENV:-} "$DEPOT" serve --database-url "$DB" --data-dir "$WORK/data" --listen 127.0.0.1:$PORT --tls-listen "" \
  --log-level warn >"$WORK/server.log" 2>&1 &
SRV=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
USER_NAME=bencher PASS='bench-password-123'
echo "$PASS" | "$DEPOT" user add $USER_NAME --email b@bench.test --password-stdin --plan premium \
  --database-url "$DB" --data-dir "$WORK/data" >/dev/null 2>&1
psql "$DB" -qc "UPDATE users SET quota_bytes_override = 1099511627776 WHERE name = '$USER_NAME'" >/dev/null
read -r AK SK < <("$DEPOT" key add $USER_NAME --database-url "$DB" --data-dir "$WORK/data")
export DEPOT_ACCESS_KEY=$AK DEPOT_SECRET_KEY=$SK

# CPU ticks (utime+stime) of a process, and of the PostgreSQL postmaster with all its children.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {
  local t; t=$(ticks "$PG_PID")
  for c in $(pgrep -P "$PG_PID"); do t=$((t + $(ticks "$c"))); done
  echo "$t"
}
HZ=$(getconf CLK_TCK)

figure() {  # figure LABEL depot-bench-args...
  local label="$1"; shift
  local d0 p0 d1 p1 out ops
  d0=$(ticks "$SRV"); p0=$(pg_ticks)
  out=$("$BENCH_BIN" bench --endpoint "http://127.0.0.1:$PORT" --bucket bench -c "$CONNS" -d "$DURATION" "$@" 2>&1 | tail -1)
  d1=$(ticks "$SRV"); p1=$(pg_ticks)
  ops=$(sed -nE 's/^ops=([0-9]+).*/\1/p' <<<"$out")
  LAST=$out
  echo "$label: $out"
  awk -v d=$((d1 - d0)) -v p=$((p1 - p0)) -v n="${ops:-0}" -v hz="$HZ" 'BEGIN {
    if (n > 0) printf "  CPU per 1,000 requests: depot %.3f s, PostgreSQL %.3f s, total %.3f s\n", d / hz * 1000 / n, p / hz * 1000 / n, (d + p) / hz * 1000 / n }'
}

if [[ "${S3:-1}" == 1 ]]; then
  AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_DEFAULT_REGION=us-east-1 AWS_CA_BUNDLE= \
    /usr/bin/aws --endpoint-url "http://127.0.0.1:$PORT" s3 mb s3://bench >/dev/null
  echo "== S3, $CONNS connections, ${DURATION}s each (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  # The figures are of a server past its start: a new cluster zero-fills each 16 MB WAL segment of
  # its first gigabyte before using it (XLogFileInit, 3% of PostgreSQL's CPU in a profile of 4 KiB
  # PUTs), and its tables start empty. The warm-up is printed too: the PUT rate of a new server.
  if [[ "${WARMUP:-10}" != 0 ]]; then
    DURATION_SAVED=$DURATION; DURATION=${WARMUP:-10}
    figure "PUT 4 KiB, warm-up on a new cluster" --op put --size 4096 --keys 1000000 --prefix warmup/
    DURATION=$DURATION_SAVED
  fi
  # GETs read keys the PUTs wrote (obj 0 .. min(PUTs done, N) - 1).
  figure "PUT 4 KiB" --op put --size 4096 --keys 1000000 --prefix small/
  n=$(sed -nE 's/^ops=([0-9]+).*/\1/p' <<<"$LAST"); n=$(( n < 10000 ? n : 10000 ))
  figure "GET 4 KiB" --op get --keys "$n" --prefix small/
  figure "PUT 1 MiB" --op put --size 1048576 --keys 1000000 --prefix big/
  n=$(sed -nE 's/^ops=([0-9]+).*/\1/p' <<<"$LAST"); n=$(( n < 1000 ? n : 1000 ))
  figure "GET 1 MiB" --op get --keys "$n" --prefix big/
fi

if [[ "${LIST:-0}" == 1 ]]; then
  AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_DEFAULT_REGION=us-east-1 AWS_CA_BUNDLE= \
    /usr/bin/aws --endpoint-url "http://127.0.0.1:$PORT" s3 mb s3://million >/dev/null
  psql "$DB" -q >/dev/null <<'SQL'
INSERT INTO blobs (id, size, refcount, inline_data) VALUES ('00000000000000000000000000million', 1, 1000000, 'x');
INSERT INTO objects (bucket_id, key, blob_id, size, etag)
  SELECT (SELECT id FROM buckets WHERE name = 'million'),
         format('d%s/s%s/f%s', lpad((i / 10000)::text, 3, '0'), lpad((i / 100 % 100)::text, 2, '0'), lpad(i::text, 6, '0')),
         '00000000000000000000000000million', 1, '9dd4e461268c8034f5c8564e155c67a6'
  FROM generate_series(0, 999999) i;
UPDATE usage SET objects_used = objects_used + 1000000, bytes_used = bytes_used + 1000000
  WHERE user_id = (SELECT id FROM users WHERE name = 'bencher');
ANALYZE objects;
SQL
  echo "== ListObjectsV2 on a bucket of 1,000,000 keys, 1000-key pages, 1 connection (p50 = one page)"
  list_page() {  # list_page LABEL PREFIX [DELIMITER]
    local out
    out=$("$BENCH_BIN" bench --endpoint "http://127.0.0.1:$PORT" --bucket million -c 1 -d 5 --op list \
      --prefix "$2" ${3:+--delimiter "$3"} 2>&1 | tail -1)
    echo "$1: $out"
  }
  list_page "no delimiter, whole bucket" ""
  list_page "delimiter / at the root" "" /
  list_page "delimiter / under d500/" d500/ /
  list_page "prefix d500/s50/ (100 keys)" d500/s50/
fi

if [[ "${WEBDAV:-0}" == 1 ]]; then
  APORT=$((PORT + 1))
  A="$WORK/apache"
  mkdir -p "$A/dav" "$A/lock" "$A/logs"
  htpasswd -bc "$A/htpasswd" "$USER_NAME" "$PASS" >/dev/null 2>&1
  RUN_AS=""
  if [[ $(id -u) == 0 ]]; then RUN_AS="User www-data
Group www-data"; chown -R www-data:www-data "$A/dav" "$A/lock"; fi
  cat >"$A/httpd.conf" <<EOF
ServerRoot /etc/apache2
PidFile $A/httpd.pid
ErrorLog $A/logs/error.log
Listen 127.0.0.1:$APORT
ServerName 127.0.0.1
$RUN_AS
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule authz_user_module /usr/lib/apache2/modules/mod_authz_user.so
LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so
LoadModule authn_file_module /usr/lib/apache2/modules/mod_authn_file.so
LoadModule auth_basic_module /usr/lib/apache2/modules/mod_auth_basic.so
LoadModule dav_module /usr/lib/apache2/modules/mod_dav.so
LoadModule dav_fs_module /usr/lib/apache2/modules/mod_dav_fs.so
LoadModule dav_lock_module /usr/lib/apache2/modules/mod_dav_lock.so
TypesConfig /dev/null
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
ThreadsPerChild 25
MaxRequestWorkers 50
KeepAlive On
MaxKeepAliveRequests 0
DavLockDB $A/lock/davlock
DocumentRoot $A/dav
<Directory $A/dav>
  Dav On
  AuthType Basic
  AuthName "bench"
  AuthBasicProvider file
  AuthUserFile $A/htpasswd
  Require valid-user
</Directory>
EOF
  /usr/sbin/apache2 -f "$A/httpd.conf" -DFOREGROUND &
  APACHE_PID=$!
  sleep 1
  export BENCH_PIDS_depot="echo $SRV $PG_PID; pgrep -P $PG_PID" BENCH_PIDS_apache="pgrep -f '$A/httpd.conf'"
  BENCH_USER=$USER_NAME BENCH_PASSWORD=$PASS BENCH_BIN="$BENCH_BIN" bash conformance-tests/webdav/bench.sh \
    "depot=http://127.0.0.1:$PORT/dav/davbench" "apache=http://127.0.0.1:$APORT"
fi
[[ "${KEEP:-0}" == 1 ]] && echo "left running: server pid $SRV, database $DB, work $WORK"
exit 0
