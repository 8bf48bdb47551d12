"""Load test of the portal: bounded async clients on loopback (httpx), figures printed.

Starts ``talaia serve`` on a free loopback port against the configured data folder (the demo
loaded with ``talaia demo``), or uses ``--url``. N clients (default 50) each loop for D seconds
(default 60) over a mix of the home page, explorer pages and API value queries, as the public
(anonymous) visitor. Then the same clients hit ``/healthz`` for D/6 seconds: the server's
floor, the baseline the mix is compared with in the same run.

Prints requests/s, p50/p95/p99 latency and errors for both, and the ratio of their p95.

Two load clients: ``--client httpx`` (default; Python asyncio, it needs a core of its own and
on a 2-core machine takes it from the server) and ``--client wrk`` (Debian's ``wrk``, C, two
threads, ``--latency``, a Lua script rotating the same paths; p95 comes from the script's
``done`` hook). ``--client both`` runs both against the same server. ``--workers N`` passes
``--workers`` to ``talaia serve``.

Usage::

    TALAIA_DATA_DIR=... .venv/bin/python benchmarks/web_load.py [--clients 50] [--seconds 60]
        [--client httpx|wrk|both] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mix(year: int) -> list[str]:
    return [
        "/",
        f"/indicators/homicide_rate?grain=year&start={year - 2}&end={year}",
        f"/indicators/robbery_rate?grain=month&start={year}-01&end={year}-12",
        f"/api/v1/indicators/homicide_rate/values?period={year}&level=2",
        f"/api/v1/indicators/homicide_rate/values?period={year - 2}..{year}&by=sex",
        f"/api/v1/indicators/burglary_rate/values?period={year}-01..{year}-12&level=1",
    ]


#: Indicators of the uncached mix.
UNCACHED = ("homicide_rate", "robbery_rate", "burglary_rate", "femicide_rate", "rape_rate")


def uncached_mix(url: str, year: int, seed: int = 7) -> list[str]:
    """Value queries the response cache cannot serve: one of five indicators for one of every
    area and one of six years, shuffled (seeded)."""
    areas: list[str] = []
    offset = 0
    while True:
        r = httpx.get(url + "/api/v1/areas", params={"offset": offset, "limit": 500}, timeout=60)
        items = r.json()["items"]
        areas += [a["code"] for a in items]
        if len(items) < 500:
            break
        offset += 500
    paths = [
        f"/api/v1/indicators/{i}/values?area={a}&period={y}"
        for i in UNCACHED
        for a in areas
        for y in range(year - 5, year + 1)
    ]
    rng = np.random.default_rng(seed)
    return [paths[k] for k in rng.permutation(len(paths))]


async def _client(
    http: httpx.AsyncClient,
    paths: list[str],
    until: float,
    k: int,
    lat: list[float],
    errors: list[str],
) -> None:
    i = k
    while time.perf_counter() < until:
        path = paths[i % len(paths)]
        i += 1
        t0 = time.perf_counter()
        try:
            r = await http.get(path)
            if r.status_code != 200:
                errors.append(f"{r.status_code} {path}")
        except httpx.HTTPError as exc:
            errors.append(f"{type(exc).__name__} {path}")
        lat.append(time.perf_counter() - t0)


async def run(url: str, paths: list[str], clients: int, seconds: float) -> dict[str, float]:
    lat: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        t0 = time.perf_counter()
        until = t0 + seconds
        await asyncio.gather(*(_client(http, paths, until, k, lat, errors) for k in range(clients)))
        wall = time.perf_counter() - t0
    a = np.asarray(lat) * 1000
    return {
        "requests": len(a),
        "rps": len(a) / wall,
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "p99": float(np.percentile(a, 99)),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
    }


WRK_LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\":%%d,\\"duration_us\\":%%d,\\"p50\\":%%f,\\"p95\\":%%f,"
    .. "\\"p99\\":%%f,\\"errors\\":%%d,\\"status_errors\\":%%d}\\n",
    summary.requests, summary.duration, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout, e.status))
end
"""


