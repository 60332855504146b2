#!/usr/bin/env bash
# S3 conformance: the aws CLI v2, boto3, the JavaScript and Go SDKs, rclone and s3cmd against a running depot.
# Env (from conformance-tests/run.sh): DEPOT_ENDPOINT, DEPOT_ACCESS_KEY, DEPOT_SECRET_KEY, DEPOT_WORK.
# Prints "PASS name" / "FAIL name: why" per scenario; exits non-zero if any failed.
set -uo pipefail
# `producer | grep -q` under pipefail fails when grep exits at the first match and the producer
# is still writing (SIGPIPE, curl error 23): read the rest of the input before returning.
drain_grep() { local rc; grep "$@"; rc=$?; cat >/dev/null; return $rc; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${DEPOT_ENDPOINT:?}" "${DEPOT_ACCESS_KEY:?}" "${DEPOT_SECRET_KEY:?}"
WORK="${DEPOT_WORK:-$(mktemp -d)}/s3"
rm -rf "$WORK"; mkdir -p "$WORK"
FAILED=0
ONLY="${S3_ONLY:-}"   # e.g. S3_ONLY=awscli to run one group

export AWS_ACCESS_KEY_ID="$DEPOT_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$DEPOT_SECRET_KEY"
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
export AWS_CONFIG_FILE="$WORK/aws-config" AWS_SHARED_CREDENTIALS_FILE="$WORK/aws-credentials"
printf '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n' > "$AWS_CONFIG_FILE"
: > "$AWS_SHARED_CREDENTIALS_FILE"
export BOTO_DISABLE_CRT=true
unset AWS_CA_BUNDLE
AWS=(/usr/bin/aws --endpoint-url "$DEPOT_ENDPOINT")
RUN_ID="$(date +%s)$$"

# scenario NAME FUNCTION: runs FUNCTION, prints PASS/FAIL with the last line of its output.
scenario() {
  local name="$1"; shift
  local log="$WORK/$name.log"
  if "$@" >"$log" 2>&1; then echo "PASS $name"
  else echo "FAIL $name: $(tail -n 3 "$log" | tr '\n' ' ' | cut -c1-300)"; FAILED=$((FAILED + 1)); fi
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
same() { [[ "$(sha "$1")" == "$(sha "$2")" ]] || { echo "content differs: $1 $2"; return 1; }; }

run_group() { [[ -z "$ONLY" || "$ONLY" == *"$1"* ]]; }

# Fixtures shared by the groups: one small file and a small tree.
head -c 1000 /dev/urandom > "$WORK/small.bin"
mkdir -p "$WORK/tree/a/b" "$WORK/tree/c"
for i in 1 2 3; do head -c $((i * 3000)) /dev/urandom > "$WORK/tree/a/f$i"; done
head -c 70000 /dev/urandom > "$WORK/tree/a/b/deep.bin"; echo hello > "$WORK/tree/c/hello.txt"

# ---------------------------------------------------------------- aws CLI v2
if run_group awscli; then
B="cli-$RUN_ID"

cli_mb() { "${AWS[@]}" s3 mb "s3://$B" && "${AWS[@]}" s3 ls | drain_grep -q "$B"; }
cli_cp_small() {
  "${AWS[@]}" s3 cp "$WORK/small.bin" "s3://$B/small.bin" &&
  "${AWS[@]}" s3 cp "s3://$B/small.bin" "$WORK/small.out" && same "$WORK/small.bin" "$WORK/small.out"
}
cli_cp_multipart() {
  head -c $((100 * 1024 * 1024 + 12345)) /dev/urandom > "$WORK/big.bin"
  "${AWS[@]}" s3 cp "$WORK/big.bin" "s3://$B/big/big.bin" &&
  "${AWS[@]}" s3api head-object --bucket "$B" --key big/big.bin | drain_grep -q '"ETag": "\\"[0-9a-f]*-[0-9]*\\""' &&
  "${AWS[@]}" s3 cp "s3://$B/big/big.bin" "$WORK/big.out" && same "$WORK/big.bin" "$WORK/big.out"
}
cli_sync() {
  "${AWS[@]}" s3 sync "$WORK/tree" "s3://$B/tree" &&
  "${AWS[@]}" s3 sync "s3://$B/tree" "$WORK/tree-back" &&
  diff -r "$WORK/tree" "$WORK/tree-back" &&
  [[ -z "$("${AWS[@]}" s3 sync "$WORK/tree" "s3://$B/tree" --dryrun)" ]]
}
cli_ls_recursive() {
  local n; n=$("${AWS[@]}" s3 ls --recursive "s3://$B/tree/" | wc -l); [[ "$n" == 5 ]] || { echo "listed $n"; return 1; }
}
cli_presign() {
  local url; url=$("${AWS[@]}" s3 presign "s3://$B/small.bin" --expires-in 300) &&
  curl -sf -o "$WORK/presigned.out" "$url" && same "$WORK/small.bin" "$WORK/presigned.out"
}
cli_copy_object() {
  "${AWS[@]}" s3api copy-object --bucket "$B" --key copied.bin --copy-source "$B/small.bin" >/dev/null &&
  "${AWS[@]}" s3 cp "s3://$B/copied.bin" "$WORK/copied.out" && same "$WORK/small.bin" "$WORK/copied.out"
}
cli_range() {
  "${AWS[@]}" s3api get-object --bucket "$B" --key small.bin --range bytes=100-199 "$WORK/range.out" >/dev/null &&
  cmp <(head -c 200 "$WORK/small.bin" | tail -c 100) "$WORK/range.out"
}
cli_conditional() {
  local etag; etag=$("${AWS[@]}" s3api head-object --bucket "$B" --key small.bin --query ETag --output text) &&
  ! "${AWS[@]}" s3api get-object --bucket "$B" --key small.bin --if-none-match "$etag" "$WORK/cond.out" 2>"$WORK/cond.err" &&
  grep -q "304" "$WORK/cond.err" &&
  "${AWS[@]}" s3api get-object --bucket "$B" --key small.bin --if-match "$etag" "$WORK/cond.out" >/dev/null &&
  ! "${AWS[@]}" s3api get-object --bucket "$B" --key small.bin --if-match '"0000"' "$WORK/cond.out" 2>/dev/null
}
cli_head() {
  "${AWS[@]}" s3api head-object --bucket "$B" --key small.bin | drain_grep -q '"ContentLength": 1000' &&
  ! "${AWS[@]}" s3api head-object --bucket "$B" --key nope 2>/dev/null
}
cli_tagging() {
  "${AWS[@]}" s3api put-object-tagging --bucket "$B" --key small.bin --tagging 'TagSet=[{Key=color,Value=blue}]' &&
  "${AWS[@]}" s3api get-object-tagging --bucket "$B" --key small.bin | drain_grep -q blue
}
cli_versions() {
  "${AWS[@]}" s3api list-object-versions --bucket "$B" --prefix tree/ | grep -c '"VersionId": "null"' | drain_grep -qx 5
}
cli_v2_paging() {
  local n; n=$("${AWS[@]}" s3api list-objects-v2 --bucket "$B" --page-size 2 --query 'Contents[].Key' --output text | wc -w)
  [[ "$n" == 8 ]] || { echo "paged $n keys"; return 1; }
}
cli_rm_rb() {
  "${AWS[@]}" s3 rm --recursive "s3://$B" && "${AWS[@]}" s3 rb "s3://$B" && ! "${AWS[@]}" s3 ls | drain_grep -q "$B"
}
scenario awscli-mb cli_mb
scenario awscli-cp-small cli_cp_small
scenario awscli-cp-multipart-100MiB cli_cp_multipart
scenario awscli-sync-both-ways cli_sync
scenario awscli-ls-recursive cli_ls_recursive
scenario awscli-presign-curl cli_presign
scenario awscli-copy-object cli_copy_object
scenario awscli-get-range cli_range
scenario awscli-conditional-get cli_conditional
scenario awscli-head-object cli_head
scenario awscli-tagging cli_tagging
scenario awscli-list-object-versions cli_versions
scenario awscli-list-objects-v2-paging cli_v2_paging
scenario awscli-rm-recursive-rb cli_rm_rb
rm -f "$WORK/big.bin" "$WORK/big.out"
fi

# ---------------------------------------------------------------- boto3 (scenarios print their own lines)
if run_group boto3; then
  /usr/bin/python3 "$HERE/boto3_suite.py" "$WORK" "boto-$RUN_ID" || FAILED=$((FAILED + 1))
fi

# ---------------------------------------------------------------- beyond the shared server
# Virtual-hosted style (a second server with --s3-base-domain), quota before 100-continue,
# signature failures feeding the brute-force defence (their own users and source addresses).
if run_group extra; then
  if [[ -n "${DEPOT_BIN:-}" && -n "${DEPOT_DATABASE_URL:-}" && -n "${DEPOT_DATA_DIR:-}" ]]; then
    mkdir -p "$WORK/extra"
    timeout 600 /usr/bin/python3 "$HERE/extra_suite.py" "$WORK/extra" "$RUN_ID" || FAILED=$((FAILED + 1))
  else
    echo "FAIL s3-extra: DEPOT_BIN, DEPOT_DATABASE_URL and DEPOT_DATA_DIR are needed"; FAILED=$((FAILED + 1))
  fi
fi

# ---------------------------------------------------------------- JavaScript SDK v3
if run_group js; then
  JS="$WORK/js"; mkdir -p "$JS"; cp "$HERE/js_suite.mjs" "$JS/"
  if (cd "$JS" && npm init -y >/dev/null 2>&1 && timeout 300 npm install --no-audit --no-fund --silent \
        @aws-sdk/client-s3 @aws-sdk/lib-storage @aws-sdk/s3-request-presigner >"$JS/npm.log" 2>&1); then
    (cd "$JS" && timeout 300 node js_suite.mjs "js-$RUN_ID") || FAILED=$((FAILED + 1))
  else
    echo "FAIL js-sdk-install: $(tail -n 2 "$JS/npm.log" | tr '\n' ' ')"; FAILED=$((FAILED + 1))
  fi
fi

# ---------------------------------------------------------------- Go SDK v2
if run_group go; then
  GO_DIR="$WORK/go"; mkdir -p "$GO_DIR"
  # Debian's packaged SDK, built offline in GOPATH mode.
  if (cd "$GO_DIR" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$GO_DIR/cache" GOFLAGS= \
        timeout 600 go build -o go_suite "$HERE/go_suite.go" >"$GO_DIR/build.log" 2>&1); then
    (cd "$GO_DIR" && timeout 300 ./go_suite "go-$RUN_ID") || FAILED=$((FAILED + 1))
  else
    echo "FAIL go-sdk-build: $(tail -n 2 "$GO_DIR/build.log" | tr '\n' ' ')"; FAILED=$((FAILED + 1))
  fi
  rm -rf "$GO_DIR/cache"
fi

# ---------------------------------------------------------------- rclone
if run_group rclone; then
export RCLONE_CONFIG="$WORK/rclone.conf"
cat > "$RCLONE_CONFIG" <<CONF
[depot]
type = s3
provider = Other
access_key_id = $DEPOT_ACCESS_KEY
secret_access_key = $DEPOT_SECRET_KEY
endpoint = $DEPOT_ENDPOINT
force_path_style = true
region = us-east-1
CONF
RB="rclone-$RUN_ID"
rc() { env -u AWS_CA_BUNDLE rclone --config "$RCLONE_CONFIG" "$@"; }
rclone_copy() { rc mkdir "depot:$RB" && rc copy "$WORK/tree" "depot:$RB/tree" && rc copy "depot:$RB/tree" "$WORK/rclone-back" && diff -r "$WORK/tree" "$WORK/rclone-back"; }
rclone_sync() { echo changed > "$WORK/tree/c/hello.txt"; rc sync "$WORK/tree" "depot:$RB/tree" && rc check "$WORK/tree" "depot:$RB/tree"; }
rclone_moveto() { rc moveto "depot:$RB/tree/c/hello.txt" "depot:$RB/moved.txt" && rc cat "depot:$RB/moved.txt" | drain_grep -q changed && ! rc lsf "depot:$RB/tree/c/" | drain_grep -q hello; }
rclone_purge() { rc purge "depot:$RB" && ! rc lsd depot: | drain_grep -q "$RB"; }
scenario rclone-copy rclone_copy
scenario rclone-sync-check rclone_sync
scenario rclone-moveto rclone_moveto
scenario rclone-purge rclone_purge
fi

# ---------------------------------------------------------------- s3cmd
if run_group s3cmd; then
HOSTPORT="${DEPOT_ENDPOINT#http://}"
cat > "$WORK/s3cfg" <<CONF
[default]
access_key = $DEPOT_ACCESS_KEY
secret_key = $DEPOT_SECRET_KEY
host_base = $HOSTPORT
host_bucket = $HOSTPORT
use_https = False
signature_v2 = False
bucket_location = us-east-1
CONF
SB="s3cmd-$RUN_ID"
s3c() { s3cmd -c "$WORK/s3cfg" "$@"; }
s3cmd_put_get() { s3c mb "s3://$SB" && s3c put "$WORK/small.bin" "s3://$SB/small.bin" && s3c get --force "s3://$SB/small.bin" "$WORK/s3cmd.out" && same "$WORK/small.bin" "$WORK/s3cmd.out"; }
s3cmd_ls() { s3c ls "s3://$SB" | drain_grep -q small.bin; }
s3cmd_sync() { s3c sync "$WORK/tree/" "s3://$SB/tree/" && s3c sync "s3://$SB/tree/" "$WORK/s3cmd-back/" && diff -r "$WORK/tree" "$WORK/s3cmd-back"; }
s3cmd_del() { s3c del --recursive --force "s3://$SB" && s3c rb "s3://$SB"; }
scenario s3cmd-put-get s3cmd_put_get
scenario s3cmd-ls s3cmd_ls
scenario s3cmd-sync s3cmd_sync
scenario s3cmd-del s3cmd_del
fi

exit $((FAILED > 0))
