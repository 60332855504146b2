#!/usr/bin/env bash
# WebDAV conformance: litmus 0.13 (basic, copymove, props, locks, http), a scripted cadaver
# session, rclone's webdav backend (vendor=other and owncloud), and cross-protocol checks.
# Env (from conformance-tests/run.sh): DEPOT_ENDPOINT, DEPOT_TEST_USER, DEPOT_TEST_PASSWORD,
# DEPOT_WORK; DEPOT_ACCESS_KEY / DEPOT_SECRET_KEY for the S3 side of the cross-protocol checks.
# Prints "PASS name" / "FAIL name: why" per scenario; exits non-zero if any failed.
# Also: collection ETags, dead properties and locks following DELETE/MOVE/COPY, a real davfs2
# kernel mount, the largefile scenario (litmus' largefile suite is not in Debian's build), and
# Basic authentication (immediate revocation, the shared brute-force throttle), and malformed
# bodies and names a fuzzer found accepted.
# WEBDAV_ONLY=litmus (or cadaver, rclone, cross, quirks, etag, propsfollow, davfs2, largefile,
# auth, malformed) runs one group.
set -uo pipefail
# `producer | grep -q` under pipefail fails when grep exits at the first match and the producer
# is still writing (SIGPIPE, curl error 23): read the rest of the input before returning.
drain_grep() { local rc; grep "$@"; rc=$?; cat >/dev/null; return $rc; }
: "${DEPOT_ENDPOINT:?}" "${DEPOT_TEST_USER:?}" "${DEPOT_TEST_PASSWORD:?}"
WORK="${DEPOT_WORK:-$(mktemp -d)}/webdav"
rm -rf "$WORK"; mkdir -p "$WORK"
FAILED=0
ONLY="${WEBDAV_ONLY:-}"
EP="$DEPOT_ENDPOINT"
U="$DEPOT_TEST_USER"; P="$DEPOT_TEST_PASSWORD"
RUN_ID="$(date +%s)$$"
B="dav-$RUN_ID"
DAV="$EP/dav/$B"

