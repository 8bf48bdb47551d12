"""The portal in real Chromium (Debian's /usr/bin/chromium driven by Playwright): log in, see
the dashboard draw its chart and map, filter the explorer and download a file, switch to
Spanish; every request the browser makes must go to the server itself."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.ingest.conftest import country  # noqa: F401 - fixture
from tests.web.conftest import PASSWORD, seed_indicator_store

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@contextmanager
def serve(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Serve ``app`` with uvicorn in a thread on a free loopback port."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[str]:
    """The portal served by uvicorn in a thread on a free loopback port."""
    from tests.indicators import warehouse_fixture as wf

    from talaia.settings import Settings
    from talaia.store.database import get_engine, upgrade
    from talaia.web.app import create_app
    from talaia.web.config import WebSettings

    engine = get_engine(sqlite_url)
    upgrade(engine)
    seed_indicator_store(engine)
    wh = wf.build(tmp_path / "warehouse.duckdb")
    app = create_app(
        Settings(data_dir=tmp_path, secret_key="browser-" + "z" * 24, warehouse_path=str(wh)),
        WebSettings(cookie_secure=False),
        engine,
    )
    try:
        with serve(app) as url:
            yield url
    finally:
        engine.dispose()


def test_dashboard_explorer_language_and_no_external_requests(server: str, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "install Debian's chromium (scripts/setup.sh does)"
    requested: list[str] = []
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ctx = browser.new_context(accept_downloads=True, locale="en-GB")
            page = ctx.new_page()
            page.on("request", lambda r: requested.append(r.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            page.goto(server + "/login")
            page.fill("#username", "ana")
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_url(server + "/")
            # the dashboard: Plotly chart drawn from the packaged plotly.js, SVG map, cards
            page.wait_for_selector("#trend[data-drawn=true]", timeout=30_000)
            assert page.locator("#trend .main-svg").count() >= 1
            assert page.locator("#trend .scatterlayer .trace").count() == 1
            assert page.locator(".map svg path").count() == 2  # D1, D2
            assert page.locator(".cards .card").count() >= 1
            assert "Ana" in page.inner_text("header")

            # explorer: filter to a municipality, monthly, and download the CSV
            page.goto(server + "/indicators/homicide_rate")
            page.select_option("#area", "D2")
            page.select_option("#grain", "month")
            page.fill("#start", "2023-01")
            page.fill("#end", "2023-06")
            page.click("form.filters button[type=submit]")
            page.wait_for_selector("#chart[data-drawn=true]", timeout=30_000)
            assert "area=D2" in page.url
            rows = page.locator("main table tbody tr")
            assert rows.count() == 6
            assert "no data" in rows.nth(2).inner_text()  # March 2023 never delivered
            with page.expect_download() as dl:
                page.click("text=CSV")
            path = tmp_path / "download.csv"
            dl.value.save_as(path)
            lines = path.read_text(encoding="utf-8").splitlines()
            assert len(lines) == 7 and lines[0].startswith("indicator_id,")

            # switch to Spanish from the header link: same page, Spanish labels and numbers
            page.click("a[hreflang=es]")
            page.wait_for_selector("html[lang=es]")
            assert "area=D2" in page.url
            assert "Tasa de homicidio intencional" in page.inner_text("h1")
            assert "sin datos" in page.locator("main table tbody tr").nth(2).inner_text()
            page.goto(server + "/")
            page.wait_for_selector("#trend[data-drawn=true]", timeout=30_000)
            assert "Indicadores principales" in page.inner_text("main")
            # keyboard: the skip link is the first thing Tab reaches
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.className") == "skip-link"
        finally:
            browser.close()
    outside = [
        u
        for u in requested
        if not u.startswith(server + "/") and not u.startswith(("data:", "blob:"))
    ]
    assert outside == []
    assert any(u.endswith("/static/vendor/plotly.min.js") for u in requested)
    assert problems == []


def test_upload_with_errors_shows_the_quarantine(country, sqlite_url, tmp_path, monkeypatch):  # noqa: F811
    """A steward uploads a file with a bad date, follows the progress page to the batch and
    sees the quarantined row and its reason."""
    from playwright.sync_api import sync_playwright
    from tests.ingest.conftest import GOOD, write_csv
    from tests.web.conftest import _password_hash

    from talaia.ingest.service import ingest_file
    from talaia.settings import get_settings
    from talaia.store.database import get_engine, upgrade
    from talaia.web.app import create_app
    from talaia.web.config import WebSettings

    tmp, profile = country
    monkeypatch.chdir(tmp)
    engine = get_engine(sqlite_url)
    upgrade(engine)
    feb = [[r[0] + "f", r[1].replace("/03/", "/02/"), *r[2:]] for r in GOOD]
    ingest_file(
        engine, write_csv(tmp / "feb.csv", feb), "test_police", profile(), "setup", period="2024-02"
    )
    from sqlalchemy import insert

    from talaia.store.models import AppUser

    with engine.begin() as conn:
        conn.execute(
            insert(AppUser).values(
                username="tp",
                role_code="steward",
                agency_code="TP",
                active=True,
                password_hash=_password_hash(),
            )
        )
    bad = [*GOOD, ["B1", "31/02/2024", "N1", "-69.5", "10.5", "HOM", "M", "30", "333"]]
    upload = write_csv(tmp / "marzo.csv", bad)
    app = create_app(get_settings(), WebSettings(cookie_secure=False), engine)
    requested: list[str] = []
    with serve(app) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requested.append(r.url))
            page.goto(url + "/login")
            page.fill("#username", "tp")
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_url(url + "/")
            page.click("nav.main-nav >> text=Data")
            page.click("text=Upload a file")
            page.select_option("#source", "test_police")
            page.fill("#period", "2024-03")
            page.set_input_files("#file", str(upload))
            page.click("main button[type=submit]")
            # the progress page refreshes itself until the pipeline is done
            page.wait_for_selector("#upload-state[data-state=done]", timeout=120_000)
            assert "Quarantined: 1" in page.inner_text("#upload-state")
            page.click("#upload-state a.button")
            page.wait_for_selector("#quarantine")
            card = page.locator("section.card").first
            assert "Row 5" in card.inner_text()
            assert "fecha" in card.inner_text()
            assert card.locator("input[name='field:fecha']").input_value() == "31/02/2024"
        finally:
            browser.close()
    engine.dispose()
    assert [u for u in requested if not u.startswith(url + "/")] == []


def test_crime_analysis_page_draws_map_knox_grid_and_charts(sqlite_url: str, tmp_path: Path):
    """An analyst opens "Crime analysis" (the analysis warehouse of tests/web/conftest.py): the
    SVG hotspot map, the coloured Knox grid and the three Plotly charts are drawn, in Spanish
    too, and no request leaves the server."""
    from playwright.sync_api import sync_playwright
    from tests.web.conftest import build_analysis_warehouse, seed_store

    from talaia.settings import Settings
    from talaia.store.database import get_engine, upgrade
    from talaia.web.app import create_app
    from talaia.web.config import WebSettings

    engine = get_engine(sqlite_url)
    upgrade(engine)
    seed_store(engine)
    wh = tmp_path / "analysis.duckdb"
    build_analysis_warehouse(wh)
    app = create_app(
        Settings(data_dir=tmp_path, secret_key="browser-" + "a" * 24, warehouse_path=str(wh)),
        WebSettings(cookie_secure=False),
        engine,
    )
    requested: list[str] = []
    problems: list[str] = []
    try:
        with serve(app) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_context(locale="en-GB").new_page()
                page.on("request", lambda r: requested.append(r.url))
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on(
                    "response",
                    lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
                )
                page.on("pageerror", lambda e: problems.append(str(e)))
                page.goto(server + "/login?next=/analysis")
                page.fill("#username", "ana")
                page.fill("#password", PASSWORD)
                page.click("main button[type=submit]")
                page.wait_for_url(server + "/analysis")
                assert page.locator("nav a[href='/analysis']").count() == 1
                page.fill("#iccs", "05")
                page.fill("#cell", "500")
                page.click("form.filters button[type=submit]")
                page.wait_for_selector("#stl[data-drawn=true]", timeout=30_000)
                for fig in ("#lorenz", "#weekhours"):
                    page.wait_for_selector(f"{fig}[data-drawn=true]", timeout=30_000)
                assert "iccs=05" in page.url
                # the map: hotspot cells coloured, the five area strips outlined
                cells = page.locator("#hotspot-map svg .cells path")
                assert cells.count() >= 30
                assert page.locator("#hotspot-map svg .outlines path").count() == 5
                box = page.locator("#hotspot-map svg").bounding_box()
                assert box and box["width"] > 200 and box["height"] > 100
                # the Knox grid: 5 spatial rows (same location, 4 bands, beyond) × 5 columns,
                # the planted pairs (50 m, 2 days) significant in the 0-100 m, 0-7 days cell
                grid = page.locator("#knox-grid tbody tr")
                assert grid.count() == 6
                first = grid.nth(1).locator("td").nth(0)
                assert "sig" in (first.get_attribute("class") or "")
                bg = first.evaluate("e => getComputedStyle(e).backgroundColor")
                assert bg not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
                assert page.locator("#weekhours .heatmaplayer").count() >= 1
                page.click("a[hreflang=es]")
                page.wait_for_selector("html[lang=es]")
                assert "Análisis delictivo" in page.inner_text("h1")
                page.wait_for_selector("#knox-grid")
            finally:
                browser.close()
    finally:
        engine.dispose()
    outside = [
        u
        for u in requested
        if not u.startswith(server + "/") and not u.startswith(("data:", "blob:"))
    ]
    assert outside == []
    assert problems == [], requested
