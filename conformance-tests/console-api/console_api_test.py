"""Console admin API against the running test server (DEPOT_ENDPOINT) and its database.

Every setting this suite stores is removed again at the end (stored settings win over every
server's configuration on the shared database)."""
import http.cookiejar
import json
import os
import random
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from depot_support import free_port  # noqa: E402

BASE = os.environ["DEPOT_ENDPOINT"].rstrip("/")
API = BASE + "/api/v1"
BIN = os.environ["DEPOT_BIN"]
DB = os.environ["DEPOT_DATABASE_URL"]
DATA = os.environ["DEPOT_DATA_DIR"]
LOG = os.environ.get("DEPOT_SERVER_LOG", "")
RUN = "%d%03d" % (int(time.time()) % 100000, random.randint(0, 999))
S = {}
MAILS = []
MAIL_LOCK = threading.Lock()
SETTING_KEYS = ["signup_mode", "smtp_url", "smtp_user", "smtp_password", "mail_from", "site_name", "logo_url",
                "primary_color", "usage_sample_seconds"]


class Client:
    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = None

    def call(self, method, path, body=None, csrf=True):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(API + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if csrf and self.csrf:
            req.add_header("X-CSRF-Token", self.csrf)
        try:
            with self.opener.open(req, timeout=40) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        try:
            js = json.loads(text) if text else None
        except ValueError:
            js = None
        return status, js, text

    def login(self, name, password):
        st, js, _ = self.call("POST", "/auth/login", dict(name=name, password=password))
        assert st == 200, f"login {name}: {st} {js}"
        self.csrf = js["csrf_token"]


def expect(st, want, js=None, what=""):
    want = (want,) if isinstance(want, int) else want
    assert st in want, f"{what}: HTTP {st}, wanted {want}: {js}"


def psql(sql):
    out = subprocess.run(["psql", DB, "-tAc", sql], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def depot(*args, stdin=None):
    out = subprocess.run([BIN, *args, "--database-url", DB, "--data-dir", DATA], input=stdin, capture_output=True, text=True)
    return out.returncode, out.stdout + out.stderr


def reset_settings():
    psql("DELETE FROM console_settings WHERE key IN (%s)" % ",".join("'%s'" % k for k in SETTING_KEYS))


# ------------------------------------------------------------------ scenarios
ADMIN_ROUTES = [("GET", "/audit"), ("GET", "/admin/overview"), ("GET", "/admin/usage-history"), ("GET", "/settings"),
                ("PATCH", "/settings"), ("POST", "/settings/test-mail"), ("GET", "/users?q=a&sort=used"),
                ("GET", "/billing/events?type=invoice.paid"), ("GET", "/billing/events/evt_x"),
                ("POST", "/users/NAME/password-reset")]


def t_authorization():
    user, admin = S["user_client"], S["admin"]
    for method, path in ADMIN_ROUTES:
        path = path.replace("NAME", S["users"][0])
        body = {} if method != "GET" else None
        st, js, _ = user.call(method, path, body)
        expect(st, 403, js, f"user {method} {path}")
        assert js["error"]["code"] == "forbidden", js
        st, js, _ = Client().call(method, path, body)
        expect(st, 401, js, f"anonymous {method} {path}")
    # A user sees only their own buckets; others' accounts do not exist for them.
    st, js, _ = user.call("GET", f"/users/{S['admin_name']}/buckets")
    expect(st, 404, js, "other user's buckets")
    st, js, _ = user.call("GET", f"/users/{S['user_name']}/buckets")
    expect(st, 200, js, "own buckets")
    # A cookie session must send its CSRF token on every change.
    st, js, _ = admin.call("PATCH", "/settings", {"primary_color": "#123456"}, csrf=False)
    expect(st, 403, js, "PATCH without CSRF")
    assert js["error"]["code"] == "csrf_failed", js
    assert psql("SELECT count(*) FROM console_settings WHERE key = 'primary_color'") == "0"


def t_branding_and_settings():
    admin = S["admin"]
    st, js, _ = Client().call("GET", "/branding")
    expect(st, 200, js, "branding")
    assert set(js) >= {"site_name", "logo_url", "primary_color"}, js
    for bad in [{"primary_color": "red"}, {"primary_color": "#12345"}, {"signup_mode": "maybe"}, {"logo_url": "javascript:x"}, {"logo_url": "https://elsewhere.example/l.png"}, {"logo_url": "//evil/x"},
                {"smtp_url": "http://x"}, {"nope": 1}, {"usage_sample_seconds": 0}, {"site_name": ""}]:
        st, js, _ = admin.call("PATCH", "/settings", bad)
        expect(st, 400, js, f"bad setting {bad}")
    st, js, _ = admin.call("PATCH", "/settings", {"primary_color": "#ABCDEF", "site_name": "Console " + RUN,
                                                  "logo_url": "/ui/logo.svg"})
    expect(st, 200, js, "patch branding")
    st, js, _ = Client().call("GET", "/branding")
    assert js == {"site_name": "Console " + RUN, "logo_url": "/ui/logo.svg", "primary_color": "#abcdef"}, js
    # Mails carry the stored site name too.
    target = S["users"][0]
    st, js, _ = Client().call("POST", "/auth/password-reset", {"email": f"{target}@mail{RUN}.test"})
    expect(st, (200, 202), js, "reset request")
    body = psql(f"SELECT text_body FROM outbox WHERE to_addr = '{target}@mail{RUN}.test' ORDER BY id DESC LIMIT 1")
    assert ("Console " + RUN) in body, "the mail does not carry the stored site name: " + body[:200]
    st, js, _ = admin.call("PATCH", "/settings", {"primary_color": None, "site_name": None, "logo_url": None})
    expect(st, 200, js)
    assert js["primary_color"] != "#abcdef" and js["logo_url"] is None and "primary_color" not in js["stored"], js
    # Billing status: booleans only.
    assert isinstance(js["billing_configured"], bool) and isinstance(js["billing_webhook_secret_set"], bool), js


def t_signup_mode_takes_effect():
    admin = S["admin"]
    st, js, _ = admin.call("PATCH", "/settings", {"signup_mode": "closed"})
    expect(st, 200, js)
    assert js["signup_mode"] == "closed"
    body = dict(name="cqs" + RUN, email=f"cqs{RUN}@example.test", password="a long password " + RUN)
    st, js, _ = Client().call("POST", "/auth/signup", body)
    expect(st, 403, js, "sign-up while closed")
    assert js["error"]["code"] == "signup_closed", js
    st, js, _ = admin.call("PATCH", "/settings", {"signup_mode": "invite"})
    st, js, _ = Client().call("POST", "/auth/signup", body)
    expect(st, 403, js, "sign-up while invite-only")
    assert js["error"]["code"] == "invite_required", js
    st, js, _ = admin.call("PATCH", "/settings", {"signup_mode": None})
    expect(st, 200, js)
    assert "signup_mode" not in js["stored"], js


def t_smtp_password_and_test_mail():
    admin = S["admin"]
    secret = "smtp-secret-" + RUN
    st, js, raw = admin.call("PATCH", "/settings", {"smtp_password": secret, "smtp_user": "mailer"})
    expect(st, 200, js)
    assert js["smtp_password_set"] is True and secret.encode() not in raw, js
    st, js, raw = admin.call("GET", "/settings")
    assert secret.encode() not in raw and js["smtp_user"] == "mailer", js
    stored = psql("SELECT value FROM console_settings WHERE key = 'smtp_password'")
    assert stored and secret not in stored, "the password is stored in clear"
    st, js, raw = admin.call("GET", "/audit?action=UpdateSettings&limit=5")
    assert secret.encode() not in raw and js["items"][0]["details"]["changes"]["smtp_password"] == "(changed)", js
    if LOG and os.path.exists(LOG):
        assert secret not in open(LOG, errors="replace").read(), "the SMTP password is in the server log"
    st, js, _ = admin.call("PATCH", "/settings", {"smtp_password": None, "smtp_user": None})
    expect(st, 200, js)

    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            with MAIL_LOCK:
                MAILS.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    port = free_port()
    ctl = Controller(Sink(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        to = f"cqmail{RUN}@example.test"
        st, js, _ = admin.call("PATCH", "/settings", {"smtp_url": f"smtp://127.0.0.1:{port}", "mail_from": "console@example.test"})
        expect(st, 200, js)
        assert js["smtp_configured"] is True and js["mail_from"] == "console@example.test", js
        st, js, _ = admin.call("POST", "/settings/test-mail", {"to": "not an address"})
        expect(st, 400, js, "bad address")
        st, js, _ = admin.call("POST", "/settings/test-mail", {"to": to})
        expect(st, 200, js, "test mail")
        assert js["sent"] is True and js["error"] is None, js
        with MAIL_LOCK:
            assert any(to in rcpts for rcpts, _ in MAILS), "the sink got no test mail"
    finally:
        ctl.stop()
    # An unreachable server: the outcome says so, and the mail stays queued.
    dead = free_port()
    st, js, _ = admin.call("PATCH", "/settings", {"smtp_url": f"smtp://127.0.0.1:{dead}"})
    st, js, _ = admin.call("POST", "/settings/test-mail", {"to": f"cqdead{RUN}@example.test"})
    expect(st, 200, js, "test mail to a dead server")
    assert js["sent"] is False and js["error"], js
    st, js, _ = admin.call("PATCH", "/settings", {"smtp_url": None, "mail_from": None})
    expect(st, 200, js)


def t_users_search_sort_page():
    admin = S["admin"]
    names = S["users"]
    sizes = [300, 100, 500, 200, 400]
    for n, b in zip(names, sizes):
        psql(f"UPDATE usage SET bytes_used = {b} WHERE user_id = (SELECT id FROM users WHERE name = '{n}')")
    st, js, _ = admin.call("GET", f"/users?q=cq{RUN}x&sort=used&order=desc")
    expect(st, 200, js)
    assert [u["name"] for u in js["items"]] == [n for _, n in sorted(zip(sizes, names), reverse=True)], js["items"]
    assert js["total"] == 5 and js["items"][0]["bytes_used"] == 500, js
    st, js, _ = admin.call("GET", f"/users?q=CQ{RUN}X&sort=name")  # case-insensitive
    assert [u["name"] for u in js["items"]] == sorted(names), js
    st, js, _ = admin.call("GET", f"/users?q=" + urllib.parse.quote(f"mail{RUN}.test") + "&sort=email&order=desc")
    assert [u["email"] for u in js["items"]] == sorted([f"{n}@mail{RUN}.test" for n in names], reverse=True), js
    st, js, _ = admin.call("GET", f"/users?q=cq{RUN}x&sort=created&limit=2&offset=2")
    assert [u["name"] for u in js["items"]] == names[2:4] and js["next_offset"] == 4 and js["total"] == 5, js
    st, js, _ = admin.call("GET", f"/users?q=cq{RUN}x&sort=plan&order=asc")
    plans = [u["plan"] for u in js["items"]]
    assert plans == sorted(plans) and "premium" in plans, js
    st, js, _ = admin.call("GET", f"/users?q=cq{RUN}x&limit=2")
    st2, js2, _ = admin.call("GET", f"/users?q=cq{RUN}x&limit=2&after=" + urllib.parse.quote(js["next"]))
    assert [u["name"] for u in js2["items"]] == sorted(names)[2:4], js2
    # Keyset paging in every order: the pages join up with no overlap.
    for sort in ["used", "created", "plan", "email", "name"]:
        for order in ["asc", "desc"]:
            st, full, _ = admin.call("GET", f"/users?q=cq{RUN}x&sort={sort}&order={order}")
            seen, after = [], None
            for _ in range(4):
                path = f"/users?q=cq{RUN}x&sort={sort}&order={order}&limit=2"
                if after:
                    path += "&after=" + urllib.parse.quote(after)
                st, js, _ = admin.call("GET", path)
                expect(st, 200, js, f"page {sort} {order}")
                seen += [u["name"] for u in js["items"]]
                after = js["next"]
                if not after:
                    break
            assert seen == [u["name"] for u in full["items"]], (sort, order, seen)
    st, js, _ = admin.call("GET", "/users?sort=used&after=" + urllib.parse.quote('["x", "1"]'))
    expect(st, 400, js, "bad cursor")
    st, js, _ = admin.call("GET", f"/users?q=x&sort=name&limit=1")  # short text: start of name or email
    assert all(u["name"].startswith("x") or u["email"].startswith("x") for u in js["items"]), js
    st, js, _ = admin.call("GET", "/users?q=%25_")  # pattern characters are literal
    expect(st, 200, js)
    assert js["total"] == 0, js
    st, js, _ = admin.call("GET", "/users?sort=password")
    expect(st, 400, js, "bad sort")


def t_overview_and_history():
    admin = S["admin"]
    st, js, _ = admin.call("GET", "/admin/overview")
    expect(st, 200, js)
    assert js["users"]["total"] >= 7 and js["users"]["suspended"] >= 1, js["users"]
    assert js["storage"]["bytes"] >= 1500, js["storage"]
    assert any(p["plan"] == "free" and p["users"] >= 1 for p in js["plans"]), js["plans"]
    assert len(js["top_users"]) <= 10 and [t["bytes"] for t in js["top_users"]] == sorted([t["bytes"] for t in js["top_users"]], reverse=True)
    h = js["health"]
    assert h["database"]["ok"] is True and h["database"]["latency_ms"] >= 0, h
    assert h["blob_store"]["total_bytes"] > 0 and 0 <= h["blob_store"]["free_bytes"] <= h["blob_store"]["total_bytes"], h
    assert h["sweeper"]["nodes_alive"] >= 1, h
    st, js, _ = admin.call("PATCH", "/settings", {"usage_sample_seconds": 1})
    expect(st, 200, js)
    try:
        before = int(psql("SELECT count(*) FROM usage_samples"))
        deadline = time.time() + 20
        while time.time() < deadline and int(psql("SELECT count(*) FROM usage_samples")) < before + 2:
            time.sleep(0.5)
        st, js, _ = admin.call("GET", "/admin/usage-history?days=1")
        expect(st, 200, js)
        assert len(js["items"]) >= 2 and js["interval_seconds"] == 1, js
        last = js["items"][-1]
        assert last["bytes"] >= 1500 and last["users"] >= 7 and js["items"][0]["at"] <= last["at"], last
    finally:
        admin.call("PATCH", "/settings", {"usage_sample_seconds": None})


def t_user_detail_extras():
    admin, name = S["admin"], S["users"][0]
    st, js, _ = admin.call("GET", f"/users/{name}/buckets")
    expect(st, 200, js)
    assert js["items"] == [], js
    st, js, _ = admin.call("POST", f"/users/{name}/password-reset", {})
    expect(st, 202, js, "password reset")
    n = psql(f"SELECT count(*) FROM outbox WHERE to_addr = '{name}@mail{RUN}.test' AND created_at > now() - interval '1 minute'")
    assert int(n) >= 1, "no reset mail in the outbox"
    st, js, _ = admin.call("POST", "/users/nobody-" + RUN + "/password-reset", {})
    expect(st, 404, js)


def raw_call(client, method, path, data, content_type="application/octet-stream"):
    req = urllib.request.Request(API + path, data=data, method=method)
    req.add_header("Content-Type", content_type)
    if client.csrf:
        req.add_header("X-CSRF-Token", client.csrf)
    try:
        with client.opener.open(req, timeout=40) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def t_admin_reads_user_files():
    admin, user, uname = S["admin"], S["user_client"], S["user_name"]
    b = "cqfiles" + RUN
    st, js, _ = user.call("POST", "/files", {"name": b})
    expect(st, 201, js, "create bucket")
    body = os.urandom(3000)
    st, text = raw_call(user, "PUT", f"/files/{b}/object?key=a/b.txt", body)
    expect(st, (200, 201), text, "upload")
    st, js, _ = admin.call("GET", f"/files?user={uname}")
    expect(st, 200, js, "admin lists the user's buckets")
    assert b in [x["name"] for x in js["items"]], js
    st, js, _ = admin.call("GET", f"/files/{b}?user={uname}&prefix=a/&delimiter=/")
    expect(st, 200, js, "admin lists a folder")
    assert [x["key"] for x in js["items"]] == ["a/b.txt"], js
    st, _, got = admin.call("GET", f"/files/{b}/object?user={uname}&key=a/b.txt")
    assert st == 200 and got == body, f"admin download: {st}"
    # Each look into the account is in the audit log, with whose files and what was read.
    st, js, _ = admin.call("GET", f"/audit?actor={S['admin_name']}&limit=3")
    seen = [(e["target"], e["details"]) for e in js["items"]]
    assert seen[0] == (f"{uname}/{b}", {"user": uname, "key": "a/b.txt"}), seen
    assert seen[1] == (f"{uname}/{b}", {"user": uname, "prefix": "a/"}), seen
    assert seen[2][0] == uname and seen[2][1] == {"user": uname}, seen
    st, text = raw_call(admin, "PUT", f"/files/{b}/object?user={uname}&key=x.txt", b"x")
    expect(st, 403, text, "admin write into another account")
    st, js, _ = admin.call("DELETE", f"/files/{b}/object?user={uname}&key=a/b.txt")
    expect(st, 403, js, "admin delete in another account")
    st, js, _ = user.call("GET", f"/files?user={S['admin_name']}")
    expect(st, 403, js, "a user looking at another account")
    st, js, _ = admin.call("GET", f"/files?user=nobody{RUN}")
    expect(st, 404, js, "no such user")
    st, js, _ = user.call("GET", f"/files/{b}?prefix=a/&delimiter=/")
    assert st == 200 and [x["key"] for x in js["items"]] == ["a/b.txt"], "the file is still there"
    st, js, _ = user.call("DELETE", f"/files/{b}?force=true")
    expect(st, (200, 204), js, "clean up")


def t_billing_events():
    admin = S["admin"]
    a, b = f"evt_cq_{RUN}_a", f"evt_cq_{RUN}_b"
    psql(f"""INSERT INTO billing_events (id, type, created, payload, effect) VALUES
             ('{a}', 'invoice.paid', 1, '{{"id": "{a}", "type": "invoice.paid", "n": 1}}', 'paid; grace period cleared'),
             ('{b}', 'cq.test.{RUN}', 2, '{{"id": "{b}"}}', 'ignored: event type not handled')""")
    try:
        st, js, _ = admin.call("GET", "/billing/events?type=invoice.paid&limit=1000")
        ids = [e["id"] for e in js["items"]]
        assert a in ids and b not in ids and all(e["type"] == "invoice.paid" for e in js["items"]), ids[:5]
        st, js, _ = admin.call("GET", "/billing/events?outcome=ignored&limit=1000")
        ids = [e["id"] for e in js["items"]]
        assert b in ids and a not in ids and all(e["outcome"] == "ignored" for e in js["items"]), ids[:5]
        st, js, _ = admin.call("GET", f"/billing/events?type=cq.test.{RUN}&outcome=applied")
        assert js["items"] == [], js
        st, js, _ = admin.call("GET", "/billing/events/" + a)
        expect(st, 200, js)
        assert js["payload"] == {"id": a, "type": "invoice.paid", "n": 1} and js["outcome"] == "applied", js
        st, js, _ = admin.call("GET", "/billing/events/evt_none_" + RUN)
        expect(st, 404, js)
        st, js, _ = admin.call("GET", "/billing/events?outcome=maybe")
        expect(st, 400, js)
    finally:
        psql(f"DELETE FROM billing_events WHERE id IN ('{a}', '{b}')")


def t_audit_log():
    admin = S["admin"]
    st, js, _ = admin.call("GET", "/audit?actor=" + S["admin_name"] + "&limit=1000")
    expect(st, 200, js)
    actions = {e["action"] for e in js["items"]}
    for want in ["CreateUser", "SuspendUser", "UpdateSettings", "SendTestMail", "SendPasswordReset", "CreatePlan", "DeletePlan"]:
        assert want in actions, (want, actions)
    assert all(e["actor"] == S["admin_name"] and e["actor_addr"] for e in js["items"]), js["items"][:2]
    create = [e for e in js["items"] if e["action"] == "CreateUser"][0]
    assert create["details"]["body"]["password"] == "(redacted)", create
    st, js, _ = admin.call("GET", "/audit?action=SuspendUser")
    assert js["items"] and all(e["action"] == "SuspendUser" for e in js["items"]), js
    assert js["items"][0]["target"] == S["users"][4], js["items"][0]
    # Refused changes are not actions.
    n = int(psql("SELECT count(*) FROM audit_log"))
    admin.call("PATCH", "/settings", {"primary_color": "nope"})
    assert int(psql("SELECT count(*) FROM audit_log")) == n
    # Paging by id.
    st, js, _ = admin.call("GET", "/audit?limit=2")
    st2, js2, _ = admin.call("GET", f"/audit?limit=2&before={js['next']}")
    assert js2["items"][0]["id"] < js["items"][-1]["id"], (js, js2)


def t_missing_fields_refused_server_stays_up():
    """Bodies without the fields a route needs ({} or nothing at all) are a 400 JSON error every
    time, and the server lives on (it used to die after two: heap corruption)."""
    def json_error(st, text, want, what):
        expect(st, want, text[:200], what)
        js = json.loads(text)
        assert isinstance(js, dict) and js.get("error", {}).get("code"), f"{what}: not a JSON error: {text[:200]}"

    def ready(what):
        with urllib.request.urlopen(BASE + "/readyz", timeout=10) as r:
            assert r.status == 200, f"/readyz after {what}: {r.status}"

    anon = Client()
    try:
        for i in range(10):
            for path in ("/auth/token", "/auth/login"):
                for data in (b"{}", b""):
                    st, text = raw_call(anon, "POST", path, data, "application/json")
                    json_error(st, text, 400, f"#{i + 1} POST {path} {data!r}")
        ready("the anonymous requests")
    finally:
        psql("DELETE FROM auth_throttle WHERE scope = 'ip:127.0.0.1'")
    user, me = S["user_client"], S["user_name"]
    st, js, _ = user.call("GET", f"/users/{me}/app-passwords")
    expect(st, 200, js, "list app passwords")
    before = json.dumps(js, sort_keys=True)
    for i in range(5):
        for method, path in (("POST", f"/users/{me}/password"), ("POST", f"/users/{me}/app-passwords"),
                             ("PUT", f"/users/{me}/webdav-password")):
            st, text = raw_call(user, method, path, b"{}", "application/json")
            json_error(st, text, 400, f"#{i + 1} {method} {path} {{}}")
    ready("the signed-in requests")
    st, js, _ = user.call("GET", f"/users/{me}/app-passwords")
    expect(st, 200, js, "the session still works")
    assert json.dumps(js, sort_keys=True) == before, f"app passwords changed: {before} -> {js}"


# ------------------------------------------------------------------ second fuzzing round (9ea5350)
def plain_call(method, path, headers=None, data=None):
    """A request without the cookie jar: status, headers, parsed JSON."""
    req = urllib.request.Request(API + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=40) as r:
            status, hdrs, text = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, text = e.code, e.headers, e.read()
    try:
        js = json.loads(text) if text else None
    except ValueError:
        js = None
    return status, hdrs, js


def refused(st, js, what, want=400, code="invalid_argument"):
    expect(st, want, js, what)
    assert js and js["error"]["code"] == code, f"{what}: {js}"


def t_before_past_int32():
    """?before= past 2^31 was bound as int4 (500); the billing events' own next cursor (microseconds) always was."""
    admin, user, me = S["admin"], S["user_client"], S["user_name"]
    for path in ("/billing/events", "/audit", "/mail"):
        st, js, _ = admin.call("GET", path + "?before=2147483648")
        expect(st, 200, js, f"{path}?before=2^31")
        assert isinstance(js["items"], list), js
    st, js, _ = user.call("GET", f"/users/{me}/billing-events?before=2147483648")
    expect(st, 200, js, "own billing events ?before=2^31")
    uid = psql(f"SELECT id FROM users WHERE name = '{me}'")
    ids = [f"evt_cqpage_{RUN}_{i}" for i in range(3)]
    psql("INSERT INTO billing_events (id, type, created, user_id, payload, effect, received_at) VALUES " + ",".join(
        f"('{e}', 'cq.page.{RUN}', {i}, {uid}, '{{}}', 'ignored: test', date_trunc('second', now()) - interval '{i} minutes')"
        for i, e in enumerate(ids)))
    try:
        for what, client, path in (("admin", admin, f"/billing/events?type=cq.page.{RUN}&limit=1"),
                                   ("user", user, f"/users/{me}/billing-events?limit=1")):
            seen, before = [], None
            for _ in range(5):
                st, js, _ = client.call("GET", path + (f"&before={before}" if before else ""))
                expect(st, 200, js, f"{what} billing events page {len(seen) + 1} (before={before})")
                seen += [e["id"] for e in js["items"]]
                before = js["next"]
                if not before:
                    break
            assert seen == ids, f"{what}: following next gave {seen}"
    finally:
        psql("DELETE FROM billing_events WHERE id IN (%s)" % ",".join(f"'{e}'" for e in ids))


def t_users_cursor_values_refused():
    admin = S["admin"]
    for sort, after in (("created", ["notadate", "x"]), ("used", ["9999999999999999999", "1"])):
        st, js, _ = admin.call("GET", f"/users?sort={sort}&after=" + urllib.parse.quote(json.dumps(after)))
        refused(st, js, f"sort={sort} after={after}")


def t_query_params_utf8_no_nul():
    admin, user = S["admin"], S["user_client"]
    b = "cqutf" + RUN
    st, js, _ = user.call("POST", "/files", {"name": b})
    expect(st, 201, js, "create bucket")
    try:
        for path in (f"/files/{b}?prefix=%FF", f"/files/{b}?after=%FF", f"/files/{b}/search?q=%FF",
                     f"/files/{b}/object?key=%FF", f"/files/{b}?prefix=a%00b"):
            st, js, _ = user.call("GET", path)
            refused(st, js, "user GET " + path)
        for path in ("/users?q=%FF", "/users?q=b%00zzz", "/users?q=%ZZ", "/audit?actor=%FF",
                     "/billing/events?type=%FF", "/files?user=%FF"):
            st, js, _ = admin.call("GET", path)
            refused(st, js, "admin GET " + path)
        st, js, _ = admin.call("GET", "/users?q=%C3%A9" + RUN)  # valid UTF-8 still searches
        expect(st, 200, js, "UTF-8 search")
        st, js, _ = user.call("GET", f"/files/{b}?prefix=%C3%A9")
        expect(st, 200, js, "UTF-8 prefix")
    finally:
        user.call("DELETE", f"/files/{b}?force=true")


def t_json_nul_refused():
    """\\u0000 in a JSON string: PostgreSQL cut the stored value at the NUL (an email without its @),
    or the audit row failed after the change was applied."""
    admin, user, me = S["admin"], S["user_client"], S["user_name"]
    name = "cqnul" + RUN
    st, js, _ = admin.call("POST", "/users", dict(name=name, email=f"{name}\u0000@y.z", password="user password " + RUN))
    refused(st, js, "create user with NUL in email")
    assert psql(f"SELECT count(*) FROM users WHERE name = '{name}'") == "0", "the user was created"
    target = S["users"][1]
    st, before, _ = admin.call("GET", f"/users/{target}")
    expect(st, 200, before)
    audit = psql(f"SELECT count(*) FROM audit_log WHERE target = '{target}'")
    after = None
    try:
        st, js, _ = admin.call("PATCH", f"/users/{target}", {"quota_bytes_override": 12345, "note": "\u0000"})
        refused(st, js, "PATCH with NUL in an unknown field")
        st, after, _ = admin.call("GET", f"/users/{target}")
        assert after["quota_bytes_override"] == before["quota_bytes_override"], (before, after)
        assert psql(f"SELECT count(*) FROM audit_log WHERE target = '{target}'") == audit, "an audit row for a refused change"
    finally:
        if after is None or after["quota_bytes_override"] != before["quota_bytes_override"]:
            admin.call("PATCH", f"/users/{target}", {"quota_bytes_override": before["quota_bytes_override"]})
    for kind, body in (("keys", {"label": "abc\u0000def"}), ("app-passwords", {"name": "abc\u0000def"})):
        st, listed, _ = user.call("GET", f"/users/{me}/{kind}")
        st, js, _ = user.call("POST", f"/users/{me}/{kind}", body)
        refused(st, js, f"new {kind} with NUL")
        st, again, _ = user.call("GET", f"/users/{me}/{kind}")
        assert again["items"] == listed["items"], f"{kind} changed: {listed} -> {again}"


def t_admin_patch_all_or_nothing():
    admin, me = S["admin"], S["admin_name"]
    name = "cqpatch" + RUN
    st, js, _ = admin.call("POST", "/users", dict(name=name, email=f"{name}@example.test", password="user password " + RUN,
                                                  plan="free"))
    expect(st, 201, js, "create user")
    try:
        st, js, _ = admin.call("PATCH", f"/users/{name}", {"plan": "premium", "is_admin": True, "quota_bytes_override": -1})
        refused(st, js, "negative quota after plan and is_admin")
        st, js, _ = admin.call("PATCH", f"/users/{name}", {"email": f"changed{RUN}@x.y", "status": "bogus"})
        refused(st, js, "bad status after email")
        st, js, _ = admin.call("GET", f"/users/{name}")
        assert (js["plan"], js["is_admin"], js["email"], js["quota_bytes_override"]) == \
            ("free", False, f"{name}@example.test", None), js
        st, js, _ = admin.call("PATCH", f"/users/{me}", {"is_admin": False})
        refused(st, js, "an admin removing their own admin role", 409, "conflict")
        st, js, _ = admin.call("GET", "/me")
        assert js["user"]["is_admin"] is True, js
    finally:
        psql(f"UPDATE users SET is_admin = true WHERE name = '{me}'")
        admin.call("DELETE", f"/users/{name}")


def t_part_numbers_in_range():
    user = S["user_client"]
    b = "cqpart" + RUN
    st, js, _ = user.call("POST", "/files", {"name": b})
    expect(st, 201, js, "create bucket")
    try:
        st, js, _ = user.call("POST", f"/files/{b}/uploads", {"key": "p.bin"})
        expect(st, (200, 201), js, "start upload")
        up = js["upload_id"]
        st, text = raw_call(user, "PUT", f"/files/{b}/uploads/{up}/parts/1?key=p.bin", b"a" * 10)
        expect(st, (200, 201), text, "part 1")
        etag = json.loads(text)["etag"]
        for number in (4294967297, 0):
            st, js, _ = user.call("POST", f"/files/{b}/uploads/{up}/complete?key=p.bin", {"parts": [{"number": number, "etag": etag}]})
            refused(st, js, f"complete with part number {number}")
        st, _, _ = user.call("GET", f"/files/{b}/object?key=p.bin")
        expect(st, 404, None, "no object after the refused completes")
        st, js, _ = user.call("POST", f"/files/{b}/uploads/{up}/complete?key=p.bin", {"parts": [{"number": 1, "etag": etag}]})
        expect(st, (200, 201), js, "complete with part 1")
        st, _, got = user.call("GET", f"/files/{b}/object?key=p.bin")
        assert st == 200 and got == b"a" * 10, f"download: {st} {got[:40]!r}"
    finally:
        user.call("DELETE", f"/files/{b}?force=true")


def t_allow_header_bearer_case():
    for method, path, allow in (("DELETE", "/auth/token", {"POST"}), ("PUT", "/plans", {"GET", "POST"}),
                                ("POST", "/users/x/keys/1", {"DELETE"})):
        st, hdrs, js = plain_call(method, path)
        expect(st, 405, js, f"{method} {path}")
        got = {m.strip() for m in (hdrs.get("Allow") or "").split(",") if m.strip()}
        assert got == allow, f"{method} {path}: Allow {hdrs.get('Allow')!r}, wanted {allow}"
    st, _, js = plain_call("POST", "/auth/token", {"Content-Type": "application/json"},
                           json.dumps(dict(name=S["user_name"], password=S["user_password"])).encode())
    expect(st, 200, js, "token")
    for scheme in ("Bearer", "bearer", "BEARER"):
        st, _, me = plain_call("GET", "/me", {"Authorization": f"{scheme} {js['access_token']}"})
        expect(st, 200, me, f"GET /me with {scheme}")
        assert me["user"]["name"] == S["user_name"], me


def t_path_ids_plain_digits():
    user, me = S["user_client"], S["user_name"]
    st, ap, _ = user.call("POST", f"/users/{me}/app-passwords", {"name": "cqdigits"})
    expect(st, 201, ap, "new app password")
    other = Client()
    other.login(me, S["user_password"])
    st, js, _ = other.call("GET", f"/users/{me}/sessions")
    sid = [s["id"] for s in js["items"] if s["current"]][0]
    try:
        for kind, id_ in (("app-passwords", ap["id"]), ("sessions", sid)):
            for bad in (f"%20%2B{id_}", f"%2B{id_}", f"%20{id_}"):
                st, js, _ = user.call("DELETE", f"/users/{me}/{kind}/{bad}")
                expect(st, (400, 404), js, f"DELETE {kind}/{bad}")
        st, js, _ = user.call("GET", f"/users/{me}/app-passwords")
        assert ap["id"] in [a["id"] for a in js["items"]], f"app password {ap['id']} was revoked: {js}"
        st, js, _ = other.call("GET", "/me")
        expect(st, 200, js, "the session was ended")
        st, js, _ = user.call("DELETE", f"/users/{me}/app-passwords/{ap['id']}")
        expect(st, (200, 204), js, "plain digits revoke")
    finally:
        user.call("DELETE", f"/users/{me}/app-passwords/{ap['id']}")
        user.call("DELETE", f"/users/{me}/sessions/{sid}")


def t_invite_email_and_stale_cookie():
    """An invite's email, when given, must be an address; a stale empty session cookie before the real one is skipped."""
    admin = S["admin"]
    for bad in ("no-at-sign", "x" * 300 + "@example.test"):
        st, js, _ = admin.call("POST", "/invites", {"email": bad})
        refused(st, js, f"invite for {bad[:20]}")
    st, js, _ = admin.call("POST", "/invites", {"email": f"invitee{RUN}@example.test"})
    expect(st, 201, js, "invite with an address")
    st, js, _ = admin.call("POST", "/invites", {})
    expect(st, 201, js, "invite for anyone")
    jar = [h for h in admin.opener.handlers if isinstance(h, urllib.request.HTTPCookieProcessor)][0].cookiejar
    token = [c.value for c in jar if c.name == "depot_session"][0]
    st, _, js = plain_call("GET", "/me", headers={"Cookie": f"depot_session=; depot_session={token}"})
    expect(st, 200, js, "an empty cookie first")
    assert js["user"]["name"] == S["admin_name"], js


def setup():
    S["admin_name"] = "cqadmin" + RUN
    pw = "admin password " + RUN
    rc, out = depot("user", "add", S["admin_name"], "--email", f"{S['admin_name']}@example.test", "--admin",
                    "--password-stdin", stdin=pw + "\n")
    assert rc == 0, out
    psql("DELETE FROM auth_throttle WHERE scope = 'ip:127.0.0.1'")
    S["admin"] = Client()
    S["admin"].login(S["admin_name"], pw)
    admin = S["admin"]
    S["users"] = [f"cq{RUN}x{c}" for c in "abcde"]
    for i, n in enumerate(S["users"]):
        st, js, _ = admin.call("POST", "/users", dict(name=n, email=f"{n}@mail{RUN}.test", password="user password " + RUN,
                                                      plan="premium" if i % 2 else "free"))
        expect(st, 201, js, "create user")
        time.sleep(0.01)  # distinct created_at
    st, js, _ = admin.call("POST", f"/users/{S['users'][4]}/suspend", {})
    expect(st, 200, js)
    st, js, _ = admin.call("POST", "/plans", dict(name="cqplan" + RUN, bytes_limit=5 * 2**30))
    expect(st, 201, js)
    st, js, _ = admin.call("DELETE", "/plans/cqplan" + RUN)
    expect(st, 204, js)
    S["user_name"] = "cqu" + RUN
    upw = "user password " + RUN
    st, js, _ = admin.call("POST", "/users", dict(name=S["user_name"], email=f"{S['user_name']}@example.test", password=upw))
    expect(st, 201, js)
    S["user_client"] = Client()
    S["user_client"].login(S["user_name"], upw)
    S["user_password"] = upw


def main():
    failed = 0
    reset_settings()
    try:
        setup()
        print("PASS console-setup", flush=True)
    except Exception as e:
        traceback.print_exc()
        print(f"FAIL console-setup: {e}", flush=True)
        return 1
    try:
        for name, fn in [("console-authorization-csrf", t_authorization), ("console-branding-settings", t_branding_and_settings),
                         ("console-signup-mode-at-once", t_signup_mode_takes_effect),
                         ("console-smtp-password-test-mail", t_smtp_password_and_test_mail),
                         ("console-users-search-sort-page", t_users_search_sort_page),
                         ("console-overview-usage-history", t_overview_and_history),
                         ("console-user-detail-extras", t_user_detail_extras), ("console-billing-events", t_billing_events),
                         ("console-audit-log", t_audit_log), ("console-admin-reads-user-files", t_admin_reads_user_files),
                         ("console-missing-fields-400-server-stays-up", t_missing_fields_refused_server_stays_up),
                         ("console-before-past-int32", t_before_past_int32),
                         ("console-users-cursor-values-400", t_users_cursor_values_refused),
                         ("console-query-utf8-no-nul", t_query_params_utf8_no_nul),
                         ("console-json-nul-refused", t_json_nul_refused),
                         ("console-admin-patch-all-or-nothing", t_admin_patch_all_or_nothing),
                         ("console-part-numbers-in-range", t_part_numbers_in_range),
                         ("console-405-allow-bearer-case", t_allow_header_bearer_case),
                         ("console-path-ids-plain-digits", t_path_ids_plain_digits),
                         ("console-invite-email-stale-cookie", t_invite_email_and_stale_cookie)]:
            try:
                fn()
                print(f"PASS {name}", flush=True)
            except Exception as e:
                failed += 1
                traceback.print_exc()
                print(f"FAIL {name}: {str(e)[:300]}", flush=True)
    finally:
        reset_settings()
        for n in S.get("users", []):
            psql(f"UPDATE usage SET bytes_used = 0 WHERE user_id = (SELECT id FROM users WHERE name = '{n}')")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
