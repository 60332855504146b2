"""Files API conformance (see run.sh). Python standard library, the aws CLI and curl."""
import hashlib
import http.cookiejar
import json
import os
import random
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

BASE = os.environ["DEPOT_ENDPOINT"].rstrip("/")
API = BASE + "/api/v1"
USER = os.environ["DEPOT_TEST_USER"]
PASSWORD = os.environ["DEPOT_TEST_PASSWORD"]
BIN = os.environ["DEPOT_BIN"]
DB = os.environ["DEPOT_DATABASE_URL"]
DATA = os.environ.get("DEPOT_DATA_DIR", "")
WORK = os.path.join(os.environ.get("DEPOT_WORK", "/tmp"), "files-api")
os.makedirs(WORK, exist_ok=True)
RUN = "%d%03d" % (int(time.time()) % 100000, random.randint(0, 999))
BUCKET = "files-" + RUN
FAILED = 0
MiB = 1024 * 1024


class Client:
    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = None

    def call(self, method, path, body=None, csrf=True, headers=None, raw=None):
        url = path if path.startswith("http") else API + path
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(url, data=data, method=method)
        if body is not None and raw is None:
            req.add_header("Content-Type", "application/json")
        if csrf and self.csrf:
            req.add_header("X-CSRF-Token", self.csrf)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with self.opener.open(req, timeout=120) as r:
                status, text, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, text, hdrs = e.code, e.read(), e.headers
        js = None
        if hdrs.get("Content-Type", "").startswith("application/json") and text:
            try:
                js = json.loads(text)
            except ValueError:
                js = None
        return status, (js if js is not None else text), hdrs

    def login(self, name, password):
        st, js, _ = self.call("POST", "/auth/login", dict(name=name, password=password))
        if st == 200:
            self.csrf = js["csrf_token"]
        return st, js


def put_expect_continue(c, path, size):
    """A PUT that announces its body with Expect: 100-continue and sends it only if asked (as the aws
    CLI does): a refusal must come before the body. Returns (status, json)."""
    import http.client
    u = urllib.parse.urlsplit(API + path)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.putrequest("PUT", u.path + "?" + u.query)
    conn.putheader("Content-Length", str(size))
    conn.putheader("Expect", "100-continue")
    conn.putheader("X-CSRF-Token", c.csrf)
    conn.putheader("Cookie", "; ".join(f"{k.name}={k.value}" for k in c.jar))
    conn.endheaders()
    r = conn.getresponse()  # the final answer, or 100 Continue (http.client skips 1xx itself)
    body = r.read()
    conn.close()
    return r.status, json.loads(body) if body else None


def expect(st, want, js=None, what=""):
    if isinstance(want, int):
        want = (want,)
    assert st in want, f"{what}: HTTP {st}, wanted {want}: {js!r:.300}"


def code(js):
    return (js or {}).get("error", {}).get("code") if isinstance(js, dict) else None


def q(s):
    return urllib.parse.quote(s, safe="")


def obj(bucket, key):
    return f"/files/{q(bucket)}/object?key={q(key)}"


def sha(b):
    return hashlib.sha256(b).hexdigest()


def aws(*args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=os.environ.get("DEPOT_ACCESS_KEY", ""),
               AWS_SECRET_ACCESS_KEY=os.environ.get("DEPOT_SECRET_KEY", ""), AWS_DEFAULT_REGION="us-east-1",
               AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="", AWS_CONFIG_FILE=os.path.join(WORK, "aws-config"),
               AWS_SHARED_CREDENTIALS_FILE=os.path.join(WORK, "aws-cred"))
    env.pop("AWS_CA_BUNDLE", None)
    out = subprocess.run(["/usr/bin/aws", "--endpoint-url", BASE, *args], capture_output=True, env=env)
    return out.returncode, out.stdout, out.stderr


def dav_get(path):
    out = subprocess.run(["curl", "-s", "-u", f"{USER}:{PASSWORD}", "-o", "-", "-w", "\n%{http_code}",
                          BASE + "/dav/" + path], capture_output=True)
    body, _, status = out.stdout.rpartition(b"\n")
    return int(status or 0), body


