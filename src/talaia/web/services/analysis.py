"""Crime analysis for the portal and the API, bounded for a web request.

Calls :mod:`talaia.analysis.service` on the warehouse with the filters of a request (ICCS code,
area, period) and the same defaults as ``talaia analyze``, within limits that keep a request
short: at most ``WebSettings.analysis_max_events`` incidents (a wider selection is refused with
a message asking for a narrower filter), at most ``analysis_max_permutations`` Monte Carlo
permutations, at most :data:`MAX_WEB_CELLS` grid cells, at most :data:`MAX_BANDS` Knox bands.
Seeds are fixed, so the same request gives the same answer; results are cached like the
indicator computations (keyed by the warehouse file and its modification time).

Only administrators and analysts may run these (incident-level data of every agency):
:func:`require_analyst`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import duckdb

from talaia.analysis import service
from talaia.analysis.service import IncidentFilter
from talaia.errors import NotFoundError, TalaiaError, UserInputError
from talaia.web.services.indicators import _cached, _stamp, warehouse_path

if TYPE_CHECKING:
    from talaia.web.portal import Portal
    from talaia.web.services.common import Principal

#: Largest grid (cells) a web request may analyse.
MAX_WEB_CELLS = 250_000
#: Most spatial (and temporal) bands of a Knox table from the web.
MAX_BANDS = 8
HOTSPOT_SEED = 12345
KNOX_SEED = 0
DEFAULT_SPATIAL = (100.0, 200.0, 400.0, 800.0)
DEFAULT_TEMPORAL = (7.0, 14.0, 30.0, 60.0)
FORBIDDEN = "Crime analysis is for analysts and administrators."
_ICCS = re.compile(r"^\d{2}(\d{2}(\d(\d)?)?)?$")
_AREA = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class TooManyEventsError(UserInputError):
    """The filters select more incidents than a web request may analyse."""

    def __init__(self, n: int, limit: int) -> None:
        self.n, self.limit = n, limit
        super().__init__(
            f"the filters select {n} incidents; the web limit is {limit}. Narrow the ICCS code, "
            f"area or period (or use `talaia analyze`) / los filtros seleccionan {n} incidentes; "
            f"el límite web es {limit}"
        )


def require_analyst(principal: Principal) -> None:
    """Raise PermissionError unless the principal may run crime analysis."""
    if not principal.can_analyse():
        raise PermissionError(FORBIDDEN)


def parse_period(text: str | None) -> tuple[date | None, date | None]:
    """``2023``, ``2023-04``, ``2023-04-15`` or ``a..b`` (either side open) as inclusive dates."""
    if not text or not text.strip():
        return None, None
    lo, sep, hi = text.strip().partition("..")
    if not sep:
        hi = lo
    return _bound(lo, end=False), _bound(hi, end=True)


def _bound(text: str, end: bool) -> date | None:
    import calendar

    text = text.strip()
    if not text:
        return None
    try:
        if re.fullmatch(r"\d{4}", text):
            y = int(text)
            return date(y, 12, 31) if end else date(y, 1, 1)
        if re.fullmatch(r"\d{4}-\d{2}", text):
            y, m = int(text[:4]), int(text[5:])
            return date(y, m, calendar.monthrange(y, m)[1]) if end else date(y, m, 1)
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UserInputError(
            f"period {text!r}: use YYYY, YYYY-MM, YYYY-MM-DD or FROM..TO / periodo no válido"
        ) from exc


def make_filter(
    iccs: str | None,
    area: str | None,
    date_from: date | None,
    date_to: date | None,
    period: str | None = None,
) -> IncidentFilter:
    """Check the request's filters and build the analysis filter."""
    iccs = (iccs or "").strip() or None
    area = (area or "").strip() or None
    if iccs and not _ICCS.match(iccs):
        raise UserInputError(f"iccs {iccs!r}: an ICCS code of 2, 4, 5 or 6 digits")
    if area and not _AREA.match(area):
        raise UserInputError(f"area {area!r}: not an area code")
    if period:
        p_from, p_to = parse_period(period)
        date_from = date_from or p_from
        date_to = date_to or p_to
    if date_from and date_to and date_from > date_to:
        raise UserInputError(f"period: {date_from} is after {date_to}")
    return IncidentFilter(iccs=iccs, area=area, date_from=date_from, date_to=date_to)


