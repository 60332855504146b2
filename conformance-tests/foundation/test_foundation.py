"""Foundation scenarios against real depot processes, a real PostgreSQL and boto3.

Environment (from scripts/test.sh): DEPOT_ENDPOINT, DEPOT_BIN, DEPOT_DATABASE_URL,
DEPOT_DATA_DIR, DEPOT_ACCESS_KEY, DEPOT_SECRET_KEY, DEPOT_WORK.
Prints one "PASS name" or "FAIL name: why" line per scenario.
"""
import base64
import concurrent.futures
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
import uuid

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from depot_support import free_port  # noqa: E402

ENDPOINT = os.environ["DEPOT_ENDPOINT"]
BIN = os.environ["DEPOT_BIN"]
DB = os.environ["DEPOT_DATABASE_URL"]
DATA = os.environ["DEPOT_DATA_DIR"]
WORK = os.environ["DEPOT_WORK"]
HOST, PORT = ENDPOINT.split("//")[1].split(":")
PORT = int(PORT)

failures = 0


def scenario(fn):
    global failures
    name = fn.__name__
    try:
        fn()
        print(f"PASS {name}")
    except Exception as e:  # noqa: BLE001 - a scenario failing is reported, not raised
        failures += 1
        msg = str(e).replace("\n", " ")[:300]
        print(f"FAIL {name}: {type(e).__name__}: {msg}")
        traceback.print_exc(file=sys.stdout)
    sys.stdout.flush()


def depot(*args, stdin=None):
    return subprocess.run([BIN, *args, "--database-url", DB, "--data-dir", DATA], input=stdin,
                          capture_output=True, text=True, timeout=120)


def show_user(name):
    out = depot("user", "show", name)
    assert out.returncode == 0, out.stderr
    return dict(line.split(": ", 1) for line in out.stdout.strip().splitlines())


def new_user(plan="premium"):
    name = "u" + uuid.uuid4().hex[:12]
    r = depot("user", "add", name, "--email", f"{name}@example.test", "--password-stdin", "--plan", plan,
              stdin="a-long-test-password\n")
    assert r.returncode == 0, r.stderr
    k = depot("key", "add", name)
    assert k.returncode == 0, k.stderr
    akid, secret = k.stdout.split()
    return name, akid, secret


def s3(endpoint, akid, secret):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=akid, aws_secret_access_key=secret,
                        region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4", retries={"max_attempts": 1},
                                      max_pool_connections=64))


class Server:
    """A depot serve process of this suite's own, on fresh ports."""

    def __init__(self, data_dir=DATA, database_url=DB, extra=()):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log_path = os.path.join(WORK, f"server-{self.port}.log")
        self.args = [BIN, "serve", "--database-url", database_url, "--data-dir", data_dir,
                     "--listen", f"127.0.0.1:{self.port}", "--tls-listen", "", *extra]
        self.proc = None

    def start(self, wait_ready=True):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                code = urllib.request.urlopen(self.endpoint + "/readyz", timeout=2).status
                if code == 200 or not wait_ready:
                    return self
            except urllib.error.HTTPError as e:
                if not wait_ready:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server on {self.port} not ready; log: {self.read_log()[-2000:]}")

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        return self.proc.returncode if self.proc else None


def raw(request: bytes, host=HOST, port=PORT, read_timeout=5.0) -> bytes:
    s = socket.create_connection((host, port), timeout=read_timeout)
    try:
        s.sendall(request)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and request.count(b"HTTP/1.1") <= data.count(b"HTTP/1.1"):
                # Enough for our checks once every request has a status line and headers.
                head, _, body = data.partition(b"\r\n\r\n")
                if b"content-length: 0" in head.lower() or len(body) > 0:
                    break
        return data
    finally:
        s.close()


def status_of(resp: bytes) -> int:
    return int(resp.split(b" ", 2)[1])


# ---------------------------------------------------------------------------- HTTP core

def http_bad_input():
    assert status_of(raw(b"THIS IS NOT HTTP\r\n\r\n")) == 400
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    assert status_of(raw(big)) == 431
    long_url = b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert status_of(raw(long_url)) == 414
    # An unknown method is the client's mistake, never a 500.
    st = status_of(raw(b"BREW /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"))
    assert st == 200 or 400 <= st < 500, st
    st = status_of(raw(b"BREW /bucket/key HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"))
    assert 400 <= st < 500, st


