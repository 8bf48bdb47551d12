"""A first visit to the portal: the bytes and the time of a page with every asset it loads.

Starts two ``talaia serve`` on free loopback ports against the configured data folder (the demo
loaded with ``talaia demo --no-serve``):

- **before**: ``TALAIA_WEB_STATIC_GZIP=0`` and ``TALAIA_WEB_PLOTLY_BUNDLE=full``: assets sent
  uncompressed and the whole Plotly bundle of the ``plotly`` package, as the portal served them
  before compression and the vendored cartesian bundle;
- **after**: the defaults (gzip, the cartesian bundle).

Each visit is a browser with an empty cache: a new client (``Accept-Encoding: gzip``) asks for
the page, then for every ``/static/`` asset the page names, six at a time as a browser does.
Visits alternate between the two servers (after a warm-up visit each, so the server side is
warm in both); the medians are printed with the before/after ratios of the same run.

``--browser`` also visits in Chromium (``/usr/bin/chromium``, a new context each time: an empty
cache) and prints when the page's chart is drawn, the load event and the bytes transferred;
``--mbps N`` throttles Chromium to N Mbit/s with 20 ms of latency (a remote visitor).

Usage::

    TALAIA_DATA_DIR=... .venv/bin/python benchmarks/web_first_visit.py [--visits 10] [--path /]
        [--browser] [--mbps 10]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

ASSET = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(env_extra: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "TALAIA_WEB_COOKIE_SECURE": "0", **env_extra}
    proc = subprocess.Popen(
        [sys.executable, "-m", "talaia.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("talaia serve did not start")
        time.sleep(0.1)


def visit(url: str, path: str) -> dict[str, float]:
    """One first visit: the page, then its assets (6 connections); bytes on the wire."""
    headers = {"accept-encoding": "gzip"}
    t0 = time.perf_counter()
    with httpx.Client(base_url=url, headers=headers, timeout=120) as page_client:
        page = page_client.get(path)
        page.raise_for_status()
        assets = list(dict.fromkeys(ASSET.findall(page.text)))

        def fetch(asset: str) -> tuple[str, int, int]:
            with httpx.Client(base_url=url, headers=headers, timeout=120) as c:
                r = c.get(asset)
                r.raise_for_status()
                return asset, r.num_bytes_downloaded, len(r.content)

        with ThreadPoolExecutor(6) as pool:
            got = list(pool.map(fetch, assets))
    seconds = time.perf_counter() - t0
    plotly = [g for g in got if "plotly" in g[0]]
    return {
        "seconds": seconds,
        "wire_bytes": page.num_bytes_downloaded + sum(g[1] for g in got),
        "plotly_wire": sum(g[1] for g in plotly),
        "plotly_bytes": sum(g[2] for g in plotly),
        "assets": len(got),
    }


def _net(mbps: float) -> str:
    return f" at {mbps:g} Mbit/s, 20 ms" if mbps else " on loopback"


def browser_visits(
    servers: dict[str, tuple[subprocess.Popen, str]], path: str, visits: int, mbps: float
) -> dict[str, list[dict[str, float]]]:
    """First visits in Chromium (a new context each: empty cache): milliseconds until the
    page's first chart is drawn (``data-drawn``), the load event, and the bytes transferred."""
    from playwright.sync_api import sync_playwright

    out: dict[str, list[dict[str, float]]] = {k: [] for k in servers}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic"],
        )
        try:
            for _ in range(visits):
                for name, (_proc, url) in servers.items():
                    ctx = browser.new_context()
                    page = ctx.new_page()
                    if mbps:
                        cdp = ctx.new_cdp_session(page)
                        rate = mbps * 1e6 / 8
                        cdp.send(
                            "Network.emulateNetworkConditions",
                            {
                                "offline": False,
                                "latency": 20,
                                "downloadThroughput": rate,
                                "uploadThroughput": rate,
                            },
                        )
                    t0 = time.perf_counter()
                    page.goto(url + path, wait_until="load")
                    load = (time.perf_counter() - t0) * 1000
                    page.wait_for_selector("[data-drawn=true]", timeout=120_000)
                    chart = (time.perf_counter() - t0) * 1000
                    transfer = page.evaluate(
                        "performance.getEntriesByType('navigation')[0].transferSize"
                        " + performance.getEntriesByType('resource')"
                        ".reduce((s, e) => s + e.transferSize, 0)"
                    )
                    out[name].append(
                        {"chart_ms": chart, "load_ms": load, "transfer_bytes": float(transfer)}
                    )
                    ctx.close()
        finally:
            browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visits", type=int, default=10)
    ap.add_argument("--path", default="/", help="the page visited (default the home page)")
    ap.add_argument(
        "--browser", action="store_true", help="also visit in Chromium (/usr/bin/chromium)"
    )
    ap.add_argument(
        "--mbps", type=float, default=0, help="Chromium: throttle to this many Mbit/s, 20 ms RTT"
    )
    args = ap.parse_args()
    servers = {
        "before": start({"TALAIA_WEB_STATIC_GZIP": "0", "TALAIA_WEB_PLOTLY_BUNDLE": "full"}),
        "after": start({}),
    }
    try:
        results: dict[str, list[dict[str, float]]] = {k: [] for k in servers}
        for _proc, url in servers.values():
            visit(url, args.path)  # warm-up (server side), not counted
        for _ in range(args.visits):
            for name, (_proc, url) in servers.items():
                results[name].append(visit(url, args.path))
        if args.browser:
            for name, rs in browser_visits(servers, args.path, args.visits, args.mbps).items():
                for r, b in zip(results[name], rs, strict=True):
                    r.update(b)
        med = {
            name: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            for name, rs in results.items()
        }
        for name, m in med.items():
            print(
                f"{name:>6}: {args.path} + {int(m['assets'])} assets, "
                f"{m['wire_bytes'] / 1e6:.2f} MB on the wire "
                f"(Plotly {m['plotly_wire'] / 1e6:.2f} MB sent, {m['plotly_bytes'] / 1e6:.2f} MB "
                f"decoded), {m['seconds'] * 1000:.0f} ms (median of {args.visits})"
            )
            if "chart_ms" in m:
                print(
                    f"{name:>6}: Chromium{_net(args.mbps)}: chart drawn after "
                    f"{m['chart_ms']:.0f} ms, load event {m['load_ms']:.0f} ms, "
                    f"{m['transfer_bytes'] / 1e6:.2f} MB transferred"
                )
        b, a = med["before"], med["after"]
        print(
            f"ratio before/after: bytes {b['wire_bytes'] / a['wire_bytes']:.1f}x, "
            f"time {b['seconds'] / a['seconds']:.1f}x"
            + (
                f", Chromium chart drawn {b['chart_ms'] / a['chart_ms']:.1f}x"
                if "chart_ms" in a
                else ""
            )
        )
    finally:
        for proc, _url in servers.values():
            proc.terminate()
            proc.wait(20)


if __name__ == "__main__":
    main()