S = {}


# ------------------------------------------------------------------ scenarios

def t_auth_and_csrf():
    anon = Client()
    st, js, _ = anon.call("GET", "/files")
    expect(st, 401, js, "anonymous list")
    c = Client()
    expect(c.login(USER, PASSWORD)[0], 200, None, "login")
    S["c"] = c
    st, js, _ = c.call("POST", "/files", {"name": BUCKET}, csrf=False)
    expect(st, 403, js, "create without CSRF")
    assert code(js) == "csrf_failed", js
    st, js, _ = c.call("PUT", obj("whatever-" + RUN, "x.txt"), raw=b"abc", csrf=False)
    expect(st, 403, js, "upload without CSRF")


def t_buckets():
    c = S["c"]
    st, js, _ = c.call("POST", "/files", {"name": BUCKET})
    expect(st, 201, js, "create bucket")
    st, js, _ = c.call("POST", "/files", {"name": BUCKET})
    expect(st, 409, js, "create twice")
    for bad in ("AB", "a", "bad_name", "-lead", "x" * 64, "192.168.1.1"):
        st, js, _ = c.call("POST", "/files", {"name": bad})
        expect(st, 400, js, f"bucket name {bad!r}")
        assert code(js) == "invalid_name", js
    st, js, _ = c.call("GET", "/files")
    expect(st, 200, js, "list buckets")
    assert BUCKET in [b["name"] for b in js["items"]], js
    assert js["usage"]["bytes_limit"] > 0, js


def t_upload_download():
    c = S["c"]
    data = os.urandom(300 * 1024 + 7)
    key = "docs/hello wörld.bin"
    st, js, _ = c.call("PUT", obj(BUCKET, key), raw=data, headers={"Content-Type": "application/x-test"})
    expect(st, 201, js, "upload")
    assert js["size"] == len(data) and js["etag"] == hashlib.md5(data).hexdigest(), js
    st, body, h = c.call("GET", obj(BUCKET, key))
    expect(st, 200, None, "download")
    assert sha(body) == sha(data), "downloaded bytes differ"
    assert h["Content-Type"] == "application/x-test", h["Content-Type"]
    cd = h["Content-Disposition"]
    assert cd.startswith("attachment;") and "filename*=UTF-8''hello%20w%C3%B6rld.bin" in cd, cd
    st, body, h = c.call("GET", obj(BUCKET, key), headers={"Range": "bytes=100-199"})
    expect(st, 206, None, "range")
    assert body == data[100:200] and h["Content-Range"] == f"bytes 100-199/{len(data)}", h["Content-Range"]
    st, body, h = c.call("GET", obj(BUCKET, key), headers={"Range": f"bytes={len(data) + 10}-"})
    expect(st, 416, body, "unsatisfiable range")
    st, body, h = c.call("HEAD", obj(BUCKET, key))
    expect(st, 200, None, "head")
    assert int(h["Content-Length"]) == len(data)
    # Over S3, the same bytes.
    rc, out, err = aws("s3api", "get-object", "--bucket", BUCKET, "--key", key, os.path.join(WORK, "s3.bin"))
    assert rc == 0, err.decode()
    with open(os.path.join(WORK, "s3.bin"), "rb") as f:
        assert sha(f.read()) == sha(data), "S3 read differs"
    # Upload without a length is refused; overwrite=false refuses an existing key.
    st, js, _ = c.call("PUT", obj(BUCKET, key) + "&overwrite=false", raw=b"x")
    expect(st, 409, js, "overwrite=false")
    st, js, _ = c.call("GET", obj(BUCKET, "docs/missing.bin"))
    expect(st, 404, js, "missing file")


