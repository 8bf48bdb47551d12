"""Crime analysis for the portal and the API, bounded for a web request.

Calls :mod:`talaia.analysis.service` on the warehouse with the filters of a request (ICCS code,
area, period) and the same defaults as ``talaia analyze``, within limits that keep a request
short: at most ``WebSettings.analysis_max_events`` incidents (a wider selection is refused with
a message asking for a narrower filter), at most ``analysis_max_permutations`` Monte Carlo
permutations, at most :data:`MAX_WEB_CELLS` grid cells, at most :data:`MAX_BANDS` Knox bands.
Seeds are fixed, so the same request gives the same answer; results are cached like the
indicator computations (keyed by the warehouse file and its modification time).

One kind of source is analysed at a time (:func:`resolve_kind`; police by default): the police
and the forensic service record the same deaths, so counting both counts a homicide twice.
Without a cell size the grid is chosen from the selection's extent (:func:`auto_cell`), and a
first view without filters selects a workable subset (:func:`default_selection`).

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
from talaia.classification.iccs import load_iccs
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
_KIND = re.compile(r"^[a-z_]{1,32}$")
#: Source kind analysed when none is asked for (if the warehouse has it).
DEFAULT_KIND = "police"
#: The automatic grid has about this many cells along the longer side of the extent.
AUTO_CELLS_ACROSS = 120
#: Cell sizes (m) the automatic grid rounds up to.
NICE_CELLS = (
    100,
    150,
    200,
    250,
    300,
    400,
    500,
    750,
    1000,
    1500,
    2000,
    2500,
    3000,
    4000,
    5000,
    7500,
    10_000,
)
#: Largest cluster of cells (at FDR 5 %) that permutation p-values must be able to reveal for
#: ``fdr_basis="auto"`` to use them.
MIN_FDR_CLUSTER = 25
#: A first view without filters narrows the selection until it has at most this many incidents
#: (a Knox table of that size takes seconds, not minutes).
DEFAULT_VIEW_EVENTS = 30_000


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
    source_kind: str | None = None,
) -> IncidentFilter:
    """Check the request's filters and build the analysis filter."""
    iccs = (iccs or "").strip() or None
    area = (area or "").strip() or None
    source_kind = (source_kind or "").strip() or None
    if iccs and not _ICCS.match(iccs):
        raise UserInputError(
            f"iccs {iccs!r}: an ICCS code of 2, 4, 5 or 6 digits / un código ICCS de 2, 4, 5 o "
            "6 cifras"
        )
    if iccs and not load_iccs().is_code(iccs):
        raise UserInputError(
            f"iccs {iccs!r}: not an ICCS v1.0 category / no es una categoría de la ICCS v1.0"
        )
    if source_kind and not _KIND.match(source_kind):
        raise UserInputError(f"source_kind {source_kind!r}: not a source kind / tipo no válido")
    if area and not _AREA.match(area):
        raise UserInputError(f"area {area!r}: not an area code / no es un código de área")
    if period:
        p_from, p_to = parse_period(period)
        date_from = date_from or p_from
        date_to = date_to or p_to
    if date_from and date_to and date_from > date_to:
        raise UserInputError(
            f"period: {date_from} is after {date_to} / periodo: {date_from} es posterior a "
            f"{date_to}"
        )
    return IncidentFilter(
        iccs=iccs, area=area, date_from=date_from, date_to=date_to, source_kind=source_kind
    )


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
    ext = _extent(con, flt)
    if ext is None:
        return
    nx = ext[0] / cell + 2
    ny = ext[1] / cell + 2
    if nx * ny > MAX_WEB_CELLS:
        raise UserInputError(
            f"a {cell:g} m grid over this selection has about {int(nx * ny)} cells (web limit "
            f"{MAX_WEB_CELLS}); use a larger cell or an area filter / use una celda mayor"
        )


