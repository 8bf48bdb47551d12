"""The portal's view of the indicator engine (:mod:`talaia.indicators`) with disclosure control.

Every number that leaves the portal for a viewer, a steward or the public passes through one
gate, :class:`talaia.indicators.release.Release` (see there for the method):

- **unpublished**: only the facts of batches with the status ``published`` are counted (the
  warehouse is read through its published-only views); a cell for which the warehouse holds
  deliveries not yet published says ``disclosure = "unpublished"`` and its figures are withheld.
  Administrators and analysts see every current batch.
- **suppressed**: for the public (anonymous), a count between 1 and
  ``suppression_threshold - 1`` is withheld (``disclosure = "suppressed"``), and so are enough
  other cells (complementary suppression over the area hierarchy, the calendar and the
  breakdowns) that none can be recomputed by difference. Zero is shown (it identifies no one).

Withheld rows keep their period, area and coverage, so that "withheld" is never mistaken for "no
data" and never drawn as zero.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
from sqlalchemy import select

from talaia.errors import NotFoundError, TalaiaError
from talaia.store.models import Batch

if TYPE_CHECKING:
    from talaia.indicators import Indicator
    from talaia.web.portal import Portal
    from talaia.web.services.common import Principal

#: Indicators shown on the home page, in order (those present in the catalogue).
HEADLINE = (
    "homicide_rate",
    "femicide_rate",
    "robbery_rate",
    "burglary_rate",
    "sexual_violence_rate",
    "firearm_homicide_share",
)


#: Seconds a computed result (values, home page, area profile) is reused. Keyed by the
#: warehouse file's modification time and by what the principal may see (published batches,
#: suppression), so a new load or a publication shows at once.
CACHE_TTL_S = 3600.0
_cache: dict[tuple, tuple[float, object]] = {}
_inflight: dict[tuple, threading.Event] = {}
_cache_lock = threading.Lock()


def _cached(key: tuple, make):
    """``make()`` once per key (single flight: concurrent requests for the same key wait for
    the one computing it instead of all computing it), then reused for CACHE_TTL_S."""
    while True:
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < CACHE_TTL_S:
                return hit[1]
            event = _inflight.get(key)
            owner = event is None
            if owner:
                event = _inflight[key] = threading.Event()
        if not owner:
            event.wait()
            continue
        try:
            value = make()
            with _cache_lock:
                if len(_cache) > 2048:
                    _cache.clear()
                _cache[key] = (time.monotonic(), value)
            return value
        finally:
            with _cache_lock:
                _inflight.pop(key, None)
            event.set()


def _stamp(portal: Portal) -> tuple[str, float]:
    path = warehouse_path(portal)
    return str(path), path.stat().st_mtime if path.exists() else 0.0


def engine_missing() -> bool:
    try:
        import talaia.indicators as engine
    except ImportError:  # pragma: no cover
        return True
    return not hasattr(engine, "compute")


@dataclass(frozen=True, slots=True)
class Disclosure:
    """What a principal may see: ``published`` batch ids (None = every batch) and the
    suppression threshold (None = no suppression)."""

    published: frozenset[int] | None
    threshold: int | None


def disclosure_for(portal: Portal, principal: Principal) -> Disclosure:
    if principal.sees_unpublished():
        return Disclosure(None, None)
    with portal.engine.connect() as conn:
        ids = conn.execute(select(Batch.id).where(Batch.status == "published")).scalars()
        published = frozenset(int(i) for i in ids)
    threshold = None if principal.authenticated else portal.web.suppression_threshold
    return Disclosure(published, threshold)


#: Releases kept (one per warehouse state, set of published batches and threshold).
_releases: dict[tuple, object] = {}
_releases_lock = threading.Lock()


def release_for(portal: Portal, disclosure: Disclosure):  # type: ignore[no-untyped-def]
    """The :class:`~talaia.indicators.release.Release` for this warehouse state and audience."""
    from talaia.indicators.release import Release

    assert disclosure.published is not None
    key = (_stamp(portal), disclosure.published, disclosure.threshold)
    with _releases_lock:
        rel = _releases.get(key)
    if rel is None:
        rel = _cached(
            ("release", *key),
            lambda: Release(warehouse_path(portal), disclosure.published, disclosure.threshold),
        )
        with _releases_lock:
            if len(_releases) >= 4:
                _releases.clear()
            _releases[key] = rel
    return rel


def warm_release(portal: Portal, principal: Principal) -> None:
    """Compute ahead the release partitions without breakdown of every indicator for
    ``principal``'s audience (nothing for those who see every batch)."""
    disclosure = disclosure_for(portal, principal)
    if disclosure.published is None or not has_warehouse(portal):
        return
    rel = release_for(portal, disclosure)
    for ind in catalogue():
        try:
            rel.partition(ind, None)
        except TalaiaError:
            continue