def t_listing_and_search():
    c = S["c"]
    names = ["a.txt", "b.txt", "c.txt", "sub/x.txt", "sub/deeper/y.txt", "other/z.TXT"]
    for n in names:
        expect(c.call("PUT", obj(BUCKET, "list/" + n), raw=n.encode())[0], 201, None, "put " + n)
    st, js, _ = c.call("GET", f"/files/{BUCKET}?prefix=list/&delimiter=/")
    expect(st, 200, js, "list")
    got = [(i["type"], i["name"]) for i in js["items"]]
    assert got == [("file", "a.txt"), ("file", "b.txt"), ("file", "c.txt"), ("folder", "other"), ("folder", "sub")], got
    assert js["next"] is None
    # Paging one entry at a time gives the same.
    seen, after = [], ""
    for _ in range(10):
        st, js, _ = c.call("GET", f"/files/{BUCKET}?prefix=list/&limit=1&after={q(after)}")
        expect(st, 200, js, "page")
        seen += [i["name"] for i in js["items"]]
        if not js["next"]:
            break
        after = js["next"]
    assert seen == ["a.txt", "b.txt", "c.txt", "other", "sub"], seen
    # Search: substring of the key below the prefix, any case, paginated.
    st, js, _ = c.call("GET", f"/files/{BUCKET}/search?prefix=list/&q=TXT&limit=100")
    expect(st, 200, js, "search")
    assert sorted(i["key"] for i in js["items"]) == sorted("list/" + n for n in names), js
    found, after = [], ""
    for _ in range(20):
        st, js, _ = c.call("GET", f"/files/{BUCKET}/search?prefix=list/&q=y&limit=1&after={q(after)}")
        expect(st, 200, js, "search page")
        found += [i["key"] for i in js["items"]]
        if not js["next"]:
            break
        after = js["next"]
    assert found == ["list/sub/deeper/y.txt"], found
    st, js, _ = c.call("GET", f"/files/{BUCKET}/search?q=")
    expect(st, 400, js, "empty search")


def t_multipart():
    c = S["c"]
    parts = [os.urandom(8 * MiB) for _ in range(3)] + [os.urandom(123457)]
    whole = b"".join(parts)
    key = "big/three parts.bin"
    st, js, _ = c.call("POST", f"/files/{BUCKET}/uploads", {"key": key, "content_type": "application/x-big", "size": len(whole)})
    expect(st, 201, js, "create upload")
    uid = js["upload_id"]
    base = f"/files/{BUCKET}/uploads/{q(uid)}"
    etags = []
    for i, p in enumerate(parts, 1):
        st, js, _ = c.call("PUT", f"{base}/parts/{i}?key={q(key)}", raw=p)
        expect(st, 200, js, f"part {i}")
        assert js["etag"] == hashlib.md5(p).hexdigest(), js
        etags.append({"number": i, "etag": js["etag"]})
    st, js, _ = c.call("POST", f"{base}/complete?key={q(key)}", {"parts": etags})
    expect(st, 201, js, "complete")
    assert js["size"] == len(whole) and js["etag"].endswith("-4"), js
    st, body, h = c.call("GET", obj(BUCKET, key))
    expect(st, 200, None, "download multipart")
    assert sha(body) == sha(whole), "multipart bytes differ"
    st, body, _ = c.call("GET", obj(BUCKET, key), headers={"Range": f"bytes={8 * MiB - 5}-{8 * MiB + 4}"})
    expect(st, 206, None, "range across parts")
    assert body == whole[8 * MiB - 5:8 * MiB + 5]
    rc, out, err = aws("s3api", "head-object", "--bucket", BUCKET, "--key", key)
    assert rc == 0 and b'-4\\"' in out, out + err
    # The upload is gone.
    st, js, _ = c.call("DELETE", f"{base}?key={q(key)}")
    expect(st, 404, js, "abort after complete")


