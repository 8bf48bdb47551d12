"""Hardening of the portal against a probing visitor: trusted hosts and relative links, one
cookie parser, the atomic login limit, early body size limits, session-bound CSRF tokens,
no-store for authenticated answers, long upload names, the audit of failed logins, invalid
bearer tokens, response headers and compressed, versioned static assets.

Real application (Starlette's TestClient, or uvicorn on 127.0.0.1 with raw sockets where the
test needs a body that is never sent whole), real stores from the shared fixtures.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.ingest.conftest import GOOD, country, write_csv  # noqa: F401 - fixture
from tests.web.conftest import PASSWORD, csrf_of, login, seed_indicator_store
from tests.web.test_upload import _wait, upload_client  # noqa: F401 - fixture

from talaia.settings import Settings
from talaia.store.models import AppUser, AuditEvent
from talaia.web.app import create_app
from talaia.web.cache import ResponseCacheMiddleware
from talaia.web.config import WebSettings
from talaia.web.services import tokens
from talaia.web.services.uploads import MAX_NAME, safe_file_name, start_upload

SECRET = "test-secret-" + "h" * 20


def _app(engine, tmp_path: Path, warehouse: Path | None = None, **web):  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=tmp_path,
        secret_key=SECRET,
        **({"warehouse_path": str(warehouse)} if warehouse else {}),
    )
    return create_app(settings, WebSettings(**web), engine)


@contextmanager
def _client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as c:
        yield c


@pytest.fixture
def pub_app(store_engine, tmp_path):  # type: ignore[no-untyped-def]
    """A factory: the portal over the indicator tests' warehouse, with these web settings."""
    from tests.indicators import warehouse_fixture as wf

    seed_indicator_store(store_engine)
    wh = wf.build(tmp_path / "warehouse.duckdb")
    return lambda **web: _app(store_engine, tmp_path, wh, **web)


@contextmanager
def serve(app) -> Iterator[int]:  # type: ignore[no-untyped-def]
    """``app`` served by uvicorn in a thread on a free loopback port; yields the port."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", server_header=False)
    )
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        srv.should_exit = True
        thread.join(10)
        sock.close()


def _raw(port: int, head: str, body_chunks: Iterator[bytes] = iter(()), wait: float = 10.0):
    """Send a request head and then body chunks over a raw socket (stopping as soon as the
    server answers); returns (status, headers, body, bytes of body sent)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    sent = 0
    try:
        s.sendall(head.encode("latin-1"))
        s.setblocking(False)
        data = b""
        for chunk in body_chunks:
            with suppress(BlockingIOError):
                data += s.recv(65536)
            if b"\r\n\r\n" in data:
                break
            try:
                s.setblocking(True)
                s.sendall(chunk)
                sent += len(chunk)
                s.setblocking(False)
            except OSError:  # the server answered and closed: stop sending
                break
        s.setblocking(True)
        s.settimeout(wait)
        while b"\r\n\r\n" not in data:
            more = s.recv(65536)
            if not more:
                break
            data += more
        head_part, _, rest = data.partition(b"\r\n\r\n")
        lines = head_part.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            more = s.recv(65536)
            if not more:
                break
            rest += more
        return status, headers, rest, sent
    finally:
        s.close()