@contextmanager
def _connect(portal: Portal) -> Iterator[duckdb.DuckDBPyConnection]:
    path = warehouse_path(portal)
    if not path.exists():
        raise NotFoundError("the warehouse has not been built yet / el almacén aún no existe")
    con = service.connect(path)
    try:
        yield con
    finally:
        con.close()


def _fact(flt: IncidentFilter) -> str:
    return {"incident": "fact_incident", "offence": "fact_offence"}[flt.table]


def selection_size(con: duckdb.DuckDBPyConnection, flt: IncidentFilter) -> int:
    """Incidents the filter selects (all, located or not)."""
    where, params = flt.where()
    try:
        rows = con.execute(f"SELECT count(*) FROM {_fact(flt)} WHERE {where}", params).fetchall()
    except duckdb.CatalogException as exc:
        raise NotFoundError(f"warehouse table {_fact(flt)} missing") from exc
    return int(rows[0][0]) if rows else 0


def _guard(portal: Portal, con: duckdb.DuckDBPyConnection, flt: IncidentFilter) -> int:
    n = selection_size(con, flt)
    if n > portal.web.analysis_max_events:
        raise TooManyEventsError(n, portal.web.analysis_max_events)
    return n


def _guard_cells(con: duckdb.DuckDBPyConnection, flt: IncidentFilter, cell: float) -> None:
    """Refuse a grid of more than MAX_WEB_CELLS cells (extent estimated from lon/lat)."""
    where, params = flt.where()
    rows = con.execute(
        f"SELECT min(lon), max(lon), min(lat), max(lat) FROM {_fact(flt)} "
        f"WHERE {where} AND lon IS NOT NULL AND lat IS NOT NULL",
        params,
    ).fetchall()
    row = rows[0] if rows else None
    if row is None or row[0] is None:
        return
    kx = 111_320.0 * math.cos(math.radians((row[2] + row[3]) / 2))
    nx = (row[1] - row[0]) * kx / cell + 2
    ny = (row[3] - row[2]) * 110_574.0 / cell + 2
    if nx * ny > MAX_WEB_CELLS:
        raise UserInputError(
            f"a {cell:g} m grid over this selection has about {int(nx * ny)} cells (web limit "
            f"{MAX_WEB_CELLS}); use a larger cell or an area filter / use una celda mayor"
        )


def _perms(portal: Portal, permutations: int) -> int:
    if permutations < 9:
        raise UserInputError("permutations: at least 9")
    return min(int(permutations), portal.web.analysis_max_permutations)


def _bands(values: Sequence[float], what: str, top: float) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    if not out or len(out) > MAX_BANDS:
        raise UserInputError(f"{what}: 1 to {MAX_BANDS} bands")
    if any(not (0 < v <= top) for v in out) or list(out) != sorted(set(out)):
        raise UserInputError(f"{what}: increasing values in (0, {top:g}]")
    return out


def _key(portal: Portal, kind: str, flt: IncidentFilter, *rest: object) -> tuple:
    return ("analysis", _stamp(portal), kind, flt.iccs, flt.area, flt.date_from, flt.date_to, *rest)


@dataclass(frozen=True, slots=True)
class HotspotLayer:
    """A hotspot result ready for a map: the report and its GeoJSON with metadata."""

    report: service.HotspotReport
    geojson: dict[str, Any]


def hotspots(
    portal: Portal,
    flt: IncidentFilter,
    *,
    method: str = "gi_star",
    cell: float = 250.0,
    permutations: int = 99,
    bandwidth: float | None = None,
) -> HotspotLayer:
    """Gi* (permutation p-values, FDR) or kernel density on a grid, as GeoJSON (WGS84)."""
    if method not in ("gi_star", "kde"):
        raise UserInputError(f"method {method!r}: gi_star or kde")
    if not 25 <= cell <= 10_000:
        raise UserInputError("cell: 25 to 10,000 m")
    if bandwidth is not None and not 10 <= bandwidth <= 50_000:
        raise UserInputError("bandwidth: 10 to 50,000 m")
    perms = _perms(portal, permutations)

    def make() -> HotspotLayer:
        with _connect(portal) as con:
            _guard(portal, con, flt)
            _guard_cells(con, flt, cell)
            rep = service.hotspots(
                con,
                flt,
                method=method,  # type: ignore[arg-type]
                cell=cell,
                permutations=perms,
                seed=HOTSPOT_SEED,
                bandwidth=bandwidth,
            )
        meta = {
            "method": rep.method,
            "grid": rep.grid.to_dict(),
            "projection": rep.projection,
            "n_incidents": rep.n_incidents,
            "n_without_location": rep.n_without_location,
            "filter": flt.to_dict(),
        }
        if rep.local is not None:
            meta.update(
                permutations=rep.local.permutations,
                seed=rep.local.seed,
                alpha=rep.local.alpha,
                fdr_basis=rep.local.fdr_basis,
            )
        if rep.density is not None:
            meta.update(
                bandwidth_m=rep.density.bandwidth,
                bandwidth_rule=rep.density.bandwidth_rule,
                kernel=rep.density.kernel,
                density_unit="incidents per km2",
            )
        return HotspotLayer(rep, {**rep.to_geojson(), "talaia": meta})

    return _cached(_key(portal, "hotspots", flt, method, cell, perms, bandwidth), make)