def t_complete_all_parts():
    c = S["c"]
    key = "big/all parts.bin"
    p1, p2, p3 = os.urandom(5 * MiB), os.urandom(1000), os.urandom(2000)
    st, js, _ = c.call("POST", f"/files/{BUCKET}/uploads", {"key": key})
    expect(st, 201, js, "create upload")
    base = f"/files/{BUCKET}/uploads/{q(js['upload_id'])}"
    for i, p in ((1, p1), (2, p2)):
        expect(c.call("PUT", f"{base}/parts/{i}?key={q(key)}", raw=p)[0], 200, None, f"part {i}")
    # Every part but the last must be 5 MiB or more.
    expect(c.call("PUT", f"{base}/parts/3?key={q(key)}", raw=p3)[0], 200, None, "part 3")
    st, js, _ = c.call("POST", f"{base}/complete?key={q(key)}", {})
    expect(st, 400, js, "a small middle part")
    assert code(js) == "entity_too_small", js
    # Without a list, every uploaded part in order (part 2 replaced by a large one).
    p2 = os.urandom(5 * MiB)
    expect(c.call("PUT", f"{base}/parts/2?key={q(key)}", raw=p2)[0], 200, None, "part 2 again")
    st, js, _ = c.call("POST", f"{base}/complete?key={q(key)}", {})
    expect(st, 201, js, "complete without a list")
    st, body, _ = c.call("GET", obj(BUCKET, key))
    assert st == 200 and sha(body) == sha(p1 + p2 + p3), "joined bytes differ"
    st, js, _ = c.call("PUT", f"/files/{BUCKET}/uploads/nope/parts/1?key={q(key)}", raw=b"x")
    expect(st, 404, js, "unknown upload")


def usage(c):
    st, js, _ = c.call("GET", "/files")
    expect(st, 200, js, "usage")
    return js["usage"]["bytes_used"]


def t_abort_frees():
    c = S["c"]
    before = usage(c)
    key = "big/aborted.bin"
    st, js, _ = c.call("POST", f"/files/{BUCKET}/uploads", {"key": key})
    expect(st, 201, js, "create upload")
    base = f"/files/{BUCKET}/uploads/{q(js['upload_id'])}"
    expect(c.call("PUT", f"{base}/parts/1?key={q(key)}", raw=os.urandom(6 * MiB))[0], 200, None, "part")
    assert usage(c) == before + 6 * MiB, "the part counts in the usage"
    st, js, _ = c.call("DELETE", f"{base}?key={q(key)}")
    expect(st, 204, js, "abort")
    assert usage(c) == before, "abort frees the part"
    st, js, _ = c.call("PUT", f"{base}/parts/2?key={q(key)}", raw=b"x" * 10)
    expect(st, 404, js, "part after abort")
    assert code(js) == "no_such_upload", js


def t_rename_folder_then_s3_and_webdav():
    c = S["c"]
    files = {"tree/a.txt": b"alpha " + RUN.encode(), "tree/sub/b.txt": b"beta " + RUN.encode()}
    for k, v in files.items():
        expect(c.call("PUT", obj(BUCKET, k), raw=v)[0], 201, None, "put " + k)
    expect(c.call("POST", f"/files/{BUCKET}/folders", {"key": "tree/empty"})[0], 201, None, "marker")
    st, js, _ = c.call("POST", f"/files/{BUCKET}/move", {"key": "tree/", "to": "tree/inside/"})
    expect(st, 400, js, "move into itself")
    st, js, _ = c.call("POST", f"/files/{BUCKET}/move", {"key": "tree/", "to": "moved/"})
    expect(st, 200, js, "move folder")
    assert js["count"] == 3, js
    st, js, _ = c.call("GET", obj(BUCKET, "tree/a.txt"))
    expect(st, 404, js, "old key gone")
    rc, out, err = aws("s3", "cp", f"s3://{BUCKET}/moved/sub/b.txt", "-")
    assert rc == 0 and out == files["tree/sub/b.txt"], err.decode()
    rc, out, err = aws("s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", "moved/")
    keys = sorted(o["Key"] for o in json.loads(out).get("Contents", []))
    assert keys == ["moved/a.txt", "moved/empty/", "moved/sub/b.txt"], keys
    st, body = dav_get(f"{BUCKET}/moved/a.txt")
    assert st == 200 and body == files["tree/a.txt"], (st, body[:100])
    st, body = dav_get(f"{BUCKET}/tree/a.txt")
    assert st == 404, st
    # Rename one file, with the name taken: refused without overwrite.
    expect(c.call("PUT", obj(BUCKET, "moved/c.txt"), raw=b"c")[0], 201)
    st, js, _ = c.call("POST", f"/files/{BUCKET}/move", {"key": "moved/a.txt", "to": "moved/c.txt"})
    expect(st, 409, js, "rename onto an existing file")
    st, js, _ = c.call("POST", f"/files/{BUCKET}/move", {"key": "moved/a.txt", "to": "moved/renamed.txt"})
    expect(st, 200, js, "rename file")
    st, body = dav_get(f"{BUCKET}/moved/renamed.txt")
    assert st == 200 and body == files["tree/a.txt"], st