def _chunked(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A chunked-encoded body of ``total`` bytes, made lazily, then its terminating chunk."""
    block = b"x" * size
    left = total
    while left > 0:
        n = min(size, left)
        left -= n
        yield f"{n:x}\r\n".encode() + block[:n] + b"\r\n"
    yield b"0\r\n\r\n"


def _session_cookies(port: int, username: str) -> tuple[str, str]:
    """(Cookie header value, CSRF token) of a browser logged in as ``username``."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', http.get("/login").text)
        r = http.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert r.status_code in (200, 303), r.text
        page = http.get("/data/upload" if username != "viewer" else "/").text
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        return cookie, token.group(1)


def _cache(client) -> ResponseCacheMiddleware:  # type: ignore[no-untyped-def]
    node = client.app.middleware_stack
    while not isinstance(node, ResponseCacheMiddleware):
        node = node.app
    return node


# 1. Host header ---------------------------------------------------------------------------------


def test_unknown_host_is_refused_and_links_are_relative(pub_app):
    app = pub_app(allowed_hosts="testserver,portal.example")
    with _client(app) as c:
        r = c.get("/", headers={"host": "evil.example"})
        assert r.status_code == 400 and "evil.example" not in r.text
        r = c.get("/api/v1/indicators", headers={"host": "evil.example:8000"})
        assert r.status_code == 400
        # an allowed host, port or not: served, and the page builds nothing from it
        r = c.get("/", headers={"host": "portal.example:8443"})
        assert r.status_code == 200
        assert "portal.example" not in r.text
        assert re.search(r'href="/static/talaia\.css\?v=[0-9a-f]{12}"', r.text)
        assert re.search(r'src="/static/talaia\.js\?v=[0-9a-f]{12}"', r.text)
        # the next visitor (another allowed host) gets its own cache entry, no foreign link
        r2 = c.get("/")
        assert r2.status_code == 200 and "portal.example" not in r2.text
        hosts = {key[0] for key in _cache(c).entries}
        assert {b"portal.example:8443", b"testserver"} <= hosts


def test_pagination_next_is_relative_or_from_the_base_url(seeded, tmp_path):
    engine, _ = seeded
    with _client(_app(engine, tmp_path)) as c:
        body = c.get("/api/v1/areas", params={"limit": 1}).json()
        assert body["next"].startswith("/api/v1/areas?") and "offset=1" in body["next"]
    app = _app(engine, tmp_path, base_url="https://observatorio.example.org/")
    with _client(app) as c:
        body = c.get("/api/v1/areas", params={"limit": 1}).json()
        assert body["next"].startswith("https://observatorio.example.org/api/v1/areas?")


def test_allowed_hosts_setting_from_the_environment(monkeypatch):
    monkeypatch.setenv("TALAIA_WEB_ALLOWED_HOSTS", "Portal.Example, 10.0.0.5:8000,[::1]")
    assert WebSettings().host_names() == {"portal.example", "10.0.0.5", "[::1]"}
    assert {"localhost", "127.0.0.1", "[::1]", "testserver"} <= WebSettings(
        _env_file=None, allowed_hosts=WebSettings.model_fields["allowed_hosts"].default
    ).host_names()


# 2. Language cookie -----------------------------------------------------------------------------


def test_repeated_language_cookie_resolves_the_same_for_cache_and_page(pub_app):
    with _client(pub_app()) as c:
        c.cookies.clear()
        first = c.get("/", headers={"cookie": "talaia_lang=es; talaia_lang=en"})
        assert '<html lang="es">' in first.text  # the first occurrence wins, everywhere
        for lang in ("es", "en"):
            c.cookies.clear()
            r = c.get("/", headers={"cookie": f"talaia_lang={lang}"})
            assert f'<html lang="{lang}">' in r.text, lang
        c.cookies.clear()
        r = c.get("/", headers={"cookie": "talaia_lang=en; talaia_lang=es"})
        assert '<html lang="en">' in r.text
        # two Cookie headers are one list of cookies, in order
        c.cookies.clear()
        r = c.get("/api/v1/me", headers=[("cookie", "a=1"), ("cookie", "talaia_lang=es")])
        assert r.status_code == 200


# 3. Login rate limit ----------------------------------------------------------------------------


def test_concurrent_wrong_logins_beyond_the_limit_get_429(seeded, tmp_path):
    engine, _ = seeded
    app = _app(engine, tmp_path, login_max_failures=3, cookie_secure=False)
    with serve(app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', http.get("/login").text)
        cookies = dict(http.cookies.items())
        form = {"username": "admin", "password": "wrong", "csrf_token": token.group(1)}
        barrier = threading.Barrier(30)

        def attempt(_: int) -> int:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", cookies=cookies) as h:
                barrier.wait(30)
                return h.post("/login", data=form).status_code

        with ThreadPoolExecutor(30) as pool:
            codes = list(pool.map(attempt, range(30)))
        assert sorted(set(codes)) == [401, 429], codes
        assert codes.count(401) == 3 and codes.count(429) == 27
        # the right password is refused too while the limit holds
        r = http.post("/login", data={**form, "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


# 4. Body size limits ----------------------------------------------------------------------------


def _multipart_head(path: str, length: int, boundary: str, extra: str = "") -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    )


def test_declared_oversized_bodies_are_refused_before_reading(seeded, tmp_path):
    engine, _ = seeded
    app = _app(engine, tmp_path, cookie_secure=False)
    with serve(app) as port:
        # 513 MiB declared, nothing sent: 413 at once (a server reading it would wait)
        status, headers, body, _ = _raw(port, _multipart_head("/api/v1/uploads", 513 * 2**20, "b0"))
        assert status == 413
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["status"] == 413 and "512 MiB" in json.loads(body)["detail"]
        # any other request: 1 MiB by default
        status, _, body, _ = _raw(
            port,
            "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {2 * 2**20}\r\nAccept-Language: es\r\n\r\n",
        )
        assert status == 413 and "La petición es demasiado grande" in body.decode()
        # an anonymous 200 MiB upload without a CSRF token: refused before its body is read
        status, headers, _, _ = _raw(port, _multipart_head("/api/v1/uploads", 200 * 2**20, "b1"))
        assert status == 401
        status, headers, _, _ = _raw(port, _multipart_head("/data/upload", 200 * 2**20, "b1"))
        assert status == 303 and headers["location"].startswith("/login")
        # a viewer may not upload: 403 before the body too
        cookie, token = _session_cookies(port, "viewer")
        status, _, _, _ = _raw(
            port,
            _multipart_head(
                "/api/v1/uploads",
                200 * 2**20,
                "b1",
                f"Cookie: {cookie}\r\nX-CSRF-Token: {token}\r\n",
            ),
        )
        assert status == 403
        # a logged-in steward whose form does not start with the CSRF token: 403 after its
        # first field, the rest of the declared 200 MiB never read
        cookie, _token = _session_cookies(port, "pn_steward")
        first = b'--b2\r\nContent-Disposition: form-data; name="source"\r\n\r\npolicia_nacional\r\n'
        status, _, body, sent = _raw(
            port,
            _multipart_head("/data/upload", 200 * 2**20, "b2", f"Cookie: {cookie}\r\n"),
            iter([first, b"--b2\r\n"]),
        )
        assert status == 403 and sent <= len(first) + 6
        assert "The form has expired" in body.decode()


def test_streamed_bodies_are_cut_at_the_limit(seeded, tmp_path):
    engine, _ = seeded
    app = _app(
        engine,
        tmp_path,
        cookie_secure=False,
        max_body_bytes=64 * 1024,
        max_upload_bytes=256 * 1024,
    )
    with serve(app) as port:
        # a chunked body without Content-Length, far beyond 64 KiB: 413 while it streams
        head = (
            "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        )
        status, _, body, sent = _raw(port, head, _chunked(64 * 2**20))
        assert status == 413 and "at most 64 KiB" in body.decode()
        assert sent < 8 * 2**20  # answered long before the 64 MiB were sent
        # an upload with a valid session and CSRF token, chunked, beyond 256 KiB: 413
        cookie, token = _session_cookies(port, "pn_steward")
        head = (
            "POST /api/v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: multipart/form-data; boundary=b3\r\n"
            f"Cookie: {cookie}\r\nX-CSRF-Token: {token}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        )
        part = (
            b'--b3\r\nContent-Disposition: form-data; name="source"\r\n\r\npolicia_nacional\r\n'
            b'--b3\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n"
        )
        chunks = iter([f"{len(part):x}\r\n".encode() + part + b"\r\n", *_chunked(32 * 2**20)])
        status, headers, body, sent = _raw(port, head, chunks)
        assert status == 413 and headers["content-type"] == "application/problem+json"
        assert sent < 8 * 2**20
        # below the limits everything still works
        r = httpx.get(f"http://127.0.0.1:{port}/healthz")
        assert r.status_code == 200


def test_oversized_form_in_the_test_client(seeded, tmp_path):
    engine, _ = seeded
    app = _app(engine, tmp_path, max_body_bytes=4096)
    with _client(app) as c:
        token = csrf_of(c)
        r = c.post(
            "/login",
            data={"username": "admin", "password": "x" * 10_000, "csrf_token": token},
        )
        assert r.status_code == 413 and "at most 4 KiB" in r.text


# 5. CSRF bound to the session -------------------------------------------------------------------


def test_csrf_token_from_before_login_is_refused_after_login(client):
    before = csrf_of(client)
    assert login(client, "admin").status_code == 303
    r = client.post("/logout", data={"csrf_token": before}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get("/api/v1/me").json()["username"] == "admin"
    after = csrf_of(client)
    assert after != before
    r = client.post("/logout", data={"csrf_token": after}, follow_redirects=False)
    assert r.status_code == 303
    # and the logged-in token is refused once logged out
    r = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": after})
    assert r.status_code == 403


def test_csrf_token_of_one_session_is_refused_in_another(app):
    with _client(app) as a, _client(app) as b:
        assert login(a, "admin").status_code == 303
        assert login(b, "admin").status_code == 303
        token_a = csrf_of(a)
        r = b.post("/logout", data={"csrf_token": token_a}, follow_redirects=False)
        assert r.status_code == 403
        # even with A's CSRF cookie planted in B's browser: the token is bound to A's session
        planted = f"talaia_session={b.cookies['talaia_session']}; "
        planted += f"talaia_csrf={a.cookies['talaia_csrf']}"
        with _client(app) as c:
            r = c.post(
                "/logout",
                data={"csrf_token": token_a},
                headers={"cookie": planted},
                follow_redirects=False,
            )
        assert r.status_code == 403
        assert b.get("/api/v1/me").json()["username"] == "admin"
        r = a.post("/logout", data={"csrf_token": token_a}, follow_redirects=False)
        assert r.status_code == 303


# 6. Cache-Control: no-store ---------------------------------------------------------------------


def test_authenticated_answers_are_not_stored(client, seeded):
    engine, _ = seeded
    public = client.get("/")
    assert "no-store" not in public.headers.get("cache-control", "")
    r = login(client, "admin")
    assert r.status_code == 303 and r.headers["cache-control"] == "no-store"
    for path in ("/", "/data", "/api/v1/me", "/api/v1/batches", "/api/v1/indicators"):
        assert client.get(path).headers["cache-control"] == "no-store", path
    static = client.get("/static/talaia.css")
    assert static.headers["cache-control"].startswith("public")
    with engine.connect() as conn:
        uid = conn.execute(select(AppUser.id).where(AppUser.username == "viewer")).scalar_one()
    token, _ = tokens.create_token(engine, uid, "bot", actor="t")
    client.cookies.clear()
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"


# 7. Long upload file names ----------------------------------------------------------------------


def test_long_upload_name_is_shortened_and_no_folder_is_left(upload_client):  # noqa: F811
    client, _engine, tmp = upload_client
    assert login(client, "tp_steward").status_code == 303
    data = write_csv(tmp / "mar.csv", GOOD).read_bytes()
    name = "policia " + "x" * 292 + " 2024-03.csv"
    assert len(name) == 312
    r = client.post(
        "/api/v1/uploads",
        data={"source": "test_police", "period": "2024-03"},
        files={"file": (name, data, "text/csv")},
        headers={"X-CSRF-Token": csrf_of(client)},
    )
    assert r.status_code == 202, r.text
    stored = r.json()["file_name"]
    assert (
        len(stored) == MAX_NAME
        and stored.startswith("policia_x")
        and stored.endswith("_2024-03.csv")
    )
    job = _wait(client, r.json()["id"])
    assert job["state"] == "done", job
    uploads = Path(os.environ["TALAIA_DATA_DIR"]) / "uploads"
    assert list(uploads.iterdir()) == []


def test_upload_that_cannot_be_saved_is_a_clear_error_and_leaves_nothing(seeded, tmp_path):
    engine, _ = seeded
    (tmp_path / "uploads").write_text("not a folder")
    from talaia.errors import TalaiaError
    from talaia.web.services.common import Principal

    steward = Principal(1, "pn", None, "steward", "PN", "session")
    with pytest.raises(TalaiaError, match="could not be saved"):
        start_upload(engine, tmp_path, steward, "policia_nacional", "a.csv", b"x,y\n")
    assert (tmp_path / "uploads").read_text() == "not a folder"
    assert safe_file_name("../../etc/pass wd.csv") == "pass_wd.csv"
    assert safe_file_name("C:\\x\\..csv") == "csv"
    assert len(safe_file_name("a" * 400 + ".csv")) == MAX_NAME


# 8. Audit of failed logins ----------------------------------------------------------------------


def test_failed_logins_never_audit_what_was_typed(client, seeded):
    engine, _ = seeded
    typed = "MySecretPassw0rd-typed-as-username"
    assert login(client, typed, "another-secret-1").status_code == 401
    assert login(client, "admin", "another-secret-2").status_code == 401
    assert login(client, "viewer").status_code == 303
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                AuditEvent.username,
                AuditEvent.action,
                AuditEvent.object_id,
                AuditEvent.detail,
                AuditEvent.at,
            ).where(AuditEvent.action.like("login%"))
        ).all()
        ids = dict(conn.execute(select(AppUser.username, AppUser.id)).all())
    text = repr(rows)
    assert typed not in text and "another-secret" not in text
    unknown, wrong, ok = rows
    assert unknown.username is None and unknown.action == "login.failed"
    expected = hashlib.sha256()  # the digest is keyed: not the plain SHA-256 of the text
    expected.update(typed.encode())
    detail = json.loads(unknown.detail)
    assert detail["reason"] == "unknown account" and len(detail["username_hmac"]) == 32
    assert detail["username_hmac"] not in expected.hexdigest()
    assert (wrong.username, wrong.object_id) == ("admin", str(ids["admin"]))
    assert json.loads(wrong.detail)["reason"] == "wrong password"
    assert (ok.username, ok.action, ok.object_id) == ("viewer", "login", str(ids["viewer"]))
    # the same typed text gives the same digest (failures can be correlated, not read)
    assert login(client, typed, "x" * 12).status_code == 401
    with engine.connect() as conn:
        last = conn.execute(select(AuditEvent.detail).order_by(AuditEvent.id.desc())).first()
    assert json.loads(last.detail)["username_hmac"] == detail["username_hmac"]


# 9. Invalid bearer tokens -----------------------------------------------------------------------


def test_bogus_bearer_token_is_refused_not_public(client):
    bogus = {"Authorization": "Bearer tla_" + "A" * 43}
    for path in ("/api/v1/me", "/api/v1/indicators", "/api/v1/areas"):
        r = client.get(path, headers=bogus)
        assert r.status_code == 401, path
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "not valid" in r.json()["detail"]
    r = client.get("/", headers={**bogus, "Accept-Language": "es"})
    assert r.status_code == 401 and "El token de la API no es válido" in r.text
    assert client.get("/api/v1/me", headers={"Authorization": "Basic YTpi"}).status_code == 401
    assert client.get("/api/v1/me").json()["role"] == "public"


# 10. Headers ------------------------------------------------------------------------------------


def test_permissions_policy_and_no_server_header(client):
    r = client.get("/")
    policy = r.headers["permissions-policy"]
    assert "camera=()" in policy and "geolocation=()" in policy and "microphone=()" in policy
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert client.get("/nope").headers["permissions-policy"] == policy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_talaia_serve_sends_no_server_header_and_adds_its_host(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "TALAIA_DATA_DIR": str(tmp_path),
        "TALAIA_WEB_WARM_CACHE": "0",
    }
    env.pop("TALAIA_WEB_ALLOWED_HOSTS", None)
    cmd = [sys.executable, "-m", "talaia.cli.main", "serve", "--host", "127.0.0.2"]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.2:{port}/healthz"
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "talaia serve did not start"
                time.sleep(0.2)
        assert r.status_code == 200 and "server" not in r.headers
        assert httpx.get(url, headers={"host": "evil.example"}).status_code == 400
        assert httpx.get(url, headers={"host": "localhost"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(20)


# 11. Static assets ------------------------------------------------------------------------------


def test_static_assets_are_gzipped_versioned_and_cached(client):
    page = client.get("/login").text
    css = re.search(r'href="(/static/talaia\.css\?v=([0-9a-f]{12}))"', page)
    assert css
    r = client.get(css.group(1), headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and r.headers["vary"] == "Accept-Encoding"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    raw = client.get(css.group(1), headers={"accept-encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert hashlib.sha256(raw.content).hexdigest()[:12] == css.group(2)
    assert r.content == raw.content  # httpx decoded the gzip
    # unversioned (or stale) URLs: an hour, revalidated by ETag
    r = client.get("/static/talaia.css?v=000000000000", headers={"accept-encoding": "gzip"})
    assert r.headers["cache-control"] == "public, max-age=3600"
    again = client.get(
        "/static/talaia.css",
        headers={"accept-encoding": "gzip", "if-none-match": r.headers["etag"]},
    )
    assert again.status_code == 304
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/nothing.js").status_code == 404


def test_plotly_is_the_vendored_cartesian_bundle_compressed(client):
    with client.stream(
        "GET", "/static/vendor/plotly.min.js", headers={"accept-encoding": "gzip"}
    ) as r:
        wire = b"".join(r.iter_raw())
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.headers["content-type"].startswith("text/javascript")
    body = gzip.decompress(wire)
    assert body.startswith(b"/**\n* plotly.js (cartesian - minified)")
    assert len(wire) < 600_000 < 1_400_000 < len(body)
    head = client.head("/static/vendor/plotly.min.js")
    assert head.status_code == 200


def test_full_plotly_bundle_on_request_and_compression_off(seeded, tmp_path):
    engine, _ = seeded
    app = _app(engine, tmp_path, plotly_bundle="full", static_gzip=False)
    with _client(app) as c:
        r = c.get("/static/vendor/plotly.min.js", headers={"accept-encoding": "gzip"})
        assert "content-encoding" not in r.headers
        assert r.content.startswith(b"/**\n* plotly.js v") and len(r.content) > 4_000_000