def http_keepalive_and_pipelining():
    s = socket.create_connection((HOST, PORT), timeout=5)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    deadline = time.time() + 5
    while data.count(b"HTTP/1.1 200") < 2 and time.time() < deadline:
        data += s.recv(65536)
    s.close()
    assert data.count(b"HTTP/1.1 200") == 2, data
    assert data.lower().count(b"x-amz-request-id:") == 2


def http_slow_client_cut_off():
    srv = Server(extra=["--header-timeout", "2"]).start()
    try:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        start = time.time()
        closed = False
        for ch in b"GET /healthz HTTP/1.1\r\nHost: slow\r\n":
            try:
                s.send(bytes([ch]))
            except OSError:
                closed = True
                break
            time.sleep(0.5)
            if time.time() - start > 8:
                break
        if not closed:
            s.settimeout(3)
            try:
                closed = s.recv(1) == b""
            except (ConnectionResetError, OSError):
                closed = True
        assert closed, "a client sending one byte every half second kept its connection past the header timeout"
        assert time.time() - start < 8
    finally:
        srv.stop()


def read_until_closed(s):
    """Everything the server sends until it closes the connection; (data, closed) where closed is
    False when the socket's timeout passed with the connection still open."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk


def http_transfer_encoding_not_chunked_refused():
    # RFC 9112 6.3: a request whose final transfer coding is not chunked has no length the server
    # can know: 400 and the connection closed. The bytes after its header are never read as a
    # request of their own (they used to be: request smuggling).
    for te in (b"gzip", b"chunked, gzip", b"identity"):
        s = socket.create_connection((HOST, PORT), timeout=1.5)
        try:
            s.sendall(b"POST /readyz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te + b"\r\n\r\n"
                      b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
            data, closed = read_until_closed(s)
        finally:
            s.close()
        statuses = re.findall(rb"(?:^|\r\n)HTTP/1\.[01] (\d{3})", data)
        assert statuses[:1] == [b"400"], (te, data[:300])
        assert len(statuses) == 1, (te, "the body was answered as a request of its own", statuses, data[:600])
        assert closed, (te, "the connection was left open after the 400")


def http_host_header_required_once():
    # RFC 9112 3.2: an HTTP/1.1 request without Host, or with more than one, is a 400.
    assert status_of(raw(b"GET /readyz HTTP/1.1\r\n\r\n")) == 400, "no Host"
    assert status_of(raw(b"GET /readyz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")) == 400, "two Host headers"
    assert status_of(raw(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")) == 200


def http_absolute_form_target():
    # RFC 9112 3.2.2: a server must accept the absolute form of the request target.
    req = f"GET http://{HOST}:{PORT}/readyz HTTP/1.1\r\nHost: {HOST}:{PORT}\r\n\r\n".encode()
    resp = raw(req)
    assert status_of(resp) == 200, resp[:300]


def http10_response_not_chunked():
    # RFC 9112 6.1/7.1: no chunked transfer coding in an answer to an HTTP/1.0 request; the body
    # (here the WebDAV root's HTML listing) goes as it is, ended by Content-Length or the close.
    name, akid, secret = new_user()
    c = s3(ENDPOINT, akid, secret)
    c.create_bucket(Bucket=name)
    auth = base64.b64encode(f"{name}:a-long-test-password".encode()).decode()
    s = socket.create_connection((HOST, PORT), timeout=5)
    try:
        s.sendall(f"GET /dav/ HTTP/1.0\r\nHost: {HOST}:{PORT}\r\nAuthorization: Basic {auth}\r\n\r\n".encode())
        data, closed = read_until_closed(s)
    finally:
        s.close()
        c.delete_bucket(Bucket=name)
    head, _, body = data.partition(b"\r\n\r\n")
    assert status_of(data) == 200, data[:300]
    assert b"\r\ntransfer-encoding:" not in head.lower(), head
    assert body.lstrip()[:1] == b"<" and body.rstrip().lower().endswith(b"</html>"), body[:300]
    assert name.encode() in body, ("the listing misses the bucket", body[:300])
    length = re.search(rb"\r\ncontent-length: *(\d+)", head.lower())
    assert length is None or int(length.group(1)) == len(body), (length.group(1), len(body))
    assert closed, "the HTTP/1.0 connection stayed open"


def tls_listener():
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    url = os.environ["DEPOT_TLS_ENDPOINT"] + "/healthz"
    assert urllib.request.urlopen(url, context=ctx, timeout=5).status == 200
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        urllib.request.urlopen(url, context=old, timeout=5)
        raise AssertionError("TLS 1.1 was accepted")
    except (ssl.SSLError, urllib.error.URLError, ConnectionResetError):
        pass


def health_and_metrics():
    assert urllib.request.urlopen(ENDPOINT + "/healthz").status == 200
    assert urllib.request.urlopen(ENDPOINT + "/readyz").status == 200
    body = urllib.request.urlopen(ENDPOINT + "/metrics").read().decode()
    for series in ("depot_requests_total", "depot_request_duration_seconds_bucket", "depot_open_connections",
                   "depot_db_pool_in_use", "depot_bytes_in_total"):
        assert series in body, series


# ---------------------------------------------------------------------------- quota

def quota_race_two_servers():
    plan = "race" + uuid.uuid4().hex[:8]
    limit = 10 * 1024 * 1024
    assert depot("plan", "add", plan, "--bytes", str(limit)).returncode == 0
    name, akid, secret = new_user(plan)
    other = Server().start()
    try:
        clients = [s3(ENDPOINT, akid, secret), s3(other.endpoint, akid, secret)]
        clients[0].create_bucket(Bucket=name)
        body = os.urandom(1024 * 1024)

        def put(i):
            try:
                clients[i % 2].put_object(Bucket=name, Key=f"obj-{i}", Body=body)
                return True
            except clients[0].exceptions.ClientError as e:
                code = e.response["Error"]["Code"]
                assert code == "QuotaExceeded", code
                return False

        with concurrent.futures.ThreadPoolExecutor(32) as ex:
            results = list(ex.map(put, range(32)))
        ok = sum(results)
        listed = clients[0].list_objects_v2(Bucket=name).get("Contents", [])
        stored = sum(o["Size"] for o in listed)
        u = show_user(name)
        used = int(u["bytes_used"])
        assert used <= limit, (used, limit)
        assert used == stored == ok * len(body), (used, stored, ok)
        assert int(u["bytes_reserved"]) == 0, u
        assert ok == 10, f"{ok} uploads succeeded, 10 fit"
    finally:
        assert other.stop() == 0


# ---------------------------------------------------------------------------- crash

def crash_during_upload():
    extra = ["--node-timeout", "3", "--sweep-interval", "1", "--orphan-grace", "2"]
    srv = Server(extra=extra).start()
    name, akid, secret = new_user("premium")
    c = s3(srv.endpoint, akid, secret)
    c.create_bucket(Bucket=name)
    url = c.generate_presigned_url("put_object", Params={"Bucket": name, "Key": "big.bin"}, ExpiresIn=600)
    path = os.path.join(WORK, "big.bin")
    with open(path, "wb") as f:
        f.truncate(300 * 1024 * 1024)
    curl = subprocess.Popen(["curl", "-s", "-o", "/dev/null", "--limit-rate", "20M", "-T", path, url])
    time.sleep(2.5)
    u = show_user(name)
    assert int(u["bytes_reserved"]) >= 300 * 1024 * 1024, u  # the upload holds its reservation
    srv.proc.kill()
    srv.proc.wait()
    curl.kill()
    curl.wait()
    os.unlink(path)
    srv2 = Server(extra=extra).start()
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            u = show_user(name)
            if int(u["bytes_reserved"]) == 0:
                break
            time.sleep(0.5)
        assert int(u["bytes_reserved"]) == 0, f"reservation leaked: {u}"
        assert int(u["bytes_used"]) == 0 and int(u["objects_used"]) == 0, u
        c2 = s3(srv2.endpoint, akid, secret)
        try:
            c2.head_object(Bucket=name, Key="big.bin")
            raise AssertionError("a half-uploaded object is visible")
        except c2.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] in ("404", "NoSuchKey"), e.response
        time.sleep(3)
        tmp = os.path.join(DATA, "store", "tmp")
        leftovers = [f for f in os.listdir(tmp) if not f.startswith(".")]
        old = [f for f in leftovers if time.time() - os.path.getmtime(os.path.join(tmp, f)) > 10]
        assert not old, f"temporary files not swept: {old}"
        assert urllib.request.urlopen(srv2.endpoint + "/readyz").status == 200
    finally:
        assert srv2.stop() == 0


# ---------------------------------------------------------------------------- failures

def missing_database_at_start():
    bad = "postgresql://depot@/depot?host=/nonexistent-socket-dir&connect_timeout=2"
    srv = Server(database_url=bad, data_dir=os.path.join(WORK, "nodb"))
    os.makedirs(srv.data_dir, exist_ok=True)
    srv.start(wait_ready=False)
    try:
        time.sleep(2)
        try:
            urllib.request.urlopen(srv.endpoint + "/readyz", timeout=5)
            raise AssertionError("/readyz said ready without a database")
        except urllib.error.HTTPError as e:
            assert e.code == 503, e.code
        assert urllib.request.urlopen(srv.endpoint + "/healthz", timeout=5).status == 200
        assert srv.proc.poll() is None, "the server exited"
        log = srv.read_log()
        assert "database not ready" in log, log[-1000:]
    finally:
        srv.stop()


def full_disk_refused_cleanly():
    mnt = os.path.join(WORK, "full")
    os.makedirs(mnt, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", mnt], capture_output=True, text=True)
    assert r.returncode == 0, f"cannot mount a small tmpfs: {r.stderr}"
    try:
        shutil.copy(os.path.join(DATA, "master.key"), os.path.join(mnt, "master.key"))
        srv = Server(data_dir=mnt).start()
        try:
            name, akid, secret = new_user("premium")
            c = s3(srv.endpoint, akid, secret)
            c.create_bucket(Bucket=name)
            before = show_user(name)
            try:
                c.put_object(Bucket=name, Key="too-big", Body=os.urandom(20 * 1024 * 1024))
                raise AssertionError("a 20 MiB object was accepted on a 12 MiB disk")
            except c.exceptions.ClientError as e:
                assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 507, e.response
            try:
                c.head_object(Bucket=name, Key="too-big")
                raise AssertionError("a partial object is visible")
            except c.exceptions.ClientError as e:
                assert e.response["Error"]["Code"] in ("404", "NoSuchKey")
            after = show_user(name)
            assert after["bytes_used"] == before["bytes_used"] and int(after["bytes_reserved"]) == 0, after
            tmp = os.path.join(mnt, "store", "tmp")
            assert [f for f in os.listdir(tmp) if not f.startswith(".")] == [], os.listdir(tmp)
            # Once there is room again, uploads work.
            c.put_object(Bucket=name, Key="small", Body=b"fits")
            assert c.get_object(Bucket=name, Key="small")["Body"].read() == b"fits"
        finally:
            assert srv.stop() == 0
    finally:
        subprocess.run(["umount", mnt])


def usage_verify_clean():
    r = depot("usage", "verify")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr


def cli_errors_are_one_sentence():
    r = depot("user", "show", "no-such-user-" + uuid.uuid4().hex[:6])
    assert r.returncode != 0
    assert r.stderr.count("\n") == 1 and "no user" in r.stderr, r.stderr
    r = subprocess.run([BIN, "user", "show", "x", "--database-url", "postgresql://depot@/depot?host=/nonexistent"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "database" in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = depot("plan", "add", "bad", "--bytes", "lots")
    assert r.returncode != 0 and "--bytes" in r.stderr, r.stderr
    plans = depot("plan", "list").stdout
    assert "free\t2147483648" in plans and "premium\t10737418240" in plans, plans


for fn in (health_and_metrics, http_bad_input, http_keepalive_and_pipelining,
           http_transfer_encoding_not_chunked_refused, http_host_header_required_once, http_absolute_form_target,
           http10_response_not_chunked, tls_listener, http_slow_client_cut_off, cli_errors_are_one_sentence,
           quota_race_two_servers, crash_during_upload, missing_database_at_start, full_disk_refused_cleanly,
           usage_verify_clean):
    scenario(fn)

sys.exit(1 if failures else 0)
