#!/usr/bin/env bash
# Prints the foundation's figures (nothing is asserted): engine PUT/GET throughput for 4 KiB
# (inline in PostgreSQL and as files) and 1 MiB objects with 16 writers, server RSS with 1,000
# idle keep-alive connections, and peak RSS during a 5 GiB streaming upload.
# Needs a build in ./build (scripts/test.sh or scripts/run.sh makes one).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d /tmp/depot-bench.XXXXXX)
chmod 755 "$WORK"
trap 'kill $SRV 2>/dev/null; sleep 1; build/depot db stop --data-dir "$WORK/pg" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
DB=$(build/depot db start --data-dir "$WORK/pg" 2>/dev/null | tail -1)

echo "== engine (16 concurrent writers, durable: blob fsync + PostgreSQL commit)"
build/depot_engine_bench --database-url "$DB" --dir "$WORK/e1" --size 4096 --count 20000 --concurrency 16 --inline-threshold 65536
build/depot_engine_bench --database-url "$DB" --dir "$WORK/e2" --size 4096 --count 5000 --concurrency 16 --inline-threshold 0
build/depot_engine_bench --database-url "$DB" --dir "$WORK/e3" --size 1048576 --count 2000 --concurrency 16

echo "== server memory"
mkdir -p "$WORK/data"
build/depot serve --database-url "$DB" --data-dir "$WORK/data" --listen 127.0.0.1:18990 --tls-listen "" \
  --log-level warn >"$WORK/server.log" 2>&1 &
SRV=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:18990/readyz >/dev/null && break; sleep 0.2; done
echo 'bench-password-123' | build/depot user add bencher --email b@bench.test --password-stdin --plan premium \
  --database-url "$DB" --data-dir "$WORK/data" >/dev/null
build/depot db start --data-dir "$WORK/pg" >/dev/null 2>&1 || true
psql "$DB" -qc "UPDATE users SET quota_bytes_override = 1099511627776 WHERE name = 'bencher'" >/dev/null
read -r AK SK < <(build/depot key add bencher --database-url "$DB" --data-dir "$WORK/data")
BOTO_DISABLE_CRT=true SRV=$SRV AK=$AK SK=$SK WORK=$WORK /usr/bin/python3 - <<'PY'
import os, socket, subprocess, threading, time
import boto3
from botocore.config import Config
pid = int(os.environ["SRV"])
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
base = rss()
conns = []
for _ in range(1000):
    s = socket.create_connection(("127.0.0.1", 18990))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    conns.append(s)
for s in conns:
    s.recv(4096)
time.sleep(1)
print(f"RSS idle: {base:.1f} MiB; with 1,000 idle keep-alive connections: {rss():.1f} MiB "
      f"({(rss() - base) * 1024 / 1000:.1f} KiB per connection)")
for s in conns:
    s.close()
c = boto3.client("s3", endpoint_url="http://127.0.0.1:18990", aws_access_key_id=os.environ["AK"],
                 aws_secret_access_key=os.environ["SK"], region_name="us-east-1",
                 config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
c.create_bucket(Bucket="bench")
url = c.generate_presigned_url("put_object", Params={"Bucket": "bench", "Key": "5g"}, ExpiresIn=3600)
path = os.path.join(os.environ["WORK"], "5g.bin")
with open(path, "wb") as f:
    f.truncate(5 * 1024 ** 3)
peak = [0.0]
done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.2)
t = threading.Thread(target=sample); t.start()
start = time.time()
r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-T", path, url], capture_output=True, text=True)
secs = time.time() - start
done.set(); t.join()
print(f"5 GiB streaming upload: HTTP {r.stdout}, {5 * 1024 / secs:.0f} MiB/s, peak server RSS {peak[0]:.1f} MiB")
os.unlink(path)
PY