def near_repeat(
    portal: Portal,
    flt: IncidentFilter,
    *,
    spatial_bands: Sequence[float] = DEFAULT_SPATIAL,
    temporal_bands: Sequence[float] = DEFAULT_TEMPORAL,
    permutations: int = 99,
    convention: str = "closed",
    metric: str = "euclidean",
) -> Any:
    """The Knox table (observed pairs, Knox ratios, p-values) of the selection."""
    sb = _bands(spatial_bands, "spatial bands (m)", 5_000)
    tb = _bands(temporal_bands, "temporal bands (days)", 365)
    if convention not in ("closed", "nrc"):
        raise UserInputError(f"convention {convention!r}: closed or nrc")
    if metric not in ("euclidean", "manhattan"):
        raise UserInputError(f"metric {metric!r}: euclidean or manhattan")
    perms = _perms(portal, permutations)

    def make() -> Any:
        with _connect(portal) as con:
            _guard(portal, con, flt)
            return service.near_repeat(
                con,
                flt,
                spatial_bands=sb,
                temporal_bands=tb,
                convention=convention,  # type: ignore[arg-type]
                metric=metric,  # type: ignore[arg-type]
                permutations=perms,
                seed=KNOX_SEED,
            )

    return _cached(_key(portal, "knox", flt, sb, tb, perms, convention, metric), make)


def concentration(
    portal: Portal, flt: IncidentFilter, *, unit: str = "area", cell: float = 250.0
) -> service.ConcentrationReport:
    """Top shares, Lorenz curve, Gini (and generalized Gini) and repeat victimization."""
    if unit not in ("area", "cell"):
        raise UserInputError(f"unit {unit!r}: area or cell")
    if not 25 <= cell <= 10_000:
        raise UserInputError("cell: 25 to 10,000 m")

    def make() -> service.ConcentrationReport:
        with _connect(portal) as con:
            _guard(portal, con, flt)
            if unit == "cell":
                _guard_cells(con, flt, cell)
            return service.concentration_report(con, flt, unit=unit, cell=cell)  # type: ignore[arg-type]

    return _cached(_key(portal, "concentration", flt, unit, cell), make)


def time_patterns(portal: Portal, flt: IncidentFilter) -> service.TimeReport:
    """Aoristic day × hour heat map, monthly series with STL and Poisson anomalies."""

    def make() -> service.TimeReport:
        with _connect(portal) as con:
            _guard(portal, con, flt)
            return service.time_report(con, flt)

    return _cached(_key(portal, "time", flt), make)


def area_outlines(portal: Portal) -> list[dict[str, Any]]:
    """The deepest level's area polygons from the warehouse (empty when none are loaded)."""

    def make() -> list[dict[str, Any]]:
        try:
            with _connect(portal) as con:
                feats = service.area_features(con)
        except (TalaiaError, duckdb.Error):  # no geometry: a map without outlines
            return []
        deepest = max(int(f["properties"]["level"]) for f in feats)
        return [f for f in feats if int(f["properties"]["level"]) == deepest]

    return _cached(("analysis", _stamp(portal), "outlines"), make)


def area_choices(portal: Portal) -> list[tuple[str, str, int]]:
    """(code, name, level) of the warehouse's areas, for the filter."""

    def make() -> list[tuple[str, str, int]]:
        try:
            with _connect(portal) as con:
                rows = con.execute(
                    "SELECT area_code, name, level FROM dim_area "
                    "ORDER BY coalesce(area_l1, ''), coalesce(area_l2, ''), "
                    "coalesce(area_l3, ''), level"
                ).fetchall()
        except (TalaiaError, duckdb.Error):  # no warehouse yet: no choices
            return []
        return [(str(c), str(n or c), int(lv)) for c, n, lv in rows]

    return _cached(("analysis", _stamp(portal), "areas"), make)
