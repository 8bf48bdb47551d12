"""The public response cache (talaia.web.cache) never crosses the role boundary.

Truth (tests/indicators/warehouse_fixture.py, as in test_indicators.py): M1 had 2 homicide
victims in 2022 (suppressed for the public, threshold 5) and 5 in 2023 from batch 24, which is
approved but not published (withheld from the public, shown to analysts).
"""

from __future__ import annotations

import pytest
from sqlalchemy import update
from tests.web.conftest import login

from talaia.store.models import Batch
from talaia.web.cache import CSRF_PLACEHOLDER, ResponseCacheMiddleware

API = "/api/v1/indicators/homicide_rate/values"


def _cache(client) -> ResponseCacheMiddleware:  # type: ignore[no-untyped-def]
    """The application's ResponseCacheMiddleware (built on the first request)."""
    node = client.app.middleware_stack
    while not isinstance(node, ResponseCacheMiddleware):
        node = node.app
    return node


def _m1(client, period: str) -> dict:  # type: ignore[no-untyped-def]
    r = client.get(API, params={"period": period, "level": 3})
    assert r.status_code == 200, r.text
    return {row["area_code"]: row for row in r.json()["items"]}["M1"]


def test_public_answer_is_cached_and_never_served_to_a_user(ind_client):
    assert _m1(ind_client, "2022")["disclosure"] == "suppressed"
    cache = _cache(ind_client)
    hits = cache.hits
    assert _m1(ind_client, "2022")["disclosure"] == "suppressed"  # from the cache
    assert cache.hits == hits + 1
    # the analyst asks the very same URL: the real value, not the public cached answer
    assert login(ind_client, "ana").status_code == 303
    m1 = _m1(ind_client, "2022")
    assert m1["disclosure"] == "ok" and m1["numerator"] == 2
    assert cache.hits == hits + 1  # a session is never looked up in the cache
    n = len(cache.entries)
    assert _m1(ind_client, "2023")["value"] == pytest.approx(5.0)  # unpublished, analyst
    assert len(cache.entries) == n  # nor stored
    # back to the public (no session cookie): the public view, withheld
    ind_client.cookies.clear()
    pub = _m1(ind_client, "2023")
    assert pub["disclosure"] == "unpublished" and pub["value"] is None


def test_public_page_after_user_page_and_csrf_cookie_per_visitor(ind_client):
    assert login(ind_client, "ana").status_code == 303
    user_page = ind_client.get("/")
    assert user_page.status_code == 200 and 'href="/analysis"' in user_page.text
    assert 'action="/logout"' in user_page.text
    cookies = []
    for _ in range(2):  # two new visitors, the second served from the cache
        ind_client.cookies.clear()
        r = ind_client.get("/")
        assert r.status_code == 200
        assert 'href="/analysis"' not in r.text  # no analyst menu for the public
        assert 'action="/logout"' not in r.text and "Log in" in r.text
        assert CSRF_PLACEHOLDER not in r.text
        cookies.append(r.cookies["talaia_csrf"])  # each new visitor gets its own CSRF cookie
    assert cookies[0] != cookies[1]
    assert _cache(ind_client).hits >= 1


def test_publication_changes_the_public_answer_at_once(ind_client, store_engine):
    assert _m1(ind_client, "2023")["disclosure"] == "unpublished"
    with store_engine.begin() as conn:
        conn.execute(update(Batch).where(Batch.id == 24).values(status="published"))
    m1 = _m1(ind_client, "2023")
    # published now; for the public, M1 (5) is withheld with its small quarters (it is their
    # only published sum: showing it would narrow each of them to 0-5)
    assert m1["disclosure"] == "suppressed" and m1["numerator"] is None
    from tests.web.conftest import login

    assert login(ind_client, "viewer").status_code == 303
    m1 = _m1(ind_client, "2023")
    assert m1["disclosure"] == "ok" and m1["numerator"] == 5


def test_language_is_part_of_the_key(ind_client):
    en = ind_client.get("/", headers={"accept-language": "en"}).text
    es = ind_client.get("/", headers={"accept-language": "es"}).text
    assert '<html lang="en">' in en and '<html lang="es">' in es


def test_static_assets_are_cacheable(ind_client):
    r = ind_client.get("/static/talaia.css")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=3600"
    assert (
        ind_client.get(
            "/static/talaia.css", headers={"if-none-match": r.headers["etag"]}
        ).status_code
        == 304
    )


def test_api_etag_revalidation(ind_client):
    r = ind_client.get(API, params={"period": "2022"})
    r = ind_client.get(API, params={"period": "2022"})
    etag = r.headers["etag"]
    r2 = ind_client.get(API, params={"period": "2022"}, headers={"if-none-match": etag})
    assert r2.status_code == 304 and r2.content == b""