def t_copy_and_delete():
    c = S["c"]
    before = usage(c)
    st, js, _ = c.call("POST", f"/files/{BUCKET}/copy", {"key": "moved/renamed.txt", "to": "copies/r.txt"})
    expect(st, 200, js, "copy file")
    st, js2, _ = c.call("POST", f"/files/{BUCKET}/copy", {"key": "moved/", "to": "copies/tree/"})
    expect(st, 200, js2, "copy folder")
    rc, out, err = aws("s3api", "head-object", "--bucket", BUCKET, "--key", "copies/tree/sub/b.txt")
    assert rc == 0, err.decode()
    assert usage(c) > before, "copies count in the usage"
    other = "files2-" + RUN
    expect(c.call("POST", "/files", {"name": other})[0], 201)
    st, js, _ = c.call("POST", f"/files/{BUCKET}/copy", {"key": "copies/r.txt", "to": "r.txt", "bucket": other})
    expect(st, 200, js, "copy to another bucket")
    rc, out, err = aws("s3", "cp", f"s3://{other}/r.txt", "-")
    assert rc == 0 and out.startswith(b"alpha"), err.decode()
    st, js, _ = c.call("DELETE", f"/files/{q(other)}")
    expect(st, 409, js, "delete non-empty bucket")
    expect(c.call("DELETE", f"/files/{q(other)}?force=true")[0], 204, None, "force delete")
    st, js, _ = c.call("DELETE", obj(BUCKET, "copies/r.txt"))
    expect(st, 200, js, "delete file")
    st, js, _ = c.call("DELETE", obj(BUCKET, "copies/r.txt"))
    expect(st, 404, js, "delete twice")
    st, js, _ = c.call("DELETE", obj(BUCKET, "copies/"))
    expect(st, 200, js, "delete folder")
    assert js["deleted"] == 4, js
    rc, out, err = aws("s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", "copies/")
    assert rc == 0 and not json.loads(out or b"{}").get("Contents"), out


def t_new_folder():
    c = S["c"]
    st, js, _ = c.call("POST", f"/files/{BUCKET}/folders", {"key": "made/here"})
    expect(st, 201, js, "new folder")
    assert js["key"] == "made/here/" and js["type"] == "folder", js
    st, js, _ = c.call("POST", f"/files/{BUCKET}/folders", {"key": "made/here/"})
    expect(st, 409, js, "folder twice")
    rc, out, err = aws("s3api", "head-object", "--bucket", BUCKET, "--key", "made/here/")
    assert rc == 0, err.decode()
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", f"{USER}:{PASSWORD}", "-X", "PROPFIND",
                          "-H", "Depth: 0", BASE + f"/dav/{BUCKET}/made/here/"], capture_output=True, text=True)
    assert out.stdout == "207", out.stdout


def dav(method, path, body=None, headers=()):
    cmd = ["curl", "-s", "-i", "-u", f"{USER}:{PASSWORD}", "-X", method, BASE + "/dav/" + path]
    for h in headers:
        cmd += ["-H", h]
    if body is not None:
        cmd += ["-H", "Content-Type: application/xml", "--data-binary", body]
    out = subprocess.run(cmd, capture_output=True, text=True)
    head, _, rest = out.stdout.replace("\r\n", "\n").partition("\n\n")  # (text mode may have done it)
    status = int(head.split()[1]) if head.startswith("HTTP/") else 0
    return status, head, rest