def _all_shown(table: pa.Table) -> pa.Table:
    """Every current batch, nothing withheld (administrators and analysts)."""
    return table.append_column("disclosure", pa.array(["ok"] * table.num_rows, pa.string()))


def warehouse_path(portal: Portal) -> Path:
    return Path(portal.settings.resolved_warehouse_path())


def has_warehouse(portal: Portal) -> bool:
    return warehouse_path(portal).exists()


def catalogue() -> tuple[Indicator, ...]:
    from talaia.indicators import catalogue as _catalogue

    return _catalogue()


def get(indicator_id: str) -> Indicator:
    from talaia.indicators import get_indicator

    return get_indicator(indicator_id)


@contextmanager
def open_warehouse(portal: Portal) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the warehouse for one request (closed after it, so that
    loads in other processes can write between requests)."""
    if not has_warehouse(portal):
        raise NotFoundError("no warehouse has been built yet: load data first")
    con = duckdb.connect(str(warehouse_path(portal)), read_only=True)
    try:
        yield con
    finally:
        con.close()


def values(
    portal: Portal,
    principal: Principal,
    indicator_id: str,
    *,
    area: str | None = None,
    period: str | list[str] = "",
    by: str | None = None,
    level: int | None = None,
    compare: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    disclosure: Disclosure | None = None,
) -> pa.Table:
    """The indicator's values as :func:`talaia.indicators.compute` gives them, after
    disclosure control for ``principal``."""
    from talaia.indicators import compute

    disclosure = disclosure or disclosure_for(portal, principal)
    key = (
        "values",
        _stamp(portal),
        indicator_id,
        area or None,
        tuple(period) if isinstance(period, list) else period,
        by or None,
        level,
        compare,
        disclosure.published,
        disclosure.threshold,
    )

    def make() -> pa.Table:
        if disclosure.published is not None:
            if not has_warehouse(portal):
                raise NotFoundError("no warehouse has been built yet: load data first")
            return release_for(portal, disclosure).values(
                indicator_id,
                area=area or None,
                period=period,
                by=by or None,
                level=level,
                compare=compare,
            )
        with open_warehouse(portal) if con is None else nullcontext(con) as wh:
            table = compute(
                indicator_id,
                area=area or None,
                period=period,
                by=by or None,
                level=level,
                warehouse=wh,
                compare=compare,  # type: ignore[arg-type]
            )
        return _all_shown(table)

    return _cached(key, make)


@dataclass(frozen=True, slots=True)
class DataSpan:
    """First and last month with any delivered data in the warehouse."""

    first: dt.date
    last: dt.date


def data_span(portal: Portal) -> DataSpan | None:
    """First and last delivered month (cached per warehouse file version)."""
    if not has_warehouse(portal):
        return None
    return _cached(("span", _stamp(portal)), lambda: _data_span(portal))


def _data_span(portal: Portal) -> DataSpan | None:
    with open_warehouse(portal) as con:
        row = con.execute(
            "SELECT min(period_month), max(period_month) FROM source_month WHERE delivered"
        ).fetchone()
    if not row or row[0] is None:
        return None
    return DataSpan(row[0], row[1])


@dataclass(frozen=True, slots=True)
class Card:
    """One headline indicator on the home page."""

    indicator_id: str
    name: str
    unit: str
    decimals: int
    period: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    coverage: str
    disclosure: str
    ref_period: str | None
    change_pct: float | None
    significant: bool | None
    series: tuple[float | None, ...]
    series_periods: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Headline:
    cards: tuple[Card, ...]
    map_values: dict[str, float | None]
    map_period: str | None
    map_level: int
    alerts: tuple[str, ...]
    trend: pa.Table | None = None  # homicide rate by year, for the home page's chart
    map_disclosure: dict[str, str] | None = None  # area -> unpublished | suppressed


def _first(table: pa.Table, name: str):
    if name not in table.column_names or table.num_rows == 0:
        return None
    return table.column(name)[0].as_py()


def headline(
    portal: Portal, principal: Principal, lang: str, map_level: int = 2
) -> Headline | None:
    """Headline cards (latest 12 months vs the 12 before, with the conditional test of the
    change), yearly sparklines, the homicide rate by area for the latest year, and for data
    roles the validation alerts of the latest month."""
    if engine_missing():
        return None
    span = data_span(portal)
    if span is None:
        return None
    disclosure = disclosure_for(portal, principal)
    key = (
        "headline",
        _stamp(portal),
        disclosure.published,
        disclosure.threshold,
        principal.can_read_data(),
        lang,
        map_level,
    )

    def make() -> Headline:
        with open_warehouse(portal) as con:
            return _headline(portal, principal, lang, map_level, span, con)

    return _cached(key, make)


def _headline(
    portal: Portal,
    principal: Principal,
    lang: str,
    map_level: int,
    span: DataSpan,
    con: duckdb.DuckDBPyConnection,
) -> Headline:
    known = {i.id: i for i in catalogue()}
    last = f"{span.last.year}-{span.last.month:02d}"
    years = [str(y) for y in range(span.first.year, span.last.year + 1)]
    disclosure = disclosure_for(portal, principal)
    cards = []
    trend = None
    for ind_id in HEADLINE:
        ind = known.get(ind_id)
        if ind is None:
            continue
        latest = values(
            portal,
            principal,
            ind_id,
            period=f"R12:{last}",
            compare="year_earlier",
            con=con,
            disclosure=disclosure,
        )
        series = values(portal, principal, ind_id, period=years, con=con, disclosure=disclosure)
        if ind_id == "homicide_rate":
            trend = series
        cards.append(
            Card(
                ind_id,
                ind.name.es if lang == "es" else ind.name.en,
                ind.unit,
                ind.decimals,
                f"R12:{last}",
                _first(latest, "value"),
                _first(latest, "ci_low"),
                _first(latest, "ci_high"),
                _first(latest, "coverage") or "no_data",
                _first(latest, "disclosure") or "ok",
                _first(latest, "ref_period"),
                _first(latest, "change_pct"),
                _first(latest, "significant"),
                tuple(series.column("value").to_pylist()),
                tuple(str(p) for p in series.column("period").to_pylist()),
            )
        )
    map_values: dict[str, float | None] = {}
    map_disclosure: dict[str, str] = {}
    map_period = None
    if "homicide_rate" in known:
        map_period = str(span.last.year)
        t = values(
            portal,
            principal,
            "homicide_rate",
            period=map_period,
            level=map_level,
            con=con,
            disclosure=disclosure,
        )
        map_values = dict(
            zip(t.column("area_code").to_pylist(), t.column("value").to_pylist(), strict=True)
        )
        map_disclosure = {
            a: d
            for a, d in zip(
                t.column("area_code").to_pylist(), t.column("disclosure").to_pylist(), strict=True
            )
            if d != "ok"
        }
    alerts: tuple[str, ...] = ()
    if principal.can_read_data():
        from talaia.indicators.validation import validate

        found = validate(con, last)
        alerts = tuple(
            f"{f.area_code} {f.period}: {f.message_es if lang == 'es' else f.message_en}"
            for f in found[:20]
        )
    return Headline(tuple(cards), map_values, map_period, map_level, alerts, trend, map_disclosure)


@dataclass(frozen=True, slots=True)
class ProfileRow:
    indicator_id: str
    name: str
    decimals: int
    area: float | None
    parent: float | None
    country: float | None
    area_disclosure: str


def area_profile(
    portal: Portal,
    principal: Principal,
    lang: str,
    area,
    parents,
) -> tuple[str, tuple[ProfileRow, ...]] | None:
    """Every indicator for ``area`` in the latest year, against its parent and the country."""
    if engine_missing():
        return None
    span = data_span(portal)
    if span is None:
        return None
    disclosure = disclosure_for(portal, principal)
    key = ("profile", _stamp(portal), disclosure.published, disclosure.threshold, lang, area.code)
    return _cached(key, lambda: _profile(portal, principal, lang, area, parents, span, disclosure))


def _profile(
    portal: Portal,
    principal: Principal,
    lang: str,
    area,
    parents,
    span: DataSpan,
    disclosure: Disclosure,
) -> tuple[str, tuple[ProfileRow, ...]]:
    year = str(span.last.year)
    parent = parents[-1].code if parents else None
    rows = []
    with open_warehouse(portal) as con:
        for ind in catalogue():

            def one(code: str | None, ind_id: str = ind.id) -> pa.Table | None:
                try:
                    return values(
                        portal,
                        principal,
                        ind_id,
                        area=code,
                        period=year,
                        con=con,
                        disclosure=disclosure,
                    )
                except TalaiaError:  # e.g. the area is not in the warehouse
                    return None

            here, nat = one(area.code), one(None)
            up = one(parent) if parent else None
            rows.append(
                ProfileRow(
                    ind.id,
                    ind.name.es if lang == "es" else ind.name.en,
                    ind.decimals,
                    _first(here, "value") if here is not None else None,
                    _first(up, "value") if up is not None else None,
                    _first(nat, "value") if nat is not None else None,
                    (_first(here, "disclosure") if here is not None else None) or "ok",
                )
            )
    return year, tuple(rows)
