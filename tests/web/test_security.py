"""Pure parts of access control: password hashing, signed sessions, CSRF tokens, the login rate
limiter's sliding window, and the SVG map (no data hatched, never drawn as zero)."""

from __future__ import annotations

import json
import re

import pytest

from talaia.web.i18n import translator
from talaia.web.maps import PALETTE, MapArea, breaks, sparkline, svg_choropleth
from talaia.web.security import (
    LoginRateLimiter,
    SessionSigner,
    hash_password,
    verify_password,
)


def test_argon2id_hash_and_verify():
    h = hash_password("s3cret-passphrase")
    assert h.startswith("$argon2id$") and "s3cret" not in h
    assert verify_password(h, "s3cret-passphrase")
    assert not verify_password(h, "s3cret-passphrasf")
    assert not verify_password("not a hash", "x")
    assert not verify_password(None, "x")


def test_session_cookie_is_signed():
    signer = SessionSigner(b"k" * 32, 3600)
    cookie = signer.issue(42)
    data = signer.read(cookie)
    assert data is not None and data.user_id == 42
    assert signer.read(cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]) is None
    assert SessionSigner(b"other" * 8, 3600).read(cookie) is None
    assert signer.read("") is None and signer.read(None) is None


def test_csrf_token_bound_to_cookie():
    signer = SessionSigner(b"k" * 32, 3600)
    c1, c2 = signer.new_csrf_cookie(), signer.new_csrf_cookie()
    t1 = signer.csrf_token(signer.csrf_seed(c1))
    assert signer.csrf_valid(c1, t1)
    assert not signer.csrf_valid(c2, t1)
    assert not signer.csrf_valid(None, t1)
    assert not signer.csrf_valid(c1, "")
    # a cookie value not signed by us is worthless
    assert signer.csrf_seed("forged.value") is None


def test_rate_limiter_sliding_window():
    now = [1000.0]
    rl = LoginRateLimiter(max_failures=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert rl.retry_after("Ana", "1.2.3.4") == 0
        rl.failed("ana", "1.2.3.4")
        now[0] += 10  # failures at 1000, 1010, 1020
    # now = 1030: the oldest failure (1000) leaves the window at 1060
    assert rl.retry_after("ana", "1.2.3.4") == 30
    assert rl.retry_after("ana", "5.6.7.8") == 0  # other address
    assert rl.retry_after("bob", "1.2.3.4") == 0  # other user
    now[0] = 1060
    assert rl.retry_after("ana", "1.2.3.4") == 0
    rl.failed("ana", "1.2.3.4")
    assert rl.retry_after("ana", "1.2.3.4") == 10  # 1010 leaves at 1070
    rl.succeeded("ana", "1.2.3.4")
    assert rl.retry_after("ana", "1.2.3.4") == 0


def _square(x: float, y: float) -> str:
    ring = [[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def test_choropleth_marks_no_data_and_classes_values():
    areas = [MapArea(f"A{i}", f"Area {i}", _square(i, 0)) for i in range(6)]
    values = {"A0": 1.0, "A1": 2.0, "A2": 3.0, "A3": 4.0, "A4": 5.0, "A5": None}
    svg = str(svg_choropleth(areas, values, translator("en"), title="Rate"))
    paths = re.findall(r'<path d="[^"]+" (fill="[^"]+"|class="nodata")', svg)
    assert len(paths) == 6
    assert paths[-1] == 'class="nodata"'  # missing = no data, never a colour of zero
    assert paths[0] == f'fill="{PALETTE[0]}"' and paths[4] == f'fill="{PALETTE[-1]}"'
    assert "<title>Area 5: no data</title>" in svg
    assert "<title>Area 0: 1.0</title>" in svg
    assert 'href="/areas/A3"' in svg
    # the 6 unit squares side by side at the equator: 640 px wide, about 107 px high
    assert 'viewBox="0 0 640 106"' in svg or 'viewBox="0 0 640 107"' in svg
    assert breaks([1, 2, 3, 4, 5]) == pytest.approx([1.8, 2.6, 3.4, 4.2, 5.0])


def test_sparkline_breaks_at_gaps():
    svg = str(sparkline([1, 2, None, 3, 4], label="x"))
    assert svg.count("<polyline") == 2
    assert sparkline([None, 1.0]) == ""


def test_csrf_token_bound_to_session_id():
    signer = SessionSigner(b"k" * 32, 3600)
    cookie = signer.new_csrf_cookie()
    seed = signer.csrf_seed(cookie)
    session = signer.issue(7)
    sid = signer.session_id(session)
    assert sid and signer.session_id("forged") == ""
    public, bound = signer.csrf_token(seed), signer.csrf_token(seed, sid)
    assert public != bound
    assert signer.csrf_valid(cookie, bound, sid) and not signer.csrf_valid(cookie, public, sid)
    other = signer.session_id(signer.issue(7))
    assert not signer.csrf_valid(cookie, bound, other)
    assert not signer.csrf_valid(cookie, bound)


def test_rate_limiter_reserves_attempts_atomically():
    import threading

    now = [0.0]
    rl = LoginRateLimiter(max_failures=3, window_s=60, clock=lambda: now[0])
    results: list[int] = []
    barrier = threading.Barrier(20)

    def attempt() -> None:
        barrier.wait()
        results.append(rl.reserve("ana", "ip")[0])

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(0) == 3 and all(r == 60 for r in results if r)
    # a reserved attempt that was never checked is given back
    rl2 = LoginRateLimiter(max_failures=1, window_s=60, clock=lambda: now[0])
    wait, ticket = rl2.reserve("bob", "ip")
    assert wait == 0 and ticket is not None
    assert rl2.reserve("bob", "ip")[0] == 60
    rl2.release("bob", "ip", ticket)
    assert rl2.reserve("bob", "ip")[0] == 0


def test_cookie_parsing_first_occurrence_wins():
    from talaia.web.security import parse_cookie_header, request_cookies

    headers = [(b"cookie", b'a=1; talaia_lang=es; b="q"'), (b"cookie", b"talaia_lang=en; c")]
    assert parse_cookie_header(headers) == {"a": "1", "talaia_lang": "es", "b": "q", "": "c"}
    scope = {"headers": headers}
    assert request_cookies(scope) is request_cookies(scope)  # parsed once per request