def t_webdav_locks_and_props():
    c = S["c"]
    expect(c.call("PUT", obj(BUCKET, "dav/locked.txt"), raw=b"lock me")[0], 201)
    lockinfo = ('<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
                '<D:locktype><D:write/></D:locktype><D:owner>files-test</D:owner></D:lockinfo>')
    st, head, _ = dav("LOCK", f"{BUCKET}/dav/locked.txt", lockinfo, ["Timeout: Second-60"])
    assert st == 200, (st, head)
    token = [l.split(":", 1)[1].strip() for l in head.split("\n") if l.lower().startswith("lock-token:")][0]
    for method, path, body in (("DELETE", obj(BUCKET, "dav/locked.txt"), None),
                               ("DELETE", obj(BUCKET, "dav/"), None),
                               ("POST", f"/files/{BUCKET}/move", {"key": "dav/locked.txt", "to": "dav/x.txt"}),
                               ("POST", f"/files/{BUCKET}/move", {"key": "dav/", "to": "dav2/"})):
        st, js, _ = c.call(method, path, body)
        expect(st, 423, js, f"{method} {path} while locked")
        assert code(js) == "locked", js
    st, js, _ = c.call("PUT", obj(BUCKET, "dav/locked.txt"), raw=b"overwrite")
    expect(st, 423, js, "upload over a locked file")
    st, _, _ = dav("UNLOCK", f"{BUCKET}/dav/locked.txt", None, [f"Lock-Token: {token}"])
    assert st == 204, st
    # A dead property set over WebDAV follows a rename made in the console.
    patch = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:files-test"><D:set><D:prop>'
             '<Z:color>blue-' + RUN + '</Z:color></D:prop></D:set></D:propertyupdate>')
    st, head, body = dav("PROPPATCH", f"{BUCKET}/dav/locked.txt", patch)
    assert st == 207 and "200" in body, (st, body[:300])
    st, js, _ = c.call("POST", f"/files/{BUCKET}/move", {"key": "dav/locked.txt", "to": "dav/renamed.txt"})
    expect(st, 200, js, "rename after unlock")
    find = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:files-test"><D:prop><Z:color/></D:prop></D:propfind>'
    st, _, body = dav("PROPFIND", f"{BUCKET}/dav/renamed.txt", find, ["Depth: 0"])
    assert st == 207 and ("blue-" + RUN) in body, (st, body[:400])
    # A new file at the old name does not inherit it.
    expect(c.call("PUT", obj(BUCKET, "dav/locked.txt"), raw=b"new")[0], 201)
    st, _, body = dav("PROPFIND", f"{BUCKET}/dav/locked.txt", find, ["Depth: 0"])
    assert st == 207 and ("blue-" + RUN) not in body, body[:400]


def t_bad_names():
    c = S["c"]
    for key in ("", "a//b.txt", "../x.txt", "a/./b.txt", "/lead.txt", "ctl\x01.txt", "x" * 1100, "dir/"):
        st, js, _ = c.call("PUT", obj(BUCKET, key), raw=b"x")
        expect(st, 400, js, f"upload key {key!r:.40}")
    for key in ("a//", "..", "x/../"):
        st, js, _ = c.call("POST", f"/files/{BUCKET}/folders", {"key": key})
        expect(st, 400, js, f"folder {key!r}")
    st, js, _ = c.call("POST", f"/files/{BUCKET}/move", {"key": "moved/c.txt", "to": "../c.txt"})
    expect(st, 400, js, "move to a bad name")
    # A name that looks like markup is just a name.
    xss = "<img src=x onerror=alert(1)>.txt"
    expect(c.call("PUT", obj(BUCKET, xss), raw=b"x")[0], 201, None, "markup name")
    st, js, _ = c.call("GET", f"/files/{BUCKET}?prefix=&delimiter=/")
    assert xss in [i["name"] for i in js["items"]], js


