#!/usr/bin/env bash
# WebDAV figures, side by side: depot and (optionally) Apache httpd mod_dav on loopback.
#   bench.sh NAME=URL [NAME=URL ...]   e.g. depot=http://127.0.0.1:18280/dav/bench apache=http://127.0.0.1:18380
# Each URL is a collection the user may write (created if missing). Env: BENCH_USER, BENCH_PASSWORD;
# BENCH_PIDS_<NAME>: a shell command that lists NAME's server processes (the depot-bench figures
# then add their CPU per request).
# Measures: PROPFIND Depth 1 on a collection of 10,000 files (median of 5: seconds, bytes), and
# PUT / GET of 4 KiB and 1 MiB bodies with 16 and 32 keep-alive connections (ab, requests/s).
# With BENCH_BIN (a depot binary) the same PUT / GET figures come a second time from `depot bench
# --basic-auth` (BENCH_SECONDS each, default 5): exactly 16 or 32 connections, p50/p99, and a
# generator that costs far less CPU than curl's parallel mode (it shares the 2 cores with the
# server, and curl -Z spends about as much per request as either server does). Its PUTs cycle
# over 1,000 keys, so after the first pass they replace files; its GETs read those files.
# Not part of run.sh (it takes minutes); its output goes in the issue note. BENCH_ONLY=propfind
# skips the PUT/GET figures. Apache: conformance-tests/webdav/apache.sh starts one privately.
set -uo pipefail
U="${BENCH_USER:?}"; P="${BENCH_PASSWORD:?}"
N_FILES="${BENCH_FILES:-10000}"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
head -c 4096 /dev/urandom > "$W/4k"; head -c 1048576 /dev/urandom > "$W/1m"; echo small > "$W/small"

fill() {  # fill URL: N_FILES small files under URL/p10k/, 16 at a time on keep-alive connections
  local base="$1"
  curl -sS -u "$U:$P" -o /dev/null -X MKCOL "$base/p10k/"
  if [[ "$(curl -sS -u "$U:$P" -o /dev/null -w '%{http_code}' -X PROPFIND -H 'Depth: 0' "$base/p10k/f$((N_FILES - 1))")" == 207 ]]; then return; fi
  : > "$W/fill.cfg"
  for i in $(seq 0 $((N_FILES - 1))); do printf 'upload-file = "%s"\nurl = "%s/p10k/f%d"\noutput = "/dev/null"\n' "$W/small" "$base" "$i" >> "$W/fill.cfg"; done
  curl -sS -u "$U:$P" -Z --parallel-max 16 -K "$W/fill.cfg"
}

propfind() {  # median time and size of a Depth 1 PROPFIND (allprop) of URL/p10k/
  local base="$1" t=()
  for _ in 1 2 3 4 5; do
    t+=("$(curl -sS -u "$U:$P" -o "$W/pf.xml" -w '%{time_total}' -X PROPFIND -H 'Depth: 1' "$base/p10k/")")
  done
  local med; med="$(printf '%s\n' "${t[@]}" | sort -n | sed -n 3p)"
  echo "$med s, $(stat -c %s "$W/pf.xml") bytes, $(grep -o '<D:response>\|<D:response ' "$W/pf.xml" | wc -l) responses"
}

put_rps() {  # PUT n distinct files of FILE with c parallel keep-alive connections (curl -Z): requests/s
  local base="$1" c="$2" n="$3" f="$4" tag="$5"
  : > "$W/put.cfg"
  for i in $(seq 1 "$n"); do printf 'upload-file = "%s"\nurl = "%s/put-%s-%d"\noutput = "/dev/null"\n' "$f" "$base" "$tag" "$i" >> "$W/put.cfg"; done
  local t0 t1; t0=$(date +%s.%N)
  curl -sS -u "$U:$P" -Z --parallel-max "$c" -K "$W/put.cfg" 2>/dev/null
  t1=$(date +%s.%N)
  awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }'
}

rps() {  # ab requests/s: rps METHOD URL CONC N [FILE]
  local m="$1" url="$2" c="$3" n="$4" f="${5:-}"
  local args=(-k -q -c "$c" -n "$n" -A "$U:$P")
  [[ "$m" == PUT ]] && args+=(-u "$f" -T application/octet-stream)
  ab "${args[@]}" "$url" 2>&1 | awk '/Requests per second/ {print $4} /Non-2xx responses/ {print "non-2xx: " $3}' | tr '\n' ' '
}

# CPU ticks (utime+stime) of the processes a shell command lists (BENCH_PIDS_<name>, optional).
cpu_ticks() {
  local t=0 p
  for p in $(eval "$1"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}

gen() {  # depot bench against NAME's WebDAV collection: gen NAME OP URL CONC SIZE -> its result line
  local name="$1" op="$2" url="$3" c="$4" size="$5"
  local endpoint path pids_var="BENCH_PIDS_$1" t0=0 t1=0 out ops
  endpoint="$(sed -E 's#^(https?://[^/]+).*#\1#' <<<"$url")"
  path="$(sed -E 's#^https?://[^/]+/?##; s#/$##' <<<"$url")"
  [[ -n "${!pids_var:-}" ]] && t0=$(cpu_ticks "${!pids_var}")
  out=$("$BENCH_BIN" bench --endpoint "$endpoint" --basic-auth "$U:$P" --bucket "$path" --prefix "gen-$size-" \
    --keys 1000 --op "$op" --size "$size" -c "$c" -d "${BENCH_SECONDS:-5}" 2>&1 | tail -1)
  [[ -n "${!pids_var:-}" ]] && t1=$(cpu_ticks "${!pids_var}")
  ops=$(sed -nE 's/^ops=([0-9]+).*/\1/p' <<<"$out")
  echo -n "$out"
  if [[ -n "${!pids_var:-}" && "${ops:-0}" -gt 0 ]]; then
    awk -v t=$((t1 - t0)) -v n="$ops" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "; server CPU %.3f ms/request", t / hz * 1000 / n }'
  fi
  echo
}

for target in "$@"; do
  name="${target%%=*}"; base="${target#*=}"
  curl -sS -u "$U:$P" -o /dev/null -X MKCOL "$base/"
  fill "$base"
  echo "$name PROPFIND Depth 1 of $N_FILES: $(propfind "$base")"
  [[ "${BENCH_ONLY:-}" == propfind ]] && continue
  curl -sS -u "$U:$P" -o /dev/null -T "$W/4k" "$base/bench-4k"; curl -sS -u "$U:$P" -o /dev/null -T "$W/1m" "$base/bench-1m"
  for size in 4k 1m; do
    # About 3 s each: at 1 s (2,000 and 400) start-up and single stalls moved the figures by 20%.
    n=6000; [[ $size == 1m ]] && n=1200
    for c in 16 32; do
      echo "$name PUT $size c=$c (distinct keys): $(put_rps "$base" "$c" "$n" "$W/$size" "$size-$c-$RANDOM") req/s"
      echo "$name GET $size c=$c: $(rps GET "$base/bench-$size" "$c" "$n") req/s"
    done
  done
  [[ -z "${BENCH_BIN:-}" ]] && continue
  for size in 4096 1048576; do
    for c in 16 32; do
      echo "$name depot-bench PUT $size c=$c: $(gen "$name" put "$base" "$c" "$size")"
      echo "$name depot-bench GET $size c=$c: $(gen "$name" get "$base" "$c" "$size")"
    done
  done
done