def run_wrk(url: str, paths: list[str], clients: int, seconds: float) -> dict[str, float]:
    """The same mix with ``wrk`` (C): -t2 -c CLIENTS -d SECONDS --latency, p95 from Lua."""
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    lua = WRK_LUA % ", ".join(json.dumps(p) for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    try:
        out = subprocess.run(
            [
                exe,
                "-t2",
                f"-c{clients}",
                f"-d{int(seconds)}s",
                "--latency",
                "--timeout",
                "30s",
                "-s",
                f.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(f.name)
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    r = json.loads(line[len("WRKJSON ") :])
    return {
        "requests": r["requests"],
        "rps": r["requests"] / (r["duration_us"] / 1e6),
        "p50": r["p50"],
        "p95": r["p95"],
        "p99": r["p99"],
        "errors": r["errors"],
        "first_error": f"({r['status_errors']} non-2xx/3xx)" if r["errors"] else "",
    }


def _report(client: str, res: dict, base: dict) -> None:
    for name, r in (("mix", res), ("healthz (baseline)", base)):
        print(
            f"[{client}] {name:>18}: {r['requests']} requests, {r['rps']:.1f} req/s, "
            f"p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, p99 {r['p99']:.1f} ms, "
            f"errors {r['errors']} {r['first_error']}"
        )
    print(f"[{client}] p95 ratio mix / baseline: {res['p95'] / base['p95']:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--year", type=int, default=None, help="latest year of data")
    ap.add_argument("--client", choices=("httpx", "wrk", "both"), default="httpx")
    ap.add_argument("--workers", type=int, default=1, help="talaia serve --workers")
    ap.add_argument(
        "--mix",
        choices=("pages", "uncached"),
        default="pages",
        help="pages: home, explorer and API (default); uncached: indicator values for a random "
        "area and year, which the response cache cannot serve",
    )
    ap.add_argument(
        "--no-response-cache",
        action="store_true",
        help="serve with TALAIA_WEB_RESPONSE_CACHE=0 (the figures before the response cache)",
    )
    args = ap.parse_args()
    proc = None
    url = args.url
    if url is None:
        port = _free_port()
        env = {**os.environ, "TALAIA_WEB_COOKIE_SECURE": "0"}
        if args.no_response_cache:
            env["TALAIA_WEB_RESPONSE_CACHE"] = "0"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "talaia.cli.main",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
    try:
        year = args.year
        if year is None:
            r = httpx.get(
                url + "/api/v1/indicators/homicide_rate/values",
                params={"period": "2000..2030"},
                timeout=120,
            ).json()
            years = [int(x["period"]) for x in r["items"] if x["coverage"] != "no_data"]
            year = max(years)
        if args.mix == "uncached":
            paths = uncached_mix(url, year)
            print(f"uncached mix: {len(paths)} distinct queries")
            for ind in UNCACHED:  # the release of each indicator is computed on first use
                t0 = time.perf_counter()
                p = f"/api/v1/indicators/{ind}/values?period={year}&level=3"
                r = httpx.get(url + p, timeout=1200)
                print(f"warm-up {r.status_code} {p} {time.perf_counter() - t0:.1f} s")
        else:
            paths = mix(year)
            for p in paths:  # warm up and check every path answers
                r = httpx.get(url + p, timeout=120)
                print(f"warm-up {r.status_code} {p}")
        base_s = max(args.seconds / 6, 5)
        if args.client in ("httpx", "both"):
            res = asyncio.run(run(url, paths, args.clients, args.seconds))
            base = asyncio.run(run(url, ["/healthz"], args.clients, base_s))
            _report("httpx", res, base)
        if args.client in ("wrk", "both"):
            res = run_wrk(url, paths, args.clients, args.seconds)
            base = run_wrk(url, ["/healthz"], args.clients, base_s)
            _report("wrk", res, base)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