scenario() {
  local name="$1"; shift
  local log="$WORK/$name.log"
  if "$@" >"$log" 2>&1; then echo "PASS $name"
  else echo "FAIL $name: $(tail -n 3 "$log" | tr '\n' ' ' | cut -c1-300)"; FAILED=$((FAILED + 1)); fi
}
run_group() { [[ -z "$ONLY" || "$ONLY" == *"$1"* ]]; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
same() { [[ "$(sha "$1")" == "$(sha "$2")" ]] || { echo "content differs: $1 $2"; return 1; }; }
dav() { curl -sS -u "$U:$P" -o /dev/null -w '%{http_code}' "$@"; }
expect() { local want="$1"; shift; local got; got="$(dav "$@")"; [[ "$got" == "$want" ]] || { echo "$* -> $got, want $want"; return 1; }; }

make_bucket() { expect 201 -X MKCOL "$DAV/"; }
# Keys whose parents have no marker (implied collections) can only be written over S3.
s3() { curl -sS --aws-sigv4 "aws:amz:us-east-1:s3" --user "${DEPOT_ACCESS_KEY:?}:${DEPOT_SECRET_KEY:?}" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"; }
s3_put() { local code; code="$(s3 -o /dev/null -w '%{http_code}' --data-binary "$2" -X PUT "$EP/$B/$1")"; [[ $code == 200 ]] || { echo "S3 PUT $1: $code"; return 1; }; }
scenario bucket-via-mkcol make_bucket

# ---------------------------------------------------------------- litmus
if run_group litmus; then
  # One line per litmus test; the suites' totals go in the log.
  (cd "$WORK" && HOME="$WORK" timeout 600 litmus -k "$DAV/" "$U" "$P" >"$WORK/litmus.out" 2>&1)
  total=0; passed=0
  suite=""; current=""
  while IFS= read -r line; do
    line="${line##*$'\r'}"   # litmus redraws each test line after a carriage return
    if [[ "$line" =~ ^-\>\ running\ \`([a-z]+)\' ]]; then suite="${BASH_REMATCH[1]}"; continue; fi
    if [[ "$line" =~ [0-9]+\.\ ([a-z0-9_]+)[.\ ] ]]; then current="${BASH_REMATCH[1]}"; fi
    # "... pass" / "... FAIL (reason)" / "... SKIPPED"; a warning puts the result on its own line.
    if [[ "$line" =~ \ (pass|FAIL|SKIPPED)(\ .*)?$ ]]; then
      res="${BASH_REMATCH[1]}"; why="${BASH_REMATCH[2]}"
      total=$((total + 1))
      if [[ "$res" == pass ]]; then passed=$((passed + 1)); echo "PASS litmus-$suite-$current"
      else echo "FAIL litmus-$suite-$current: $res$why"; FAILED=$((FAILED + 1)); fi
    fi
  done < "$WORK/litmus.out"
  echo "# litmus: $passed of $total passed"
  [[ $total -gt 0 ]] || { echo "FAIL litmus: no test ran: $(tail -n 3 "$WORK/litmus.out" | tr '\n' ' ')"; FAILED=$((FAILED + 1)); }
fi

# ---------------------------------------------------------------- cadaver
if run_group cadaver; then
cadaver_session() {
  local d="$WORK/cadaver"; mkdir -p "$d/home"
  printf 'machine %s\nlogin %s\npassword %s\n' "$(echo "$EP" | sed -E 's#^https?://##; s#[:/].*##')" "$U" "$P" > "$d/home/.netrc"
  chmod 600 "$d/home/.netrc"
  head -c 200000 /dev/urandom > "$d/up.bin"
  cat > "$d/script" <<EOF
mkcol cad
cd cad
put $d/up.bin up.bin
ls
copy up.bin copy.bin
move copy.bin moved.bin
get moved.bin $d/down.bin
propset up.bin color blue
propget up.bin color
lock up.bin
discover up.bin
unlock up.bin
rm moved.bin
ls
quit
EOF
  (cd "$d" && HOME="$d/home" timeout 120 cadaver "$DAV/" < "$d/script") > "$d/out" 2>&1
  cat "$d/out"
  same "$d/up.bin" "$d/down.bin" || return 1
  grep -q "blue" "$d/out" || { echo "propget did not return the value"; return 1; }
  grep -qi "lock" "$d/out" || return 1
  ! grep -Eqi "failed|error" "$d/out"
}
scenario cadaver-session cadaver_session
fi

# ---------------------------------------------------------------- rclone
if run_group rclone; then
  unset AWS_CA_BUNDLE
  export RCLONE_CONFIG="$WORK/rclone.conf"; : > "$RCLONE_CONFIG"
  OBS="$(rclone obscure "$P")"
  mkdir -p "$WORK/tree/a/b" "$WORK/tree/c d"
  for i in 1 2 3; do head -c $((i * 5000)) /dev/urandom > "$WORK/tree/a/f$i"; done
  head -c 300000 /dev/urandom > "$WORK/tree/a/b/deep.bin"; echo hello > "$WORK/tree/c d/hé llo #1.txt"
  for vendor in other owncloud; do
    R=":webdav,url='$DAV/rc-$vendor',vendor=$vendor,user='$U',pass='$OBS':"
    dav -X MKCOL "$DAV/rc-$vendor/" >/dev/null  # rclone expects its root to exist
    rc_copy() { rclone copy "$WORK/tree" "$R" && rclone check "$WORK/tree" "$R" --download; }
    rc_sync() {
      echo changed > "$WORK/tree/a/f1"; rm -f "$WORK/tree/a/f2"
      rclone sync "$WORK/tree" "$R" && rclone check "$WORK/tree" "$R" --download
    }
    rc_moveto() { rclone moveto "$R/a/f3" "$R/a/f3-moved" && rclone lsf "$R/a" | drain_grep -q '^f3-moved$' && ! rclone lsf "$R/a" | drain_grep -q '^f3$'; }
    rc_back() { rclone copy "$R" "$WORK/back-$vendor" && same "$WORK/tree/a/b/deep.bin" "$WORK/back-$vendor/a/b/deep.bin"; }
    rc_purge() { rclone purge "$R/a" && ! rclone lsf "$R" | drain_grep -q '^a/$'; }
    scenario "rclone-$vendor-copy-check" rc_copy
    scenario "rclone-$vendor-sync" rc_sync
    scenario "rclone-$vendor-moveto" rc_moveto
    scenario "rclone-$vendor-copy-back" rc_back
    scenario "rclone-$vendor-purge" rc_purge
  done
  rc_hashes() { rclone copy "$WORK/tree" ":webdav,url='$DAV/rc-owncloud',vendor=owncloud,user='$U',pass='$OBS':" && rclone hashsum MD5 ":webdav,url='$DAV/rc-owncloud',vendor=owncloud,user='$U',pass='$OBS':" | tee /dev/stderr | grep -Eq '^[0-9a-f]{32}  a/b/deep.bin$'; }
  scenario rclone-owncloud-md5 rc_hashes
fi

# ---------------------------------------------------------------- client quirks
if run_group quirks; then
  q_options_anon() {
    local h; h="$(curl -sS -i -X OPTIONS "$EP/")"
    grep -qi '^DAV: 1, 2' <<<"$h" && grep -qi '^MS-Author-Via: DAV' <<<"$h"
  }
  q_windows() {
    # empty PUT, LOCK, PUT with the token, PROPPATCH Win32* without a token, UNLOCK without <>
    expect 201 -X PUT --data-binary '' "$DAV/win.txt" || return 1
    local out tok
    out="$(curl -sS -i -u "$U:$P" -X LOCK -H 'Timeout: Infinite, Second-4100000000' -H 'Content-Type: text/xml' \
      --data-binary '<?xml version="1.0" encoding="utf-8" ?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>WIN\me</D:href></D:owner></D:lockinfo>' \
      "$DAV/win.txt")"
    tok="$(grep -i '^Lock-Token:' <<<"$out" | sed -E 's/^[^<]*<([^>]*)>.*/\1/' | tr -d '\r')"
    [[ -n "$tok" ]] || { echo "no lock token: $out"; return 1; }
    expect 204 -X PUT -H "If: (<$tok>)" --data-binary 'hello windows' "$DAV/win.txt" || return 1
    expect 207 -X PROPPATCH -H "If: (<$tok>)" --data-binary '<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32CreationTime>Wed, 25 Nov 2026 10:00:00 GMT</Z:Win32CreationTime><Z:Win32LastModifiedTime>Wed, 25 Nov 2026 10:00:00 GMT</Z:Win32LastModifiedTime><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>' "$DAV/win.txt" || return 1
    expect 204 -X UNLOCK -H "Lock-Token: $tok" "$DAV/win.txt" || return 1
    curl -sS -u "$U:$P" -I "$DAV/win.txt" | drain_grep -qi 'Last-Modified: Wed, 25 Nov 2026 10:00:00 GMT'
  }
  q_macos_chunked() {
    head -c 100000 /dev/urandom > "$WORK/mac.bin"
    expect 201 -X PUT -H 'Transfer-Encoding: chunked' -H 'X-Expected-Entity-Length: 100000' --data-binary @"$WORK/mac.bin" "$DAV/._mac.bin" || return 1
    curl -sS -u "$U:$P" -o "$WORK/mac.out" "$DAV/._mac.bin" && same "$WORK/mac.bin" "$WORK/mac.out"
  }
  q_oc_mtime() {
    local h; h="$(curl -sS -i -u "$U:$P" -X PUT -H 'X-OC-Mtime: 1500000000' --data-binary 'x' "$DAV/mtime.txt")"
    grep -qi '^X-OC-Mtime: accepted' <<<"$h" && curl -sS -u "$U:$P" -I "$DAV/mtime.txt" | drain_grep -qi 'Last-Modified: Fri, 14 Jul 2017 02:40:00 GMT'
  }
  q_bad_bucket() { expect 403 -X MKCOL "$EP/dav/Not_A_Bucket/"; }
  q_names() {
    local n="sp ace%25#hash+plus-é"
    local enc; enc="$(/usr/bin/python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1]))' "$n")"
    expect 201 -X PUT --data-binary 'x' "$DAV/$enc" && expect 200 "$DAV/$enc" &&
    curl -sS -u "$U:$P" -X PROPFIND -H 'Depth: 1' "$DAV/" | drain_grep -q "$enc"
  }
  q_dotdot() { expect 400 --path-as-is "$DAV/a/../b"; }
  # Names and Content-Type are UTF-8: other bytes get a 400, never a 500, and nothing is stored.
  q_not_utf8() {
    expect 400 -X PUT --data-binary 'x' "$DAV/bad%FFname" && expect 400 -X PROPFIND -H 'Depth: 0' "$DAV/bad%C3%28/" &&
      expect 400 -X PUT -H $'Content-Type: text/\xff' --data-binary 'x' "$DAV/latin1-type.txt" &&
      expect 404 "$DAV/latin1-type.txt" &&
      [[ "$(curl -sS -o /dev/null -w '%{http_code}' -u $'\xff\xfe:pass' "$DAV/")" == 401 ]]
  }
  q_quota() { curl -sS -u "$U:$P" -X PROPFIND -H 'Depth: 0' --data-binary '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>' "$DAV/" | drain_grep -q 'quota-available-bytes>[0-9]'; }
  q_depth_inf() { local body; body="$(curl -sS -u "$U:$P" -X PROPFIND -H 'Depth: infinity' "$DAV/")"; grep -q 'propfind-finite-depth' <<<"$body"; }
  q_quota_507() {
    # Over the limit: 507 before "100 Continue", so the refused body is never sent.
    [[ -n "${DEPOT_BIN:-}" && -n "${DEPOT_DATABASE_URL:-}" ]] || { echo "needs DEPOT_BIN and DEPOT_DATABASE_URL"; return 1; }
    local plan="tiny$RUN_ID" user="davq$RUN_ID" pw='Quota-pass-123!' qb="q-$RUN_ID"
    "$DEPOT_BIN" plan add "$plan" --bytes 10000 --database-url "$DEPOT_DATABASE_URL" || return 1
    echo "$pw" | "$DEPOT_BIN" user add "$user" --email "$user@example.com" --plan "$plan" --password-stdin \
      --database-url "$DEPOT_DATABASE_URL" >/dev/null || return 1
    head -c 4000 /dev/urandom > "$WORK/q-small.bin"; head -c 20000 /dev/urandom > "$WORK/q-big.bin"
    local code
    code="$(curl -sS -u "$user:$pw" -o /dev/null -w '%{http_code}' -X MKCOL "$EP/dav/$qb/")"; [[ $code == 201 ]] || { echo "mkcol $code"; return 1; }
    code="$(curl -sS -u "$user:$pw" -o /dev/null -w '%{http_code}' -T "$WORK/q-small.bin" "$EP/dav/$qb/small")"; [[ $code == 201 ]] || { echo "small put $code"; return 1; }
    local v; v="$(curl -sS -v -u "$user:$pw" -H 'Expect: 100-continue' -T "$WORK/q-big.bin" "$EP/dav/$qb/big" 2>&1)"
    grep -q '^< HTTP/1.1 507' <<<"$v" || { echo "big put: $(grep '^< HTTP' <<<"$v")"; return 1; }
    ! grep -q '^< HTTP/1.1 100' <<<"$v" || { echo "100 Continue sent before 507"; return 1; }
    # reads, deletes and the quota properties still work
    code="$(curl -sS -u "$user:$pw" -o /dev/null -w '%{http_code}' "$EP/dav/$qb/small")"; [[ $code == 200 ]] || return 1
    curl -sS -u "$user:$pw" -X PROPFIND -H 'Depth: 0' --data-binary '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/></D:prop></D:propfind>' "$EP/dav/$qb/" | drain_grep -q 'quota-used-bytes>4000<'
  }
  q_gnome_if_match() {
    # gvfs: HEAD, then PUT with If-Match of the ETag it saw; a stale ETag must fail.
    expect 201 -X PUT --data-binary 'v1' "$DAV/gnome.txt" || return 1
    local etag; etag="$(curl -sS -u "$U:$P" -I "$DAV/gnome.txt" | grep -i '^ETag:' | cut -d' ' -f2 | tr -d '\r')"
    expect 204 -X PUT -H "If-Match: $etag" --data-binary 'v2' "$DAV/gnome.txt" || return 1
    expect 412 -X PUT -H "If-Match: $etag" --data-binary 'v3' "$DAV/gnome.txt"
  }
  q_davfs2_tagged_if() {
    # davfs2: LOCK, then PUT with a tagged If naming the absolute URL, then UNLOCK.
    expect 201 -X PUT --data-binary 'x' "$DAV/davfs.txt" || return 1
    local out tok
    out="$(curl -sS -i -u "$U:$P" -X LOCK -H 'Timeout: Second-300' --data-binary '<?xml version="1.0"?><lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope><locktype><write/></locktype><owner>davfs2</owner></lockinfo>' "$DAV/davfs.txt")"
    tok="$(grep -i '^Lock-Token:' <<<"$out" | sed -E 's/^[^<]*<([^>]*)>.*/\1/' | tr -d '\r')"
    expect 423 -X PUT --data-binary 'y' "$DAV/davfs.txt" || return 1
    expect 204 -X PUT -H "If: <$DAV/davfs.txt> (<$tok>)" --data-binary 'y' "$DAV/davfs.txt" || return 1
    expect 204 -X UNLOCK -H "Lock-Token: <$tok>" "$DAV/davfs.txt"
  }
  scenario quirk-gnome-if-match q_gnome_if_match
  scenario quirk-davfs2-tagged-if q_davfs2_tagged_if
  scenario quirk-quota-507-before-continue q_quota_507
  scenario quirk-options-unauthenticated q_options_anon
  scenario quirk-windows-lock-sequence q_windows
  scenario quirk-macos-chunked-put q_macos_chunked
  scenario quirk-oc-mtime q_oc_mtime
  scenario quirk-mkcol-invalid-bucket q_bad_bucket
  scenario quirk-names-encoding q_names
  scenario quirk-names-not-utf8 q_not_utf8
  scenario quirk-dotdot-refused q_dotdot
  scenario quirk-quota-props q_quota
  scenario quirk-propfind-depth-infinity-refused q_depth_inf
fi

# ---------------------------------------------------------------- cross-protocol
if run_group cross && [[ -n "${DEPOT_ACCESS_KEY:-}" && -x /usr/bin/aws ]]; then
  export AWS_ACCESS_KEY_ID="$DEPOT_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$DEPOT_SECRET_KEY"
  export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
  export AWS_CONFIG_FILE="$WORK/aws-config" AWS_SHARED_CREDENTIALS_FILE="$WORK/aws-credentials"
  printf '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n' > "$AWS_CONFIG_FILE"; : > "$AWS_SHARED_CREDENTIALS_FILE"
  unset AWS_CA_BUNDLE
  AWS=(/usr/bin/aws --endpoint-url "$EP")
  x_dav_to_s3() {
    head -c 150000 /dev/urandom > "$WORK/x1.bin"
    local etag; etag="$(curl -sS -u "$U:$P" -T "$WORK/x1.bin" -D - -o /dev/null "$DAV/x/x1.bin" | grep -i '^ETag:' | tr -d '\r' | cut -d' ' -f2)"
    [[ -z "$etag" ]] && { expect 201 -X MKCOL "$DAV/x/"; etag="$(curl -sS -u "$U:$P" -T "$WORK/x1.bin" -D - -o /dev/null "$DAV/x/x1.bin" | grep -i '^ETag:' | tr -d '\r' | cut -d' ' -f2)"; }
    "${AWS[@]}" s3api head-object --bucket "$B" --key x/x1.bin | drain_grep -q "$(sed 's/"/\\\\"/g' <<<"$etag")" &&
    "${AWS[@]}" s3 cp "s3://$B/x/x1.bin" "$WORK/x1.out" && same "$WORK/x1.bin" "$WORK/x1.out"
  }
  x_s3_to_dav() {
    head -c 90000 /dev/urandom > "$WORK/x2.bin"
    "${AWS[@]}" s3 cp "$WORK/x2.bin" "s3://$B/s3dir/x2.bin" >/dev/null &&
    curl -sS -u "$U:$P" -o "$WORK/x2.out" "$DAV/s3dir/x2.bin" && same "$WORK/x2.bin" "$WORK/x2.out" &&
    curl -sS -u "$U:$P" -X PROPFIND -H 'Depth: 1' "$DAV/s3dir/" | drain_grep -q 'x2.bin'
  }
  x_mkcol_marker() { expect 201 -X MKCOL "$DAV/emptydir/" && "${AWS[@]}" s3api list-objects-v2 --bucket "$B" --prefix emptydir/ | drain_grep -q '"Key": "emptydir/"'; }
  x_unshowable_keys() {
    # Keys WebDAV cannot show (empty or dot segments) are written over S3 and skipped in
    # listings; their URLs are refused with 400, never mapped to another key.
    echo a > "$WORK/x3"
    "${AWS[@]}" s3 cp "$WORK/x3" "s3://$B/odd/a//b" >/dev/null && "${AWS[@]}" s3 cp "$WORK/x3" "s3://$B/odd/ok" >/dev/null || return 1
    local body; body="$(curl -sS -u "$U:$P" -X PROPFIND -H 'Depth: 1' "$DAV/odd/a/")"
    grep -q 'multistatus' <<<"$body" && ! grep -q '/odd/a//' <<<"$body" || { echo "listing shows an empty segment: $body"; return 1; }
    expect 400 --path-as-is "$DAV/odd/a//b" && expect 200 "$DAV/odd/ok"
  }
  scenario cross-unshowable-keys x_unshowable_keys
  scenario cross-dav-put-s3-get x_dav_to_s3
  scenario cross-s3-put-dav-get x_s3_to_dav
  scenario cross-mkcol-is-marker x_mkcol_marker
fi

# ---------------------------------------------------------------- collection ETags
if run_group etag; then
  # Every collection has a getetag, marked (MKCOL) or implied by keys, the same at Depth 0 and 1.
  et_collections() {
    expect 201 -X MKCOL "$DAV/et/" && expect 201 -X MKCOL "$DAV/et/sub/" &&
    s3_put et/implied/f x && expect 201 -X PUT --data-binary y "$DAV/et/file" || return 1
    curl -sS -u "$U:$P" -X PROPFIND -H 'Depth: 1' "$DAV/et/" > "$WORK/et1.xml" || return 1
    curl -sS -u "$U:$P" -X PROPFIND -H 'Depth: 0' "$DAV/et/sub/" > "$WORK/et-sub.xml" || return 1
    curl -sS -u "$U:$P" -X PROPFIND -H 'Depth: 0' "$DAV/et/implied/" > "$WORK/et-implied.xml" || return 1
    /usr/bin/python3 - "$WORK" <<'PY'
import sys, xml.etree.ElementTree as ET
d = sys.argv[1]; D = "{DAV:}"
def etags(f):
    out = {}
    for r in ET.parse(f).getroot().iter(D + "response"):
        href = r.find(D + "href").text
        e = r.find(".//" + D + "getetag")
        out[href] = e.text if e is not None else None
    return out
one = etags(d + "/et1.xml")
print(one)
assert len(one) == 4, one
for href, e in one.items():
    assert e and e.startswith('"') and len(e) > 2, f"{href} has no getetag"
for name in ("sub", "implied"):
    zero = etags(f"{d}/et-{name}.xml")
    (href, e), = zero.items()
    assert one.get(href) == e, f"Depth 0 {e} != Depth 1 {one.get(href)} for {href}"
assert len(set(one.values())) == 4, "ETags are not distinct"
PY
  }
  et_pages() {
    # A Depth 1 listing over page boundaries: 600 files, a child collection implied by 1,000 keys
    # (it straddles the first page), 600 more files, a marked and an implied collection.
    local d="$WORK/pages"; mkdir -p "$d"; echo x > "$d/x"; : > "$d/fill.cfg"
    local i
    for i in $(seq -w 0 599); do printf 'upload-file = "%s"\nurl = "%s"\noutput = "/dev/null"\n' "$d/x" "$DAV/pg/a$i" "$d/x" "$DAV/pg/c$i" >> "$d/fill.cfg"; done
    : > "$d/fill-s3.cfg"
    for i in $(seq -w 0 999); do printf 'upload-file = "%s"\nurl = "%s"\noutput = "/dev/null"\n' "$d/x" "$EP/$B/pg/b/k$i" >> "$d/fill-s3.cfg"; done
    expect 201 -X MKCOL "$DAV/pg/" || return 1
    curl -sS -u "$U:$P" -Z --parallel-max 16 -K "$d/fill.cfg" || return 1
    s3 -Z --parallel-max 16 -K "$d/fill-s3.cfg" && s3_put pg/e/x x || return 1
    expect 201 -X MKCOL "$DAV/pg/d/" || return 1
    curl -sS -u "$U:$P" -X PROPFIND -H 'Depth: 1' "$DAV/pg/" > "$d/list.xml" || return 1
    /usr/bin/python3 - "$d/list.xml" "/dav/$B/pg/" <<'PY'
import sys, xml.etree.ElementTree as ET
D = "{DAV:}"; base = sys.argv[2]
hrefs = [r.find(D + "href").text for r in ET.parse(sys.argv[1]).getroot().iter(D + "response")]
want = [base] + [f"{base}a{i:03d}" for i in range(600)] + [base + "b/"] + [f"{base}c{i:03d}" for i in range(600)] + [base + "d/", base + "e/"]
assert sorted(hrefs) == sorted(want), f"{len(hrefs)} responses; missing {sorted(set(want) - set(hrefs))[:5]}, extra {sorted(set(hrefs) - set(want))[:5]}"
assert len(hrefs) == len(set(hrefs)), "duplicate responses"
print(len(hrefs), "responses")
PY
  }
  scenario etag-collections-depth-0-and-1 et_collections
  scenario propfind-depth1-across-pages et_pages
fi

# ---------------------------------------------------------------- dead props and locks follow
if run_group propsfollow; then
  pf_set() { expect 207 -X PROPPATCH --data-binary "<?xml version=\"1.0\"?><D:propertyupdate xmlns:D=\"DAV:\" xmlns:X=\"urn:depot-test\"><D:set><D:prop><X:color>$2</X:color></D:prop></D:set></D:propertyupdate>" "$DAV/$1"; }
  pf_get() {  # prints the color of $1 or nothing
    curl -sS -u "$U:$P" -X PROPFIND -H 'Depth: 0' --data-binary '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><X:color xmlns:X="urn:depot-test"/></D:prop></D:propfind>' "$DAV/$1" |
      /usr/bin/python3 -c 'import sys,re; m=re.search(r"<ns0:color[^>]*>([^<]*)</ns0:color>", sys.stdin.read()); print(m.group(1) if m else "")'
  }
  pf_is() { local got; got="$(pf_get "$1")"; [[ "$got" == "$2" ]] || { echo "$1: color '$got', want '$2'"; return 1; }; }
  pf_files() {
    expect 201 -X MKCOL "$DAV/pf/" && expect 201 -X PUT --data-binary a "$DAV/pf/a.txt" && pf_set pf/a.txt red || return 1
    expect 201 -X COPY -H "Destination: $DAV/pf/b.txt" "$DAV/pf/a.txt" && pf_is pf/b.txt red || return 1
    pf_set pf/b.txt blue && pf_is pf/a.txt red || return 1   # the copy's props are its own
    expect 201 -X MOVE -H "Destination: $DAV/pf/c.txt" "$DAV/pf/a.txt" && pf_is pf/c.txt red || return 1
    expect 201 -X PUT --data-binary new "$DAV/pf/a.txt" && pf_is pf/a.txt "" || return 1   # not resurrected
    expect 204 -X MOVE -H "Destination: $DAV/pf/c.txt" "$DAV/pf/b.txt" && pf_is pf/c.txt blue || return 1  # over a file
    expect 204 -X DELETE "$DAV/pf/c.txt" && expect 201 -X PUT --data-binary again "$DAV/pf/c.txt" && pf_is pf/c.txt ""
  }
  pf_collections() {
    expect 201 -X MKCOL "$DAV/pfc/" && expect 201 -X MKCOL "$DAV/pfc/dir/" && expect 201 -X PUT --data-binary x "$DAV/pfc/dir/x" &&
    s3_put pfc/dir/deep/y y || return 1
    pf_set pfc/dir/ green && pf_set pfc/dir/x gold && pf_set pfc/dir/deep/y pink || return 1
    expect 201 -X MOVE -H "Destination: $DAV/pfc/moved/" "$DAV/pfc/dir/" || return 1
    pf_is pfc/moved/ green && pf_is pfc/moved/x gold && pf_is pfc/moved/deep/y pink || return 1
    expect 201 -X MKCOL "$DAV/pfc/dir/" && expect 201 -X PUT --data-binary x "$DAV/pfc/dir/x" || return 1
    pf_is pfc/dir/ "" && pf_is pfc/dir/x "" || return 1
    expect 201 -X COPY -H "Destination: $DAV/pfc/copied/" "$DAV/pfc/moved/" || return 1
    pf_is pfc/copied/ green && pf_is pfc/copied/x gold && pf_is pfc/copied/deep/y pink && pf_is pfc/moved/x gold || return 1
    # Depth 0: an empty collection with the source's own properties (written in one transaction)
    expect 201 -X COPY -H "Depth: 0" -H "Destination: $DAV/pfc/shallow/" "$DAV/pfc/moved/" || return 1
    pf_is pfc/shallow/ green && expect 404 -X PROPFIND -H "Depth: 0" "$DAV/pfc/shallow/x" || return 1
    expect 204 -X DELETE "$DAV/pfc/copied/" && expect 201 -X MKCOL "$DAV/pfc/copied/" && expect 201 -X PUT --data-binary z "$DAV/pfc/copied/x" || return 1
    pf_is pfc/copied/ "" && pf_is pfc/copied/x "" || return 1
    # an implied collection (no marker) keeps its members' props through MOVE
    expect 201 -X MOVE -H "Destination: $DAV/pfc/moved2/" "$DAV/pfc/moved/deep/" && pf_is pfc/moved2/y pink
  }
  pf_locks() {
    expect 201 -X PUT --data-binary l "$DAV/pf/l.txt" || return 1
    local tok; tok="$(curl -sS -i -u "$U:$P" -X LOCK -H 'Timeout: Second-300' --data-binary '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>' "$DAV/pf/l.txt" | grep -i '^Lock-Token:' | sed -E 's/^[^<]*<([^>]*)>.*/\1/' | tr -d '\r')"
    [[ -n "$tok" ]] || { echo "no lock token"; return 1; }
    expect 201 -X MOVE -H "If: (<$tok>)" -H "Destination: $DAV/pf/l2.txt" "$DAV/pf/l.txt" || return 1
    expect 201 -X PUT --data-binary again "$DAV/pf/l.txt" || return 1   # the lock went with the MOVE
    tok="$(curl -sS -i -u "$U:$P" -X LOCK -H 'Timeout: Second-300' --data-binary '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>' "$DAV/pf/l.txt" | grep -i '^Lock-Token:' | sed -E 's/^[^<]*<([^>]*)>.*/\1/' | tr -d '\r')"
    expect 423 -X DELETE "$DAV/pf/l.txt" && expect 204 -X DELETE -H "If: (<$tok>)" "$DAV/pf/l.txt" || return 1
    expect 201 -X PUT --data-binary new "$DAV/pf/l.txt"   # the lock went with the DELETE
  }
  scenario props-follow-copy-move-delete-files pf_files
  scenario props-follow-copy-move-delete-collections pf_collections
  scenario locks-follow-move-delete pf_locks
fi

# ---------------------------------------------------------------- davfs2 (real kernel mount)
if run_group davfs2; then
  dv_mount() {
    [[ -e /dev/fuse ]] || { echo "FAIL davfs2-mount: no /dev/fuse on this machine"; return 1; }
    [[ $(id -u) == 0 ]] || { echo "FAIL davfs2-mount: mount.davfs needs root here (running as $(id -un))"; return 1; }
    command -v mount.davfs >/dev/null || { echo "FAIL davfs2-mount: davfs2 is not installed"; return 1; }
    local d="$WORK/davfs" mnt="$WORK/davfs/mnt"
    mkdir -p "$d/cache" "$mnt" "$d/tree/a/b"
    # mount.davfs drops root privileges to its own group, which must be able to write the cache.
    getent group davfs2 >/dev/null && chown root:davfs2 "$d/cache" && chmod 775 "$d/cache"
    local esc_p; esc_p="$(printf '%s' "$P" | sed 's/[\\" ]/\\&/g')"
    printf '%s %s "%s"\n' "$mnt" "$U" "$esc_p" > "$d/secrets"; chmod 600 "$d/secrets"
    # buf_size 64 is required on this kernel (smaller buffers corrupt larger writes).
    printf 'buf_size 64\nuse_locks 1\ncache_dir %s\nsecrets %s\ndelay_upload 0\nfile_refresh 0\ndir_refresh 0\n' \
      "$d/cache" "$d/secrets" > "$d/davfs2.conf"
    head -c 3000000 /dev/urandom > "$d/tree/a/big.bin"; head -c 70000 /dev/urandom > "$d/tree/a/b/mid.bin"
    echo "hello davfs2" > "$d/tree/a/small.txt"; echo x > "$d/tree/a/gone.txt"
    timeout 60 mount -t davfs -o "conf=$d/davfs2.conf,rw" "$EP/dav/" "$mnt" </dev/null || { echo "mount failed"; return 1; }
    local rc=0
    (
      set -e
      [[ -d "$mnt/$B" ]]                       # the bucket is a directory of the root
      mkdir -p "$mnt/$B/dfs/new/deeper"        # MKCOL
      cp -r "$d/tree/a" "$mnt/$B/dfs/"         # PUT (with LOCK/UNLOCK around)
      sync
      for f in big.bin b/mid.bin small.txt; do same "$d/tree/a/$f" "$mnt/$B/dfs/a/$f"; done
      mv "$mnt/$B/dfs/a/small.txt" "$mnt/$B/dfs/a/renamed.txt"   # MOVE of a file
      mv "$mnt/$B/dfs/a/b" "$mnt/$B/dfs/a/b2"                     # MOVE of a collection
      rm "$mnt/$B/dfs/a/gone.txt"                                 # DELETE
      rmdir "$mnt/$B/dfs/new/deeper"
      ls -la "$mnt/$B/dfs/a" "$mnt/$B/dfs/a/b2"
    ) || rc=1
    # umount flushes davfs2's uploads; a process passing through the mount (a disk usage scan,
    # an indexer) makes it "busy" for a moment, so try a few times before calling it a failure.
    local tries=0
    until timeout 180 umount "$mnt"; do
      (( ++tries < 10 )) || { echo "umount failed"; umount -l "$mnt" 2>/dev/null; return 1; }
      sleep 1
    done
    [[ $rc == 0 ]] || return 1
    # What the server has now, read by hash over plain HTTP (not from the davfs2 cache).
    for f in big.bin:big.bin b2/mid.bin:b/mid.bin renamed.txt:small.txt; do
      curl -sS -u "$U:$P" -o "$d/back" "$DAV/dfs/a/${f%%:*}" && same "$d/tree/a/${f#*:}" "$d/back" || { echo "server copy of ${f%%:*} differs"; return 1; }
    done
    expect 404 "$DAV/dfs/a/small.txt" && expect 404 "$DAV/dfs/a/gone.txt" && expect 404 "$DAV/dfs/a/b/mid.bin" || return 1
    expect 207 -X PROPFIND -H 'Depth: 0' "$DAV/dfs/new/" || return 1
    if [[ -n "${DEPOT_ACCESS_KEY:-}" && -x /usr/bin/aws ]]; then   # and the same objects over S3
      AWS_ACCESS_KEY_ID="$DEPOT_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$DEPOT_SECRET_KEY" AWS_DEFAULT_REGION=us-east-1 \
        AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true AWS_CA_BUNDLE= \
        /usr/bin/aws --endpoint-url "$EP" s3api list-objects-v2 --bucket "$B" --prefix dfs/ > "$d/s3.json" || return 1
      for k in dfs/a/big.bin dfs/a/b2/mid.bin dfs/a/renamed.txt dfs/new/; do
        grep -q "\"Key\": \"$k\"" "$d/s3.json" || { echo "S3 does not list $k"; return 1; }
      done
      ! grep -q '"Key": "dfs/a/small.txt"\|"Key": "dfs/a/gone.txt"' "$d/s3.json" || { echo "S3 still lists a moved or deleted key"; return 1; }
    fi
  }
  # The mount's own one-line verdict names the reason when the machine cannot mount.
  if [[ ! -e /dev/fuse || $(id -u) != 0 ]] || ! command -v mount.davfs >/dev/null; then
    dv_mount | grep '^FAIL davfs2-mount' ; FAILED=$((FAILED + 1))
  else
    scenario davfs2-mount dv_mount
  fi
fi

# ---------------------------------------------------------------- largefile
if run_group largefile; then
  # The equivalent of litmus' largefile suite (not in Debian's litmus 0.13 build): PUT then GET of
  # a 2.5 GiB body, with Content-Length and with chunked transfer, checked by SHA-256. The data is
  # a deterministic AES-CTR stream generated on the fly (no temp file); the server's RSS is sampled
  # during the transfer and must stay far below the body size.
  LF_SIZE="${WEBDAV_LARGEFILE_BYTES:-2684354560}"
  lf_gen() { openssl enc -aes-128-ctr -nosalt -K 00112233445566778899aabbccddeeff -iv 0 < /dev/zero 2>/dev/null | head -c "$LF_SIZE"; }
  lf_server_pid() {
    local port="${EP##*:}"; port="${port%%/*}"
    ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
  }
  lf_case() {
    local mode="$1" url="$DAV/largefile-$1.bin" pid max=0 sampler free_kb
    # The body is stored: without the room for it the server rightly answers 507, which would
    # read as a failure of the server. Say so plainly instead.
    free_kb="$(df -Pk "${DEPOT_DATA_DIR:-/tmp}" | awk 'NR == 2 {print $4}')"
    if [[ -n "$free_kb" ]] && (( free_kb < LF_SIZE / 1024 + 512 * 1024 )); then
      echo "the machine has $((free_kb / 1024)) MiB free in ${DEPOT_DATA_DIR:-/tmp}; this test stores $((LF_SIZE / 1048576)) MiB"
      return 1
    fi
    pid="$(lf_server_pid)"
    if [[ -n "$pid" ]]; then
      ( while kill -0 "$pid" 2>/dev/null; do awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; sleep 0.5; done ) > "$WORK/lf-rss-$mode" 2>/dev/null &
      sampler=$!
    fi
    local want t0 t1 t2 code
    t0=$(date +%s.%N)
    if [[ $mode == content-length ]]; then
      code="$(lf_gen | tee >(sha256sum | cut -c1-64 > "$WORK/lf-want-$mode") |
        curl -sS -u "$U:$P" -o /dev/null -w '%{http_code}' -H "Content-Length: $LF_SIZE" -H 'Transfer-Encoding:' -T - "$url")"
    else
      code="$(lf_gen | tee >(sha256sum | cut -c1-64 > "$WORK/lf-want-$mode") |
        curl -sS -u "$U:$P" -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' -T - "$url")"
    fi
    t1=$(date +%s.%N)
    [[ $code == 201 || $code == 204 ]] || { [[ -n "${sampler:-}" ]] && kill "$sampler"; echo "PUT ($mode): HTTP $code"; return 1; }
    for _ in $(seq 50); do [[ -s "$WORK/lf-want-$mode" ]] && break; sleep 0.2; done
    want="$(cat "$WORK/lf-want-$mode")"
    local got len
    got="$(curl -sS -u "$U:$P" -D "$WORK/lf-get-headers" "$url" | sha256sum | cut -c1-64)"
    t2=$(date +%s.%N)
    [[ -n "${sampler:-}" ]] && kill "$sampler" 2>/dev/null
    len="$(grep -i '^Content-Length:' "$WORK/lf-get-headers" | tr -dc '0-9')"
    max="$(sort -n "$WORK/lf-rss-$mode" 2>/dev/null | tail -1)"
    echo "$mode: $LF_SIZE bytes, PUT $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s, GET $(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.1f", b-a}') s, server RSS max $(( ${max:-0} / 1024 )) MiB"
    expect 204 -X DELETE "$url" || return 1
    [[ "$len" == "$LF_SIZE" ]] || { echo "GET Content-Length $len, want $LF_SIZE"; return 1; }
    [[ "$got" == "$want" ]] || { echo "content differs: sha256 $got, sent $want"; return 1; }
    [[ -z "$pid" ]] || (( ${max:-0} < 400 * 1024 )) || { echo "server RSS reached $((max / 1024)) MiB"; return 1; }
  }
  lf_cl() { lf_case content-length; }
  lf_chunked() { lf_case chunked; }
  scenario largefile-equivalent-2.5GiB-content-length lf_cl
  grep -h "^content-length:" "$WORK/largefile-equivalent-2.5GiB-content-length.log" 2>/dev/null | sed 's/^/# largefile /'
  scenario largefile-equivalent-2.5GiB-chunked lf_chunked
  grep -h "^chunked:" "$WORK/largefile-equivalent-2.5GiB-chunked.log" 2>/dev/null | sed 's/^/# largefile /'
fi

# ---------------------------------------------------------------- Basic authentication
if run_group auth; then
  # With separate users: revocation, password change and suspension take effect on the very
  # next request, even with the credentials cached; failures count in the shared PostgreSQL
  # throttle (the console's), which bans the account.
  au_ready() { [[ -n "${DEPOT_BIN:-}" && -n "${DEPOT_DATABASE_URL:-}" ]] || { echo "needs DEPOT_BIN and DEPOT_DATABASE_URL"; return 1; }; }
  au_add() { echo "$2" | "$DEPOT_BIN" user add "$1" --email "$1@example.com" --password-stdin --database-url "$DEPOT_DATABASE_URL" >/dev/null; }
  au_code() { curl -sS -o /dev/null -w '%{http_code}' -u "$1" -X PROPFIND -H 'Depth: 0' "$EP/dav/"; }
  au_want() { local got; got="$(au_code "$2")"; [[ "$got" == "$1" ]] || { echo "${3:-PROPFIND}: $got, want $1"; return 1; }; }
  au_psql() { psql "$DEPOT_DATABASE_URL" -tAc "$1"; }
  au_revoke() {
    au_ready || return 1
    local u="davrv$RUN_ID" pw='Dav-auth-pass-123!' jar="$WORK/auth.jar" csrf js app id
    au_add "$u" "$pw" || return 1
    csrf="$(curl -sS -c "$jar" -H 'Content-Type: application/json' -d "{\"name\":\"$u\",\"password\":\"$pw\"}" "$EP/api/v1/auth/login" |
      /usr/bin/python3 -c 'import sys,json; print(json.load(sys.stdin)["csrf_token"])')" || { echo "console login failed"; return 1; }
    js="$(curl -sS -b "$jar" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' -d '{"name":"davtest"}' "$EP/api/v1/users/$u/app-passwords")"
    app="$(/usr/bin/python3 -c 'import sys,json; print(json.loads(sys.argv[1])["password"])' "$js")" &&
    id="$(/usr/bin/python3 -c 'import sys,json; print(json.loads(sys.argv[1])["id"])' "$js")" || { echo "app password: $js"; return 1; }
    au_want 207 "$u:$app" first && au_want 207 "$u:$app" cached || return 1
    local code; code="$(curl -sS -o /dev/null -w '%{http_code}' -b "$jar" -H "X-CSRF-Token: $csrf" -X DELETE "$EP/api/v1/users/$u/app-passwords/$id")"
    [[ $code == 204 ]] || { echo "revoke: $code"; return 1; }
    au_want 401 "$u:$app" "right after revocation" || return 1
    au_want 207 "$u:$pw" "account password" && au_want 207 "$u:$pw" "account password, cached" || return 1
    echo 'Dav-auth-pass-456!' | "$DEPOT_BIN" user set-password "$u" --password-stdin --database-url "$DEPOT_DATABASE_URL" >/dev/null || return 1
    au_want 401 "$u:$pw" "old password right after the change" && au_want 207 "$u:Dav-auth-pass-456!" "new password" || return 1
    au_psql "UPDATE users SET status = 'suspended' WHERE name = '$u'" >/dev/null || return 1
    au_want 401 "$u:Dav-auth-pass-456!" "right after suspension"
  }
  au_throttle() {
    au_ready || return 1
    local u="davth$RUN_ID" pw='Dav-auth-pass-123!' i code
    au_add "$u" "$pw" || return 1
    # (Not signed in first: credentials verified in the last 30 s skip the ban check, so an
    # attacker cannot lock a working client out at once; a password check is what a ban stops.)
    # Start from a clean address counter: other suites' failures from 127.0.0.1 must not ban it.
    au_psql "DELETE FROM auth_throttle WHERE scope LIKE 'ip:%'" >/dev/null
    for i in $(seq 1 12); do
      code="$(au_code "$u:wrong-$i")"
      [[ $code == 401 || $code == 429 ]] || { echo "failure $i: $code"; return 1; }
      [[ $code == 429 ]] && break
    done
    au_psql "SELECT scope, failures, banned_until > now() FROM auth_throttle WHERE scope LIKE '%$u' OR scope LIKE 'ip:%'"
    [[ "$(au_psql "SELECT count(*) FROM auth_throttle WHERE scope = 'user:$u' AND banned_until > now()")" == 1 ]] ||
      { echo "the account is not banned in auth_throttle"; return 1; }
    au_want 429 "$u:$pw" "right password while banned" || return 1
    # the ban is the console's too
    code="$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "{\"name\":\"$u\",\"password\":\"$pw\"}" "$EP/api/v1/auth/login")"
    [[ $code == 429 ]] || { echo "console login of the banned account: $code"; return 1; }
    au_psql "DELETE FROM auth_throttle WHERE scope LIKE 'ip:%' OR scope = 'user:$u'" >/dev/null
    au_want 207 "$u:$pw" "after the ban was lifted"
  }
  # A small PUT into a bucket whose PUT was probed in the last second goes without a probe of its
  # own: its commit confirms the login, the parent collection, that no collection is at the path
  # and that no lock is rooted above it, and when one does not hold the PUT goes the probed way.
  # Each answer must be the probed one.
  au_unprobed() {
    au_ready || return 1
    local u="davup$RUN_ID" pw='Dav-auth-pass-123!' f="$WORK/unprobed.txt" c p0 p1 tok
    au_add "$u" "$pw" && au_add "${u}b" 'Dav-auth-pass-456!' || return 1
    c="$EP/dav/up-$RUN_ID"
    up() { curl -sS -u "$u:$pw" -o /dev/null -w '%{http_code}' "$@"; }
    want() { local w="$1"; shift; local got; got="$(up "$@")"; [[ "$got" == "$w" ]] || { echo "$* -> $got, want $w"; return 1; }; }
    probes() { curl -sS "$EP/metrics" | sed -nE 's/^depot_probes_total ([0-9]+).*/\1/p'; }
    echo "written without a probe" > "$f"
    want 201 -X MKCOL "$c/" && want 201 -X MKCOL "$c/sub/" || return 1
    # Three PUTs right after a probed one take fewer than three probes. (Up to three tries: on a
    # loaded machine the second may pass before the three are done, and they are then probed.)
    local try
    for try in 1 2 3; do
      want 201 -T "$f" "$c/p0-$try" || return 1  # probed: its bucket is kept a second
      p0="$(probes)"
      want 201 -T "$f" "$c/f1-$try" && want 204 -T "$f" "$c/f1-$try" && want 201 -T "$f" "$c/sub/f2-$try" || return 1
      p1="$(probes)"
      [[ $((p1 - p0)) -lt 3 ]] && break
      echo "try $try: 3 PUTs took $((p1 - p0)) probes"
      [[ $try == 3 ]] && return 1
    done
    want 409 -T "$f" "$c/nodir/f" || return 1  # no parent collection
    want 405 -T "$f" "$c/sub" || return 1      # a collection is at the path
    tok="$(curl -sS -u "$u:$pw" -D - -o /dev/null -X LOCK -H 'Depth: infinity' -H 'Content-Type: application/xml' \
      --data '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>' \
      "$c/sub/" | sed -nE 's/^[Ll]ock-[Tt]oken: <([^>]+)>.*/\1/p' | tr -d '\r')"
    [[ -n "$tok" ]] || { echo "LOCK gave no token"; return 1; }
    want 201 -T "$f" "$c/p1" && want 423 -T "$f" "$c/sub/f3" || return 1     # locked, no token sent
    want 201 -T "$f" -H "If: (<$tok>)" "$c/sub/f3" || return 1
    want 204 -X UNLOCK -H "Lock-Token: <$tok>" "$c/sub/" || return 1
    want 201 -T "$f" "$c/p2" && want 201 -T "$f" "$c/sub/f4" || return 1
    curl -sS -u "$u:$pw" -o "$WORK/unprobed.get" "$c/sub/f4" && same "$f" "$WORK/unprobed.get" || return 1
    # The login changed (a password change or revocation bumps credentials_version): refused at once.
    want 201 -T "$f" "$c/p3" || return 1
    # (The new password's hash comes from a second account, davup...b, set with the version bump
    # in one statement: quicker than `depot user set-password`, so the PUT below still finds the
    # bucket's probe kept; and the old password is wrong whichever way the PUT goes.)
    au_psql "UPDATE users SET credentials_version = credentials_version + 1,
               password_hash = (SELECT password_hash FROM users WHERE name = '${u}b') WHERE name = '$u'" >/dev/null || return 1
    want 401 -T "$f" "$c/after-change" || return 1
    pw='Dav-auth-pass-456!'
    want 201 -T "$f" "$c/after-check" || return 1  # the new password: checked, let in
    au_psql "SELECT count(*) FROM objects o JOIN buckets b ON b.id = o.bucket_id WHERE b.name = 'up-$RUN_ID' AND o.key IN ('nodir/f', 'sub', 'after-change')" |
      drain_grep -qx 0 || { echo "a refused PUT was written"; return 1; }
  }
  scenario auth-revocation-password-suspension-immediate au_revoke
  scenario put-without-probe-rechecks au_unprobed
  scenario auth-failures-shared-throttle au_throttle
fi

# ---------------------------------------------------------------- malformed input
if run_group malformed; then
  # Regressions from a fuzzing session: control characters and invalid UTF-8 in PROPPATCH, LOCK
  # and PROPFIND bodies are refused with 400 (never stored and echoed later into XML that is not
  # well-formed, never a 500); an empty <D:prop/> still gives every response a propstat or a
  # status; bucket names that are the server's own routes cannot be made.
  mf_wellformed() { /usr/bin/python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parseString(open(sys.argv[1], "rb").read())' "$1"; }
  mf_reserved() {
    local n code
    for n in dav api readyz healthz metrics ui; do
      code="$(dav -X MKCOL "$EP/dav/$n/")"
      [[ $code == 201 ]] && dav -X DELETE "$EP/dav/$n/" >/dev/null   # the bug: do not leave it behind
      [[ $code == 403 ]] || { echo "MKCOL /dav/$n/ -> $code, want 403"; return 1; }
    done
  }
  mf_proppatch() {
    expect 201 -X MKCOL "$DAV/mf/" && expect 201 -X PUT --data-binary hello "$DAV/mf/f.txt" || return 1
    local pre='<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:depot-fuzz"><D:set><D:prop>'
    local post='</D:prop></D:set></D:propertyupdate>' i
    printf '%s<Z:ctl>a&#1;b</Z:ctl>%s' "$pre" "$post" > "$WORK/mf-pp1.xml"
    printf '%s<Z:color>\xff\xfe</Z:color>%s' "$pre" "$post" > "$WORK/mf-pp2.xml"
    printf '%s<Z:\xff>x</Z:\xff>%s' "$pre" "$post" > "$WORK/mf-pp3.xml"
    printf '%s<Q:a xmlns:Q="urn:\xff">x</Q:a>%s' "$pre" "$post" > "$WORK/mf-pp4.xml"
    for i in 1 2 3 4; do
      expect 400 -X PROPPATCH -H 'Content-Type: application/xml' --data-binary @"$WORK/mf-pp$i.xml" "$DAV/mf/f.txt" ||
        { echo "body: $(cat -v "$WORK/mf-pp$i.xml")"; return 1; }
    done
    # Nothing was stored: the folder's listing (allprop, dead properties included) is XML.
    curl -sS -u "$U:$P" -o "$WORK/mf-list.xml" -X PROPFIND -H 'Depth: 1' "$DAV/mf/" || return 1
    mf_wellformed "$WORK/mf-list.xml" || { echo "PROPFIND Depth 1 is not well-formed: $(head -c 600 "$WORK/mf-list.xml" | cat -v)"; return 1; }
    grep -q 'f.txt' "$WORK/mf-list.xml" || { echo "the listing misses f.txt"; return 1; }
  }
  mf_lock_owner() {
    expect 201 -X PUT --data-binary l "$DAV/mf-lock.txt" || return 1
    local owner code tok
    for owner in 'a&#1;b' $'\xff' 'fine owner'; do
      code="$(curl -sS -u "$U:$P" -D "$WORK/mf-lock.h" -o "$WORK/mf-lock.xml" -w '%{http_code}' -X LOCK -H 'Content-Type: application/xml' \
        -H 'Timeout: Second-60' --data-binary "<?xml version=\"1.0\"?><D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>$owner</D:owner></D:lockinfo>" \
        "$DAV/mf-lock.txt")"
      tok="$(sed -nE 's/^[Ll]ock-[Tt]oken: <([^>]+)>.*/\1/p' "$WORK/mf-lock.h" | tr -d '\r')"
      [[ -n "$tok" ]] && dav -X UNLOCK -H "Lock-Token: <$tok>" "$DAV/mf-lock.txt" >/dev/null
      if [[ $owner == 'fine owner' ]]; then
        [[ $code == 200 ]] && mf_wellformed "$WORK/mf-lock.xml" || { echo "LOCK with a plain owner: $code"; return 1; }
      else
        [[ $code == 400 ]] || { echo "LOCK with owner $(cat -v <<<"$owner"): $code, want 400"; return 1; }
      fi
    done
  }
  mf_propfind() {
    expect 201 -X MKCOL "$DAV/mfp/" && expect 201 -X PUT --data-binary p "$DAV/mfp/f.txt" || return 1
    printf '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:\xff/></D:prop></D:propfind>' > "$WORK/mf-pf1.xml"
    printf '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><Z:a xmlns:Z="urn:\xff"/></D:prop></D:propfind>' > "$WORK/mf-pf2.xml"
    expect 400 -X PROPFIND -H 'Depth: 0' --data-binary @"$WORK/mf-pf1.xml" "$DAV/mfp/f.txt" || return 1
    expect 400 -X PROPFIND -H 'Depth: 0' --data-binary @"$WORK/mf-pf2.xml" "$DAV/mfp/f.txt" || return 1
    # An empty <D:prop/>: RFC 4918's DTD wants a propstat or a status in every response.
    local code
    code="$(curl -sS -u "$U:$P" -o "$WORK/mf-empty.xml" -w '%{http_code}' -X PROPFIND -H 'Depth: 1' \
      --data-binary '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop/></D:propfind>' "$DAV/mfp/")"
    [[ $code == 207 ]] || { echo "PROPFIND with an empty prop: $code, want 207"; return 1; }
    /usr/bin/python3 - "$WORK/mf-empty.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
D = "{DAV:}"
responses = list(ET.parse(sys.argv[1]).getroot().iter(D + "response"))
assert len(responses) == 2, f"{len(responses)} responses, want 2 (the folder and f.txt)"
for r in responses:
    assert r.find(D + "propstat") is not None or r.find(D + "status") is not None, \
        "a response with neither propstat nor status: " + ET.tostring(r).decode()
PY
  }
  scenario malformed-mkcol-reserved-bucket-names mf_reserved
  scenario malformed-proppatch-control-char-invalid-utf8 mf_proppatch
  scenario malformed-lock-owner-control-char-invalid-utf8 mf_lock_owner
  scenario malformed-propfind-invalid-utf8-and-empty-prop mf_propfind

  # Regressions from the third fuzzing session.
  mf_xml_names() {
    # A key XML cannot carry (U+0001, made over S3) and a Content-Type with U+FFFE: the folder's
    # listing stays well-formed XML.
    expect 201 -X MKCOL "$DAV/mfx/" || return 1
    s3_put "mfx/a%01b" x || return 1
    expect 201 -X PUT -H $'Content-Type: text/\xef\xbf\xbe' --data-binary y "$DAV/mfx/ct.txt" || return 1
    curl -sS -u "$U:$P" -o "$WORK/mfx.xml" -X PROPFIND -H 'Depth: 1' "$DAV/mfx/" || return 1
    mf_wellformed "$WORK/mfx.xml" || { echo "PROPFIND Depth 1 is not well-formed: $(head -c 800 "$WORK/mfx.xml" | cat -v)"; return 1; }
    grep -q 'a%01b' "$WORK/mfx.xml" || { echo "the listing misses a%01b"; return 1; }
  }
  mf_reserved_ns() {
    expect 201 -X PUT --data-binary n "$DAV/mf-ns.txt" || return 1
    local pre='<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"' mid='><D:set><D:prop>' post='</D:prop></D:set></D:propertyupdate>' b
    for b in "$mid<xml:foo>v</xml:foo>$post" " xmlns:X=\"http://www.w3.org/XML/1998/namespace\"$mid<X:foo>v</X:foo>$post" \
             " xmlns:X=\"http://www.w3.org/2000/xmlns/\"$mid<X:foo>v</X:foo>$post" " xmlns:a=\"urn:a\"$mid<a:b:c>v</a:b:c>$post"; do
      expect 400 -X PROPPATCH -H 'Content-Type: application/xml' --data-binary "$pre$b" "$DAV/mf-ns.txt" || { echo "body: $pre$b"; return 1; }
    done
    curl -sS -u "$U:$P" -o "$WORK/mf-ns.xml" -X PROPFIND -H 'Depth: 0' "$DAV/mf-ns.txt" || return 1
    mf_wellformed "$WORK/mf-ns.xml" || { echo "PROPFIND is not well-formed"; return 1; }
  }
  mf_mtime_range() {
    local code hdr
    for m in 9999999999999 18446744073709551615 -5; do
      code="$(curl -sS -u "$U:$P" -D "$WORK/mf-mt.h" -o /dev/null -w '%{http_code}' -X PUT -H "X-OC-Mtime: $m" --data-binary t "$DAV/mf-mtime.txt")"
      [[ $code == 201 || $code == 204 ]] || { echo "PUT with X-OC-Mtime $m: $code"; return 1; }
      ! grep -qi '^X-OC-Mtime: accepted' "$WORK/mf-mt.h" || { echo "X-OC-Mtime $m was accepted"; return 1; }
    done
    curl -sS -u "$U:$P" -D "$WORK/mf-mt2.h" -o /dev/null -X PUT -H "X-OC-Mtime: 1700000000" --data-binary t "$DAV/mf-mtime.txt"
    grep -qi '^X-OC-Mtime: accepted' "$WORK/mf-mt2.h" || { echo "a plain X-OC-Mtime was not accepted"; return 1; }
    hdr="$(curl -sS -u "$U:$P" -I "$DAV/mf-mtime.txt" | tr -d '\r' | sed -n 's/^[Ll]ast-[Mm]odified: //p')"
    [[ $hdr == "Tue, 14 Nov 2023 22:13:20 GMT" ]] || { echo "Last-Modified: $hdr"; return 1; }
  }
  mf_preconditions() {
    expect 201 -X PUT --data-binary one "$DAV/mf-pre.txt" || return 1
    local etag
    etag="$(curl -sS -u "$U:$P" -I "$DAV/mf-pre.txt" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')"
    expect 412 -X DELETE -H 'If-Match: "not-the-etag"' "$DAV/mf-pre.txt" || return 1
    expect 412 -X PROPPATCH -H 'If-None-Match: *' --data-binary '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:a>1</Z:a></D:prop></D:set></D:propertyupdate>' "$DAV/mf-pre.txt" || return 1
    expect 412 -X MOVE -H "Destination: $DAV/mf-pre2.txt" -H 'If-Match: "other"' "$DAV/mf-pre.txt" || return 1
    expect 412 -X PUT -H "If-None-Match: $etag" --data-binary two "$DAV/mf-pre.txt" || return 1
    expect 412 -X PUT -H "If-Match: W/$etag" --data-binary two "$DAV/mf-pre.txt" || return 1
    expect 412 -X PUT -H 'If-Match: "x"' --data-binary two "$DAV/mf-pre-missing.txt" || return 1
    expect 204 -X PUT -H "If-Match: \"x\", $etag" --data-binary two "$DAV/mf-pre.txt" || return 1
    expect 204 -X DELETE -H "If-Match: \"x\", $(curl -sS -u "$U:$P" -I "$DAV/mf-pre.txt" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')" "$DAV/mf-pre.txt"
  }
  mf_long_keys() {
    # A tree moved or copied under a longer name must not make keys past 1024 bytes.
    local long; long="$(printf 'n%.0s' $(seq 1000))"
    expect 201 -X MKCOL "$DAV/mfl/" && expect 201 -X PUT --data-binary k "$DAV/mfl/$long" || return 1
    local code
    code="$(dav -X COPY -H "Destination: $DAV/mfl-with-a-much-longer-name/" "$DAV/mfl/")"
    [[ $code == 413 || $code == 414 || $code == 400 || $code == 403 ]] || { echo "COPY to a longer name: $code"; return 1; }
    code="$(dav -X MOVE -H "Destination: $DAV/mfl-with-a-much-longer-name/" "$DAV/mfl/")"
    [[ $code == 413 || $code == 414 || $code == 400 || $code == 403 ]] || { echo "MOVE to a longer name: $code"; return 1; }
    expect 200 "$DAV/mfl/$long" || return 1
    expect 414 "$DAV/mfl-with-a-much-longer-name/$long"   # no such key can exist
  }
  mf_auth_names() {
    # "name\0anything" is not the user name.
    local code
    code="$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Basic $(printf '%s\0x:%s' "$U" "$P" | base64 -w0)" "$DAV/")"
    [[ $code == 401 ]] || { echo "Basic with a NUL in the name: $code"; return 1; }
  }
  mf_destination_host() {
    expect 201 -X PUT --data-binary h "$DAV/mf-host.txt" || return 1
    local host="${EP#http://}" upper
    upper="$(tr 'a-z' 'A-Z' <<<"$host")"
    expect 201 -X COPY -H "Destination: http://${upper}${DAV#$EP}/mf-host2.txt" "$DAV/mf-host.txt"
  }
  mf_lock_cap() {
    expect 201 -X PUT --data-binary s "$DAV/mf-shared.txt" || return 1
    local body='<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>o</D:owner></D:lockinfo>'
    local i code
    for i in $(seq 32); do expect 200 -X LOCK -H 'Timeout: Second-60' --data-binary "$body" "$DAV/mf-shared.txt" || return 1; done
    expect 423 -X LOCK -H 'Timeout: Second-60' --data-binary "$body" "$DAV/mf-shared.txt" || return 1
    local big; big="$(printf 'x%.0s' $(seq 5000))"
    code="$(dav -X LOCK -H 'Timeout: Second-60' --data-binary "${body/<D:owner>o/<D:owner>$big}" "$DAV/mf-shared-2.txt")"
    [[ $code == 400 ]] || { echo "a 5,000-byte lock owner: $code"; return 1; }
  }
  scenario malformed-names-xml-cannot-carry mf_xml_names
  scenario malformed-proppatch-reserved-namespaces mf_reserved_ns
  scenario malformed-mtime-out-of-range mf_mtime_range
  scenario http-preconditions-on-writes mf_preconditions
  scenario copy-move-refuses-keys-past-1024-bytes mf_long_keys
  scenario basic-auth-name-with-nul mf_auth_names
  scenario destination-host-case-insensitive mf_destination_host
  scenario shared-locks-capped mf_lock_cap

  # Regressions from the review of RFC 4918's corners that followed.
  mf_lock() {  # mf_lock URL DEPTH -> prints the lock token
    curl -sS -u "$U:$P" -D "$WORK/mf-l.h" -o /dev/null -X LOCK -H "Depth: $2" -H 'Timeout: Second-120' \
      --data-binary '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>t</D:owner></D:lockinfo>' "$1"
    sed -nE 's/^[Ll]ock-[Tt]oken: <([^>]+)>.*/\1/p' "$WORK/mf-l.h" | tr -d '\r'
  }
  mf_overwrite_atomic() {
    # COPY and MOVE with Overwrite: T replace the destination in the same transaction: when the
    # copy fails (here: its keys would pass 1024 bytes), the destination is still there.
    local long; long="$(printf 'o%.0s' $(seq 1000))"
    expect 201 -X MKCOL "$DAV/mfo/" && expect 201 -X PUT --data-binary k "$DAV/mfo/$long" || return 1
    expect 201 -X MKCOL "$DAV/mfo-with-a-much-longer-name/" || return 1
    expect 201 -X PUT --data-binary keep "$DAV/mfo-with-a-much-longer-name/keep.txt" || return 1
    local code
    for m in COPY MOVE; do
      code="$(dav -X $m -H 'Overwrite: T' -H "Destination: $DAV/mfo-with-a-much-longer-name/" "$DAV/mfo/")"
      [[ $code == 4* ]] || { echo "$m to a longer name: $code, want a refusal"; return 1; }
      [[ "$(curl -sS -u "$U:$P" "$DAV/mfo-with-a-much-longer-name/keep.txt")" == keep ]] ||
        { echo "the destination's keep.txt is gone after the refused $m"; return 1; }
    done
    # A file over a collection, a collection over a file, a Depth 0 copy over a collection.
    expect 201 -X MKCOL "$DAV/mfo-c/" && expect 201 -X PUT --data-binary m "$DAV/mfo-c/member.txt" || return 1
    expect 201 -X PUT --data-binary file "$DAV/mfo-f.txt" || return 1
    expect 204 -X COPY -H 'Overwrite: T' -H "Destination: $DAV/mfo-c" "$DAV/mfo-f.txt" || return 1
    [[ "$(curl -sS -u "$U:$P" "$DAV/mfo-c")" == file ]] || { echo "mfo-c is not the copied file"; return 1; }
    expect 404 "$DAV/mfo-c/member.txt" || return 1
    expect 204 -X MOVE -H 'Overwrite: T' -H "Destination: $DAV/mfo-c" "$DAV/mfo-with-a-much-longer-name/" || return 1
    expect 200 "$DAV/mfo-c/keep.txt" || return 1
    expect 201 -X MKCOL "$DAV/mfo-d/" && expect 201 -X PUT --data-binary z "$DAV/mfo-d/z.txt" || return 1
    expect 204 -X COPY -H 'Depth: 0' -H 'Overwrite: T' -H "Destination: $DAV/mfo-c/" "$DAV/mfo-d/" || return 1
    expect 404 "$DAV/mfo-c/keep.txt" || return 1
    local n; n="$(curl -sS -u "$U:$P" -X PROPFIND -H 'Depth: 1' "$DAV/mfo-c/" | grep -o '<D:response>' | wc -l)"
    [[ $n == 1 ]] || { echo "the Depth 0 copy left $((n - 1)) members in the destination"; return 1; }
  }
  mf_depth0_lock() {
    # A Depth 0 lock on a collection protects its membership (RFC 4918 7.5), not its members.
    expect 201 -X MKCOL "$DAV/mfd/" && expect 201 -X PUT --data-binary a "$DAV/mfd/a.txt" || return 1
    local tok; tok="$(mf_lock "$DAV/mfd/" 0)"
    [[ -n $tok ]] || { echo "no lock token"; return 1; }
    expect 423 -X PUT --data-binary n "$DAV/mfd/new.txt" || return 1
    expect 423 -X MKCOL "$DAV/mfd/sub/" || return 1
    expect 423 -X DELETE "$DAV/mfd/a.txt" || return 1
    expect 423 -X MOVE -H "Destination: $DAV/mfd-out.txt" "$DAV/mfd/a.txt" || return 1
    expect 423 -X COPY -H "Destination: $DAV/mfd/b.txt" "$DAV/mfd/a.txt" || return 1
    expect 204 -X PUT --data-binary changed "$DAV/mfd/a.txt" || return 1   # a member's content is not protected
    expect 201 -X PUT -H "If: <$DAV/mfd/> (<$tok>)" --data-binary n "$DAV/mfd/new.txt" || return 1
    expect 201 -X PUT -H "If: (<$tok>)" --data-binary n "$DAV/mfd/new2.txt" || return 1
    expect 204 -X DELETE -H "If: (<$tok>)" "$DAV/mfd/new2.txt" || return 1
    expect 204 -X UNLOCK -H "Lock-Token: <$tok>" "$DAV/mfd/" || return 1
    expect 204 -X DELETE "$DAV/mfd/new.txt"
  }
  mf_copy_if_source() {
    # COPY's untagged If lists are about its source, the request's resource.
    expect 201 -X PUT --data-binary s "$DAV/mf-cif.txt" || return 1
    local etag; etag="$(curl -sS -u "$U:$P" -I "$DAV/mf-cif.txt" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')"
    expect 201 -X COPY -H "If: ([$etag])" -H "Destination: $DAV/mf-cif2.txt" "$DAV/mf-cif.txt" || return 1
    expect 412 -X COPY -H 'If: (["other"])' -H "Destination: $DAV/mf-cif3.txt" "$DAV/mf-cif.txt"
  }
  mf_props_s3_delete() {
    # A key deleted over S3 takes its dead properties along: made again, it starts bare.
    local pp='<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:depot"><D:set><D:prop><Z:color>red</Z:color></D:prop></D:set></D:propertyupdate>'
    local pf='<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:depot"><D:prop><Z:color/></D:prop></D:propfind>'
    local f code
    for f in mf-s3d1.txt mf-s3d2.txt; do
      expect 201 -X PUT --data-binary p "$DAV/$f" && expect 207 -X PROPPATCH --data-binary "$pp" "$DAV/$f" || return 1
      curl -sS -u "$U:$P" -X PROPFIND -H 'Depth: 0' --data-binary "$pf" "$DAV/$f" | grep -q '>red<' || { echo "PROPPATCH did not stick on $f"; return 1; }
    done
    code="$(s3 -o /dev/null -w '%{http_code}' -X DELETE "$EP/$B/mf-s3d1.txt")"
    [[ $code == 204 ]] || { echo "S3 DELETE: $code"; return 1; }
    local body='<Delete><Object><Key>mf-s3d2.txt</Key></Object></Delete>'
    code="$(s3 -o /dev/null -w '%{http_code}' -X POST -H "Content-MD5: $(printf '%s' "$body" | openssl md5 -binary | base64)" --data-binary "$body" "$EP/$B/?delete=")"
    [[ $code == 200 ]] || { echo "S3 DeleteObjects: $code"; return 1; }
    for f in mf-s3d1.txt mf-s3d2.txt; do
      expect 201 -X PUT --data-binary again "$DAV/$f" || return 1
      ! curl -sS -u "$U:$P" -X PROPFIND -H 'Depth: 0' --data-binary "$pf" "$DAV/$f" | grep -q '>red<' || { echo "$f came back with the old property"; return 1; }
    done
  }
  mf_doctype() {
    expect 201 -X PUT --data-binary d "$DAV/mf-dtd.txt" || return 1
    expect 400 -X PROPPATCH --data-binary '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:a>&e;</Z:a></D:prop></D:set></D:propertyupdate>' "$DAV/mf-dtd.txt"
  }
  mf_xml_lang() {
    # xml:lang of a dead property is kept and written back (RFC 4918 4.3).
    expect 201 -X PUT --data-binary l "$DAV/mf-lang.txt" || return 1
    expect 207 -X PROPPATCH --data-binary '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z" xml:lang="fr"><D:set><D:prop><Z:a>bonjour</Z:a><Z:b xml:lang="de">hallo</Z:b></D:prop></D:set></D:propertyupdate>' "$DAV/mf-lang.txt" || return 1
    curl -sS -u "$U:$P" -o "$WORK/mf-lang.xml" -X PROPFIND -H 'Depth: 0' --data-binary '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><Z:a/><Z:b/></D:prop></D:propfind>' "$DAV/mf-lang.txt" || return 1
    /usr/bin/python3 - "$WORK/mf-lang.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
XL = "{http://www.w3.org/XML/1998/namespace}lang"
a, b = root.find(".//{urn:z}a"), root.find(".//{urn:z}b")
assert a is not None and a.text == "bonjour" and a.get(XL) == "fr", ET.tostring(root).decode()
assert b is not None and b.text == "hallo" and b.get(XL) == "de", ET.tostring(root).decode()
PY
  }
  mf_head_collection() {
    # HEAD of a collection has the length of its GET (the HTML listing), not 0.
    local get head
    get="$(curl -sS -u "$U:$P" "$DAV/" | wc -c)"
    head="$(curl -sS -u "$U:$P" -I "$DAV/" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ll]ength: //p')"
    [[ -n $head && $head == "$get" ]] || { echo "HEAD Content-Length '$head', GET sent $get bytes"; return 1; }
  }
  scenario dead-prop-xml-lang-kept mf_xml_lang
  scenario head-collection-length-of-get mf_head_collection
  scenario overwrite-replaces-destination-atomically mf_overwrite_atomic
  scenario depth0-collection-lock-protects-membership mf_depth0_lock
  scenario copy-if-header-applies-to-source mf_copy_if_source
  [[ -n "${DEPOT_ACCESS_KEY:-}" ]] && scenario dead-props-go-with-s3-deletes mf_props_s3_delete
  scenario xml-doctype-refused mf_doctype
fi

# Clean up the scenario bucket (and everything in it).
dav -X DELETE "$DAV/" >/dev/null || true
exit $((FAILED > 0))