def _perms(portal: Portal, permutations: int) -> int:
    if permutations < 9:
        raise UserInputError("permutations: at least 9 / permutaciones: al menos 9")
    return min(int(permutations), portal.web.analysis_max_permutations)


def _bands(values: Sequence[float], what: str, top: float) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    if not out or len(out) > MAX_BANDS:
        raise UserInputError(f"{what}: 1 to {MAX_BANDS} bands / de 1 a {MAX_BANDS} bandas")
    if any(not (0 < v <= top) for v in out) or list(out) != sorted(set(out)):
        raise UserInputError(
            f"{what}: increasing values in (0, {top:g}] / valores crecientes en (0, {top:g}]"
        )
    return out


def _key(portal: Portal, kind: str, flt: IncidentFilter, *rest: object) -> tuple:
    return (
        "analysis",
        _stamp(portal),
        kind,
        flt.iccs,
        flt.area,
        flt.date_from,
        flt.date_to,
        flt.source_kind,
        *rest,
    )


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
    cell: float | None = None,
    permutations: int = 99,
    bandwidth: float | None = None,
    fdr_basis: str = "auto",
) -> HotspotLayer:
    """Gi* (permutation p-values, FDR) or kernel density on a grid, as GeoJSON (WGS84);
    ``cell`` None: chosen from the selection's extent (:func:`auto_cell`; half that for KDE).

    ``fdr_basis`` ``"auto"``: the permutation p-values (``sim``) when they can pass the false
    discovery rate correction, else the normal approximation (``norm``). With P permutations
    no p-value is below 1/(P+1), and Benjamini-Hochberg over m cells then needs a cluster of
    at least m/(α(P+1)) cells; above :data:`MIN_FDR_CLUSTER` cells that is out of reach (a
    national grid of thousands of cells with 99 permutations would never show a hot spot)."""
    if fdr_basis not in ("auto", "sim", "norm"):
        raise UserInputError(f"fdr_basis {fdr_basis!r}: auto, sim or norm / auto, sim o norm")
    if method not in ("gi_star", "kde"):
        raise UserInputError(f"method {method!r}: gi_star or kde / gi_star o kde")
    if cell is not None and not 25 <= cell <= 10_000:
        raise UserInputError("cell: 25 to 10,000 m / celda: de 25 a 10.000 m")
    if bandwidth is not None and not 10 <= bandwidth <= 50_000:
        raise UserInputError("bandwidth: 10 to 50,000 m / ancho de banda: de 10 a 50.000 m")
    perms = _perms(portal, permutations)
    auto = cell is None
    if cell is None:
        cell = auto_cell(portal, flt)
        if method == "kde":
            cell = max(cell / 2, 25.0)

    def make() -> HotspotLayer:
        with _connect(portal) as con:
            _guard(portal, con, flt)
            _guard_cells(con, flt, cell)
            basis = fdr_basis
            if basis == "auto":
                ext = _extent(con, flt)
                m = (ext[0] / cell + 1) * (ext[1] / cell + 1) if ext else 0.0
                basis = "sim" if m / (0.05 * (perms + 1)) <= MIN_FDR_CLUSTER else "norm"
            rep = service.hotspots(
                con,
                flt,
                method=method,  # type: ignore[arg-type]
                cell=cell,
                permutations=perms,
                seed=HOTSPOT_SEED,
                bandwidth=bandwidth,
                fdr_basis=basis,  # type: ignore[arg-type]
            )
        meta = {
            "method": rep.method,
            "grid": rep.grid.to_dict(),
            "projection": rep.projection,
            "n_incidents": rep.n_incidents,
            "n_without_location": rep.n_without_location,
            "filter": flt.to_dict(),
            "source_kind": flt.source_kind,
            "cell_auto": auto,
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

    return _cached(
        _key(portal, "hotspots", flt, method, cell, perms, bandwidth, auto, fdr_basis), make
    )


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
        raise UserInputError(f"convention {convention!r}: closed or nrc / closed o nrc")
    if metric not in ("euclidean", "manhattan"):
        raise UserInputError(f"metric {metric!r}: euclidean or manhattan / euclidean o manhattan")
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
        raise UserInputError(f"unit {unit!r}: area or cell / area o cell")
    if not 25 <= cell <= 10_000:
        raise UserInputError("cell: 25 to 10,000 m / celda: de 25 a 10.000 m")

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


#: Most area outlines drawn over a hotspot map (more would hide the cells).
MAX_OUTLINES = 60


def area_outlines(
    portal: Portal, area: str | None = None, max_areas: int = MAX_OUTLINES
) -> list[dict[str, Any]]:
    """Area polygons from the warehouse to outline a map of the selection (empty when none are
    loaded): the deepest level with at most ``max_areas`` areas within ``area`` (the whole
    country when None), else the shallowest level; so a national map shows provinces and a
    province's map its municipalities."""

    def make() -> list[dict[str, Any]]:
        try:
            with _connect(portal) as con:
                feats = service.area_features(con)
        except (TalaiaError, duckdb.Error):  # no geometry: a map without outlines
            return []
        parent = {str(f["properties"]["code"]): f["properties"].get("parent_code") for f in feats}

        def within(code: str) -> bool:
            for _ in range(8):  # area paths are a few levels deep
                if code == area:
                    return True
                up = parent.get(code)
                if up is None:
                    return False
                code = str(up)
            return False

        inside = [f for f in feats if area is None or within(str(f["properties"]["code"]))]
        levels = sorted({int(f["properties"]["level"]) for f in inside}, reverse=True)
        for lv in levels:
            chosen = [f for f in inside if int(f["properties"]["level"]) == lv]
            if len(chosen) <= max_areas:
                return chosen
        return [f for f in inside if int(f["properties"]["level"]) == levels[-1]] if levels else []

    return _cached(("analysis", _stamp(portal), "outlines", area, max_areas), make)


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


def source_kinds(portal: Portal) -> list[tuple[str, int]]:
    """(kind, incidents) of the kinds of source in the warehouse's incidents, most first."""

    def make() -> list[tuple[str, int]]:
        try:
            with _connect(portal) as con:
                rows = con.execute(
                    "SELECT source_kind, count(*) FROM fact_incident "
                    "WHERE source_kind IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1"
                ).fetchall()
        except (TalaiaError, duckdb.Error):  # no warehouse yet: no kinds
            return []
        return [(str(k), int(n)) for k, n in rows]

    return _cached(("analysis", _stamp(portal), "kinds"), make)


def resolve_kind(portal: Portal, kind: str | None) -> str | None:
    """The source kind to analyse: ``kind`` if the warehouse has it, else police, else the
    kind with the most incidents (None when the warehouse has no incidents)."""
    kinds = [k for k, _ in source_kinds(portal)]
    kind = (kind or "").strip() or None
    if kind is not None:
        if kinds and kind not in kinds:
            raise UserInputError(
                f"source_kind {kind!r}: the warehouse has {', '.join(kinds)} / el almacén "
                f"tiene {', '.join(kinds)}"
            )
        return kind
    if not kinds:
        return None
    return DEFAULT_KIND if DEFAULT_KIND in kinds else kinds[0]


def _extent(con: duckdb.DuckDBPyConnection, flt: IncidentFilter) -> tuple[float, float] | None:
    """(east-west, north-south) extent in metres of the selection's located incidents."""
    where, params = flt.where()
    rows = con.execute(
        f"SELECT min(lon), max(lon), min(lat), max(lat) FROM {_fact(flt)} "
        f"WHERE {where} AND lon IS NOT NULL AND lat IS NOT NULL",
        params,
    ).fetchall()
    row = rows[0] if rows else None
    if row is None or row[0] is None:
        return None
    kx = 111_320.0 * math.cos(math.radians((row[2] + row[3]) / 2))
    return (row[1] - row[0]) * kx, (row[3] - row[2]) * 110_574.0


def cell_for_extent(width_m: float, height_m: float) -> float:
    """The smallest of :data:`NICE_CELLS` that covers the longer side of the extent with at
    most :data:`AUTO_CELLS_ACROSS` cells (so a national map has a few thousand cells, each a
    few pixels wide, and a city map cells of a few hundred metres)."""
    need = max(width_m, height_m) / AUTO_CELLS_ACROSS
    for c in NICE_CELLS:
        if c >= need:
            return float(c)
    return float(NICE_CELLS[-1])


def auto_cell(portal: Portal, flt: IncidentFilter) -> float:
    """Grid cell size (m) chosen from the selection's extent (:func:`cell_for_extent`)."""

    def make() -> float:
        with _connect(portal) as con:
            ext = _extent(con, flt)
        return cell_for_extent(*ext) if ext else 250.0

    return _cached(_key(portal, "auto_cell", flt), make)


def size(portal: Portal, flt: IncidentFilter) -> int:
    """Incidents the filter selects (cached)."""

    def make() -> int:
        with _connect(portal) as con:
            return selection_size(con, flt)

    return _cached(_key(portal, "size", flt), make)


def check_size(portal: Portal, flt: IncidentFilter) -> int:
    """The selection's size; TooManyEventsError above the web limit."""
    n = size(portal, flt)
    if n > portal.web.analysis_max_events:
        raise TooManyEventsError(n, portal.web.analysis_max_events)
    return n


@dataclass(frozen=True, slots=True)
class Selection:
    """A suggested selection: filters and the incidents they select."""

    source_kind: str | None
    iccs: str | None
    date_from: date | None
    date_to: date | None
    n: int


def default_selection(
    portal: Portal, kind: str | None = None, area: str | None = None, target: int | None = None
) -> Selection:
    """A selection small enough for the web: everything of the source kind if it fits in
    ``target`` incidents (default the smaller of :data:`DEFAULT_VIEW_EVENTS` and the web
    limit), else its latest year, else the offence section (ICCS level 1) with the most
    incidents in that year, else the latest month of that section."""
    kind = resolve_kind(portal, kind)
    limit = target or min(DEFAULT_VIEW_EVENTS, portal.web.analysis_max_events)

    def make() -> Selection:
        base = IncidentFilter(area=area, source_kind=kind)
        with _connect(portal) as con:
            n = selection_size(con, base)
            if n <= limit:
                return Selection(kind, None, None, None, n)
            where, params = base.where()
            rows = con.execute(
                f"SELECT max(occurred_date) FROM fact_incident WHERE {where}", params
            ).fetchall()
            last = rows[0][0]
            y0, y1 = date(last.year, 1, 1), date(last.year, 12, 31)
            year = IncidentFilter(area=area, source_kind=kind, date_from=y0, date_to=y1)
            n = selection_size(con, year)
            if n <= limit:
                return Selection(kind, None, y0, y1, n)
            where, params = year.where()
            rows = con.execute(
                f"SELECT iccs_l1, count(*) FROM fact_incident WHERE {where} AND iccs_l1 IS NOT "
                "NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
                params,
            ).fetchall()
            if not rows:
                return Selection(kind, None, y0, y1, n)
            section, n = str(rows[0][0]), int(rows[0][1])
            if n <= limit:
                return Selection(kind, section, y0, y1, n)
            m0 = date(last.year, last.month, 1)
            month = IncidentFilter(
                iccs=section, area=area, source_kind=kind, date_from=m0, date_to=last
            )
            return Selection(kind, section, m0, last, selection_size(con, month))

    return _cached(("analysis", _stamp(portal), "default", kind, area, limit), make)


def iccs_choices(lang: str) -> list[tuple[str, str, int]]:
    """(code, title in ``lang``, level) of every packaged ICCS v1.0 category, in code order,
    for the picker."""
    return [(c.code, c.label(lang), c.level) for c in sorted(load_iccs(), key=lambda c: c.code)]