def t_other_users_bucket():
    c = S["c"]
    st, js, _ = c.call("GET", "/files/no-such-bucket-" + RUN)
    expect(st, 404, js, "missing bucket")
    other = S.get("q")
    if not other:
        raise AssertionError("needs the quota user")
    ob = S["qbucket"]
    expect(other.call("PUT", obj(ob, "secret.txt"), raw=b"secret")[0], 201, None, "other user's file")
    for method, path, body in (("GET", f"/files/{ob}", None), ("GET", obj(ob, "secret.txt"), None),
                               ("DELETE", obj(ob, "secret.txt"), None), ("GET", f"/files/{ob}/search?q=s", None),
                               ("POST", f"/files/{ob}/move", {"key": "secret.txt", "to": "x.txt"}),
                               ("POST", f"/files/{BUCKET}/copy", {"key": "moved/c.txt", "to": "x.txt", "bucket": ob}),
                               ("DELETE", f"/files/{ob}?force=true", None)):
        st, js, _ = c.call(method, path, body)
        expect(st, 404, js, f"{method} {path}")
    st, js, _ = c.call("PUT", obj(ob, "planted.txt"), raw=b"x")
    expect(st, 404, js, "upload into another user's bucket")
    st, js, _ = c.call("POST", "/files", {"name": ob})
    expect(st, 409, js, "create a taken name")
    assert code(js) == "bucket_taken", js
    st, body, _ = other.call("GET", obj(ob, "secret.txt"))
    assert st == 200 and body == b"secret", "the owner's file is untouched"


def t_quota():
    name, pw = "filesq" + RUN, "files quota pass " + RUN
    args = [BIN, "user", "add", name, "--email", f"{name}@example.test", "--password-stdin", "--database-url", DB]
    if DATA:
        args += ["--data-dir", DATA]
    out = subprocess.run(args, input=pw + "\n", capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    out = subprocess.run(["psql", DB, "-tAc", f"UPDATE users SET quota_bytes_override = {MiB} WHERE name = '{name}'"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    c = Client()
    expect(c.login(name, pw)[0], 200, None, "quota user login")
    S["q"] = c
    S["qbucket"] = "filesq-" + RUN
    expect(c.call("POST", "/files", {"name": S["qbucket"]})[0], 201, None, "quota user bucket")
    st, js = put_expect_continue(c, obj(S["qbucket"], "big.bin"), 2 * MiB)
    expect(st, 403, js, "upload over quota")
    err = js["error"]
    assert err["code"] == "quota_exceeded" and err["bytes_limit"] == MiB and err["bytes_requested"] == 2 * MiB, err
    assert "free" in err["message"], err
    st, js, _ = c.call("POST", f"/files/{S['qbucket']}/uploads", {"key": "big.bin", "size": 3 * MiB})
    expect(st, 403, js, "upload in parts over quota")
    assert code(js) == "quota_exceeded", js
    st, js, _ = c.call("POST", f"/files/{S['qbucket']}/uploads", {"key": "big.bin"})
    expect(st, 201, js, "create without size")
    st, js2 = put_expect_continue(c, f"/files/{S['qbucket']}/uploads/{q(js['upload_id'])}/parts/1?key=big.bin", 2 * MiB)
    expect(st, 403, js2, "part over quota")
    assert code(js2) == "quota_exceeded", js2
    expect(c.call("PUT", obj(S["qbucket"], "small.bin"), raw=os.urandom(1000))[0], 201, None, "upload within quota")


SCENARIOS = [
    ("files-auth-csrf", t_auth_and_csrf),
    ("files-buckets", t_buckets),
    ("files-upload-download", t_upload_download),
    ("files-listing-search", t_listing_and_search),
    ("files-multipart", t_multipart),
    ("files-complete-all-parts", t_complete_all_parts),
    ("files-abort-frees-quota", t_abort_frees),
    ("files-rename-folder-s3-webdav", t_rename_folder_then_s3_and_webdav),
    ("files-copy-delete", t_copy_and_delete),
    ("files-new-folder", t_new_folder),
    ("files-webdav-locks-and-props", t_webdav_locks_and_props),
    ("files-bad-names", t_bad_names),
    ("files-quota", t_quota),
    ("files-other-users-bucket", t_other_users_bucket),
]


def main():
    global FAILED
    only = sys.argv[1:]
    for name, fn in SCENARIOS:
        if only and name not in only:
            continue
        try:
            fn()
            print(f"PASS {name}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, the run goes on
            FAILED += 1
            msg = str(e).replace("\n", " ")[:400] or type(e).__name__
            print(f"FAIL {name}: {msg}", flush=True)
            traceback.print_exc(file=sys.stderr)
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
