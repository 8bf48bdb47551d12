"""Crime analysis on the warehouse: select incidents, project them, run the analyses.

Reads the DuckDB warehouse tables of ``docs/contracts.md`` §6 (``fact_incident`` or
``fact_offence``, ``dim_area``, ``source_month``). Filters: an ICCS code at any level (matched on
``iccs_l1..iccs_l4``), an area code at any level (``area_l1..area_l3``), a period of occurrence
(``occurred_date``) and source codes. Coordinates (WGS84 lon/lat) are projected to metres with
a local azimuthal equidistant projection centred on the selection (distances from the centre are
exact, and distortion is below 0.1 % within ~150 km of it) by pyproj.

Incidents without a location are left out of the spatial analyses and counted
(``n_without_location``); nothing is imputed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np

from talaia.analysis.concentration import (
    Concentration,
    RepeatVictimization,
    concentration,
    repeat_victimization,
)
from talaia.analysis.density import DensitySurface, Grid, grid_for, kernel_density
from talaia.analysis.hotspots import LocalStatistic, getis_ord_gi_star, local_moran
from talaia.analysis.knox import Convention, KnoxResult, Metric, knox_test
from talaia.analysis.temporal import (
    TimeSeriesAnalysis,
    WeekHeatmap,
    analyse_series,
    midnight_placeholders,
    week_heatmap,
)
from talaia.analysis.weights import lattice_weights
from talaia.errors import DataError, NotFoundError, UserInputError

Progress = Callable[[str], None]
FactTable = Literal["incident", "offence"]
MAX_CELLS = 2_000_000


@dataclass(frozen=True)
class IncidentFilter:
    """Which incidents to analyse.

    Attributes
    ----------
    iccs
        ICCS code at any level ("01", "0101", "01011", "010111"); None = all.
    area
        Area code at any level; None = all.
    date_from, date_to
        Inclusive bounds on ``occurred_date``; None = open.
    sources
        Source codes; empty = all.
    source_kind
        Kind of source (``police``, ``forensic``, ...); None = every kind. Kinds record the
        same events (a homicide is in the police and the forensic records), so counting
        several kinds together counts an event once per kind.
    table
        ``"incident"`` (one row per incident, ICCS of its first offence) or ``"offence"``.
    """

    iccs: str | None = None
    area: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sources: tuple[str, ...] = ()
    table: FactTable = "incident"
    source_kind: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        """SQL condition and parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.iccs:
            clauses.append("(iccs_l1 = ? OR iccs_l2 = ? OR iccs_l3 = ? OR iccs_l4 = ?)")
            params += [self.iccs] * 4
        if self.area:
            clauses.append("(area_l1 = ? OR area_l2 = ? OR area_l3 = ? OR area_code = ?)")
            params += [self.area] * 4
        if self.date_from:
            clauses.append("occurred_date >= ?")
            params.append(self.date_from)
        if self.date_to:
            clauses.append("occurred_date <= ?")
            params.append(self.date_to)
        if self.sources:
            clauses.append(f"source_code IN ({', '.join('?' for _ in self.sources)})")
            params += list(self.sources)
        if self.source_kind:
            clauses.append("source_kind = ?")
            params.append(self.source_kind)
        return (" AND ".join(clauses) or "TRUE"), params

    def to_dict(self) -> dict[str, Any]:
        return {
            "iccs": self.iccs,
            "area": self.area,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "sources": list(self.sources),
            "source_kind": self.source_kind,
            "table": self.table,
        }


@dataclass(frozen=True, eq=False)
class Incidents:
    """Selected incidents as columns.

    Attributes
    ----------
    incident_id, area_code, occurred_date, occurred_from, occurred_to, precision, source_code
        Columns of the fact table (``occurred_to`` NaT when not a range).
    lon, lat
        WGS84 (NaN where unknown).
    x, y
        Metres in :attr:`projection` (NaN where unknown).
    projection
        PROJ string of the local azimuthal equidistant projection.
    """

    incident_id: np.ndarray
    area_code: np.ndarray
    occurred_date: np.ndarray
    occurred_from: np.ndarray
    occurred_to: np.ndarray
    precision: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    projection: str
    filter: IncidentFilter = field(default_factory=IncidentFilter)
    source_code: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))

    @property
    def n(self) -> int:
        return int(self.incident_id.size)

    @property
    def located(self) -> np.ndarray:
        return np.isfinite(self.x) & np.isfinite(self.y)

    @property
    def n_without_location(self) -> int:
        return int((~self.located).sum())

    def day_number(self) -> np.ndarray:
        """Occurrence date as days since 1970-01-01."""
        return self.occurred_date.astype("datetime64[D]").astype(np.int64).astype(float)

    def to_wgs84(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from pyproj import Transformer

        tr = Transformer.from_crs(self.projection, "EPSG:4326", always_xy=True)
        return tr.transform(x, y)


def connect(path: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only (settings' path when None)."""
    if path is None:
        from talaia.settings import get_settings

        path = get_settings().resolved_warehouse_path()
    p = Path(path)
    if not p.exists():
        raise NotFoundError(
            f"warehouse {p} not found; build it first / no se encontró el almacén {p}"
        )
    return duckdb.connect(str(p), read_only=True)


def _local_projection(lon: np.ndarray, lat: np.ndarray) -> str:
    ok = np.isfinite(lon) & np.isfinite(lat)
    lon0 = float(np.median(lon[ok])) if ok.any() else 0.0
    lat0 = float(np.median(lat[ok])) if ok.any() else 0.0
    return f"+proj=aeqd +lat_0={lat0:.6f} +lon_0={lon0:.6f} +datum=WGS84 +units=m +no_defs"


def load_incidents(con: duckdb.DuckDBPyConnection, flt: IncidentFilter) -> Incidents:
    """Select incidents from the warehouse and project them to metres."""
    table = {"incident": "fact_incident", "offence": "fact_offence"}[flt.table]
    where, params = flt.where()
    key = "incident_id" if flt.table == "incident" else "offence_id"
    sql = (
        f"SELECT {key} AS id, area_code, occurred_date, occurred_from, occurred_to, "
        f"occurred_precision, source_code, lon, lat FROM {table} WHERE {where} "
        f"ORDER BY occurred_from, {key}"
    )
    try:
        tab = con.sql(sql, params=params).to_arrow_table()
    except duckdb.CatalogException as exc:
        raise NotFoundError(f"warehouse table {table} missing / falta la tabla {table}") from exc

    def col(name: str, dtype: Any = None) -> np.ndarray:
        arr = tab.column(name).to_numpy(zero_copy_only=False)
        return arr.astype(dtype) if dtype is not None else arr

    lon = np.asarray(tab.column("lon").to_numpy(zero_copy_only=False), dtype=float)
    lat = np.asarray(tab.column("lat").to_numpy(zero_copy_only=False), dtype=float)
    proj = _local_projection(lon, lat)
    x = np.full(lon.size, np.nan)
    y = np.full(lat.size, np.nan)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if ok.any():
        from pyproj import Transformer

        tr = Transformer.from_crs("EPSG:4326", proj, always_xy=True)
        x[ok], y[ok] = tr.transform(lon[ok], lat[ok])
    return Incidents(
        incident_id=col("id"),
        area_code=col("area_code", object),
        occurred_date=col("occurred_date", "datetime64[D]"),
        occurred_from=col("occurred_from", "datetime64[s]"),
        occurred_to=col("occurred_to", "datetime64[s]"),
        precision=col("occurred_precision", object),
        lon=lon,
        lat=lat,
        x=x,
        y=y,
        projection=proj,
        filter=flt,
        source_code=col("source_code", object),
    )


def _require(inc: Incidents, minimum: int, what: str) -> None:
    n = int(inc.located.sum())
    if n < minimum:
        raise DataError(
            f"{what} needs at least {minimum} located incidents; the selection has {n} "
            f"({inc.n_without_location} without location) / {what} necesita al menos {minimum} "
            f"incidentes con ubicación; la selección tiene {n}"
        )


def _cell_geometry(inc: Incidents, grid: Grid, ids: np.ndarray) -> tuple[dict[str, Any], ...]:
    rings = grid.polygons()[ids]
    lon, lat = inc.to_wgs84(rings[..., 0].ravel(), rings[..., 1].ravel())
    lon = np.round(np.asarray(lon).reshape(rings.shape[:2]), 7)
    lat = np.round(np.asarray(lat).reshape(rings.shape[:2]), 7)
    return tuple(
        {"type": "Polygon", "coordinates": [np.column_stack([lo, la]).tolist()]}
        for lo, la in zip(lon, lat, strict=True)
    )


@dataclass(frozen=True, eq=False)
class HotspotReport:
    """Hotspots of a selection on a grid of cells.

    Attributes
    ----------
    method
        ``"gi_star"``, ``"local_moran"`` or ``"kde"``.
    grid
        The grid (metres in :attr:`projection`).
    local
        The local statistic (Gi* / Local Moran) over cells with incidents or significant, with
        WGS84 cell polygons; None for KDE.
    density
        The KDE surface; None otherwise.
    n_incidents, n_without_location
        Incidents analysed and left out.
    """

    method: str
    grid: Grid
    projection: str
    local: LocalStatistic | None
    density: DensitySurface | None
    n_incidents: int
    n_without_location: int
    filter: IncidentFilter
    geojson_cells: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": self.method,
            "grid": self.grid.to_dict(),
            "projection": self.projection,
            "n_incidents": self.n_incidents,
            "n_without_location": self.n_without_location,
            "filter": self.filter.to_dict(),
        }
        if self.local is not None:
            out["local"] = self.local.to_dict()
        if self.density is not None:
            out["density"] = self.density.to_dict()
        return out

    def to_geojson(self) -> dict[str, Any]:
        """Cells as a GeoJSON FeatureCollection (WGS84)."""
        if self.local is not None:
            return self.local.to_geojson()
        return {"type": "FeatureCollection", "features": list(self.geojson_cells)}


def hotspots(
    con: duckdb.DuckDBPyConnection,
    flt: IncidentFilter,
    *,
    method: Literal["gi_star", "local_moran", "kde"] = "gi_star",
    cell: float = 250.0,
    permutations: int = 999,
    seed: int = 12345,
    alpha: float = 0.05,
    bandwidth: float | None = None,
    fdr_basis: Literal["sim", "norm"] = "sim",
    progress: Progress | None = None,
) -> HotspotReport:
    """Gi*, Local Moran's I (queen contiguity of grid cells) or kernel density of a selection."""
    step = progress or (lambda _msg: None)
    step("selecting incidents")
    inc = load_incidents(con, flt)
    _require(inc, 2, "hotspots")
    x, y = inc.x[inc.located], inc.y[inc.located]
    if method == "kde":
        step("kernel density")
        surf = kernel_density(x, y, cell, bandwidth=bandwidth)
        grid = surf.grid
        _check_cells(grid)
        flat = surf.density.ravel()
        ids = np.flatnonzero(flat > flat.max() * 1e-3)
        geoms = _cell_geometry(inc, grid, ids)
        feats = tuple(
            {"type": "Feature", "geometry": g, "properties": {"cell": int(i), "density": float(v)}}
            for g, i, v in zip(geoms, ids, flat[ids], strict=True)
        )
        return HotspotReport(
            "kde", grid, inc.projection, None, surf, x.size, inc.n_without_location, flt, feats
        )
    grid = grid_for(x, y, cell)
    _check_cells(grid)
    counts = grid.counts(x, y).astype(float)
    w = lattice_weights(grid.nrows, grid.ncols, "queen")
    step(f"{method} on {grid.n_cells} cells, {permutations} permutations")
    if method == "gi_star":
        stat = getis_ord_gi_star(
            counts, w, permutations=permutations, seed=seed, alpha=alpha, fdr_basis=fdr_basis
        )
    elif method == "local_moran":
        stat = local_moran(counts, w, permutations=permutations, seed=seed, alpha=alpha)
    else:
        raise UserInputError(f"unknown hotspot method {method!r} / método desconocido")
    keep = np.flatnonzero((counts > 0) | (np.asarray(stat.label) != "ns"))
    step("cell geometry")
    sub = _subset(stat, keep)
    sub = sub.with_geometry(_cell_geometry(inc, grid, keep))
    return HotspotReport(
        method, grid, inc.projection, sub, None, x.size, inc.n_without_location, flt
    )


def area_hotspots(
    con: duckdb.DuckDBPyConnection,
    flt: IncidentFilter,
    areas_geojson: str | Path | None = None,
    *,
    level: int | None = None,
    method: Literal["gi_star", "local_moran"] = "gi_star",
    permutations: int = 999,
    seed: int = 12345,
    alpha: float = 0.05,
    fdr_basis: Literal["sim", "norm"] = "sim",
    progress: Progress | None = None,
) -> LocalStatistic:
    """Gi* or Local Moran's I over area polygons (queen contiguity), counts per area.

    ``areas_geojson`` is a FeatureCollection whose features carry ``code`` and ``level``
    properties (the demo's ``reference/areas.geojson``; the store's ``area`` table exported);
    when None, the polygons are read from the warehouse (``dim_area_geometry`` joined to
    ``dim_area``, see :func:`area_features`). Every area of the chosen level (default: the
    deepest) is a unit, areas without incidents included with 0.
    """
    import shapely

    from talaia.analysis.weights import polygon_contiguity_weights

    step = progress or (lambda _msg: None)
    if areas_geojson is None:
        path: Path | str = "warehouse dim_area_geometry"
        feats = area_features(con)
    else:
        path = Path(areas_geojson)
        feats = _read_area_file(path)
    parent = {str(f["properties"]["code"]): f["properties"].get("parent_code") for f in feats}

    def within(code: str, area: str) -> bool:
        for _ in range(4):  # area paths have three levels
            if code == area:
                return True
            nxt = parent.get(code)
            if nxt is None:
                return False
            code = str(nxt)
        return False

    lv = level or max(int(f["properties"]["level"]) for f in feats)
    if lv not in (1, 2, 3):
        raise UserInputError(f"--level {lv}: 1, 2 or 3")
    feats = [f for f in feats if int(f["properties"]["level"]) == lv]
    if flt.area:
        feats = [f for f in feats if within(str(f["properties"]["code"]), flt.area)]
    if len(feats) < 3:
        raise DataError(f"{path}: fewer than 3 areas of level {lv} / menos de 3 áreas")
    codes = [str(f["properties"]["code"]) for f in feats]
    step("counting incidents per area")
    table = {"incident": "fact_incident", "offence": "fact_offence"}[flt.table]
    where, params = flt.where()
    got = dict(
        con.execute(
            f"SELECT area_l{lv}, count(*) FROM {table} WHERE {where} GROUP BY 1", params
        ).fetchall()
    )
    counts = np.array([float(got.get(c, 0)) for c in codes])
    step("contiguity")
    geoms = [shapely.geometry.shape(f["geometry"]) for f in feats]
    w = polygon_contiguity_weights(geoms, "queen")
    step(f"{method}, {permutations} permutations")
    if method == "gi_star":
        stat = getis_ord_gi_star(
            counts,
            w,
            permutations=permutations,
            seed=seed,
            alpha=alpha,
            unit_ids=tuple(codes),
            fdr_basis=fdr_basis,
        )
    else:
        stat = local_moran(
            counts, w, permutations=permutations, seed=seed, alpha=alpha, unit_ids=tuple(codes)
        )
    return stat.with_geometry(tuple(f["geometry"] for f in feats))


def _read_area_file(path: Path) -> list[dict[str, Any]]:
    import json

    try:
        feats = json.loads(path.read_text(encoding="utf-8"))["features"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserInputError(
            f"{path}: not a GeoJSON FeatureCollection ({exc}) / no es una colección GeoJSON"
        ) from exc
    for k, f in enumerate(feats):  # metadata-sized: one per area
        props = f.get("properties") or {}
        if "code" not in props or "level" not in props or not f.get("geometry"):
            raise UserInputError(
                f"{path}: feature {k} lacks 'code', 'level' or geometry / "
                "le falta code, level o geometría"
            )
    return list(feats)


def area_features(con: duckdb.DuckDBPyConnection, level: int | None = None) -> list[dict[str, Any]]:
    """Area polygons from the warehouse as GeoJSON Features (``code``, ``name``, ``level``,
    ``parent_code`` properties), ordered by code; areas without a geometry are left out.

    Reads ``dim_area_geometry`` (contracts §6) joined to ``dim_area``.
    """
    import json

    sql = (
        "SELECT g.area_code, a.name, g.level, a.parent_code, g.geometry "
        "FROM dim_area_geometry g LEFT JOIN dim_area a ON a.area_code = g.area_code"
    )
    params: list[Any] = []
    if level is not None:
        sql += " WHERE g.level = ?"
        params.append(int(level))
    try:
        rows = con.execute(sql + " ORDER BY g.area_code", params).fetchall()
    except duckdb.CatalogException as exc:
        raise NotFoundError(
            "the warehouse has no area geometry (dim_area_geometry); refresh it with "
            "`talaia warehouse refresh` / el almacén no tiene geometrías de áreas"
        ) from exc
    feats = []
    for code, name, lv, parent, geom in rows:  # metadata-sized: one per area
        try:
            geometry = json.loads(geom)
        except ValueError as exc:
            raise DataError(
                f"dim_area_geometry, area {code!r}, field geometry: not GeoJSON ({exc}) / "
                "geometría no válida"
            ) from exc
        feats.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {"code": code, "name": name, "level": lv, "parent_code": parent},
            }
        )
    if not feats:
        raise DataError(
            "the warehouse has no area polygons (area.geometry is empty in the store) / "
            "el almacén no tiene polígonos de áreas"
        )
    return feats


def _check_cells(grid: Grid) -> None:
    if grid.n_cells > MAX_CELLS:
        raise UserInputError(
            f"a {grid.cell:g} m grid over this selection has {grid.n_cells} cells (limit "
            f"{MAX_CELLS}); use a larger --cell or an --area filter / la cuadrícula tiene "
            f"demasiadas celdas: use una celda mayor o filtre por área"
        )


def _subset(stat: LocalStatistic, keep: np.ndarray) -> LocalStatistic:
    from dataclasses import replace

    def ro(a: np.ndarray) -> np.ndarray:
        b = np.ascontiguousarray(a[keep])
        b.setflags(write=False)
        return b

    return replace(
        stat,
        statistic=ro(stat.statistic),
        z=ro(stat.z),
        p_norm=ro(stat.p_norm),
        p_sim=ro(stat.p_sim),
        q_value=ro(stat.q_value),
        z_sim=ro(stat.z_sim),
        label=tuple(np.asarray(stat.label)[keep].tolist()),
        quadrant=ro(stat.quadrant),
        unit_ids=tuple(str(int(i)) for i in keep),
        value=ro(stat.value),
    )


def near_repeat(
    con: duckdb.DuckDBPyConnection,
    flt: IncidentFilter,
    *,
    spatial_bands: Sequence[float] = (200.0,),
    temporal_bands: Sequence[float] = (7.0,),
    convention: Convention = "closed",
    metric: Metric = "euclidean",
    permutations: int = 999,
    seed: int = 0,
    progress: Progress | None = None,
) -> KnoxResult:
    """Knox test of the selection (dates of occurrence, located incidents only)."""
    step = progress or (lambda _msg: None)
    step("selecting incidents")
    inc = load_incidents(con, flt)
    _require(inc, 3, "near-repeat")
    ok = inc.located
    step(f"Knox test, {permutations} permutations")
    res = knox_test(
        inc.x[ok],
        inc.y[ok],
        inc.day_number()[ok],
        spatial_bands,
        temporal_bands,
        convention=convention,
        metric=metric,
        permutations=permutations,
        seed=seed,
    )
    from dataclasses import replace

    extra = {**res.extra, "n_without_location": inc.n_without_location, "filter": flt.to_dict()}
    return replace(res, extra=extra)


@dataclass(frozen=True, eq=False)
class ConcentrationReport:
    """Concentration over places and repeat victimization of a selection.

    Attributes
    ----------
    unit
        ``"cell"`` (grid cells over the selection's extent) or ``"area"`` (every lowest-level
        area of ``dim_area`` within the area filter, zeros included).
    concentration, repeats
        The statistics; ``repeats`` uses the exact location (1 m) as the place.
    """

    unit: str
    concentration: Concentration
    repeats: RepeatVictimization
    n_without_location: int
    filter: IncidentFilter

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "concentration": self.concentration.to_dict(),
            "repeats": self.repeats.to_dict(),
            "n_without_location": self.n_without_location,
            "filter": self.filter.to_dict(),
        }


def concentration_report(
    con: duckdb.DuckDBPyConnection,
    flt: IncidentFilter,
    *,
    unit: Literal["cell", "area"] = "area",
    cell: float = 250.0,
    repeat_days: float = 365.0,
    progress: Progress | None = None,
) -> ConcentrationReport:
    """Concentration statistics (top shares, Lorenz, Gini) and repeat victimization."""
    step = progress or (lambda _msg: None)
    step("selecting incidents")
    inc = load_incidents(con, flt)
    if inc.n == 0:
        raise DataError("no incidents match the filters / ningún incidente cumple los filtros")
    if unit == "area":
        where, params = "level = (SELECT max(level) FROM dim_area)", []
        if flt.area:
            where += " AND (area_l1 = ? OR area_l2 = ? OR area_l3 = ? OR area_code = ?)"
            params = [flt.area] * 4
        areas = np.array(
            [
                r[0]
                for r in con.execute(
                    f"SELECT area_code FROM dim_area WHERE {where}", params
                ).fetchall()
            ],
            dtype=object,
        )
        if areas.size == 0:
            raise DataError("dim_area has no areas for this filter / no hay áreas")
        idx = {a: i for i, a in enumerate(areas)}  # metadata-sized
        uniq, inv = np.unique(inc.area_code.astype(str), return_inverse=True)
        pos = np.array([idx.get(a, -1) for a in uniq], dtype=np.int64)
        per = np.bincount(inv, minlength=uniq.size)
        counts = np.zeros(areas.size)
        ok = pos >= 0
        counts[pos[ok]] = per[ok]
    else:
        _require(inc, 1, "concentration")
        x, y = inc.x[inc.located], inc.y[inc.located]
        grid = grid_for(x, y, cell)
        _check_cells(grid)
        counts = grid.counts(x, y)
    step("concentration")
    conc = concentration(counts)
    ok = inc.located
    place = np.round(inc.x[ok]).astype(np.int64) * 10_000_000 + np.round(inc.y[ok]).astype(np.int64)
    rep = repeat_victimization(place, inc.day_number()[ok], repeat_days)
    return ConcentrationReport(unit, conc, rep, inc.n_without_location, flt)


@dataclass(frozen=True, eq=False)
class TimeReport:
    """Time patterns of a selection: aoristic week heat map and the monthly series.

    Months in which no source of the fact table delivered data are "no data" (NaN), not 0.
    """

    heatmap: WeekHeatmap
    series: TimeSeriesAnalysis | None
    months: tuple[str, ...]
    monthly_counts: np.ndarray
    note: str
    filter: IncidentFilter

    def to_dict(self) -> dict[str, Any]:
        return {
            "heatmap": self.heatmap.to_dict(),
            "series": self.series.to_dict() if self.series else None,
            "months": list(self.months),
            "monthly_counts": [
                None if not np.isfinite(v) else float(v) for v in self.monthly_counts
            ],
            "note": self.note,
            "filter": self.filter.to_dict(),
        }


def time_report(
    con: duckdb.DuckDBPyConnection,
    flt: IncidentFilter,
    *,
    alpha: float = 0.01,
    progress: Progress | None = None,
) -> TimeReport:
    """Aoristic day × hour heat map (day-only incidents over the 24 hours of their day), monthly
    counts, STL and Poisson anomalies."""
    step = progress or (lambda _msg: None)
    step("selecting incidents")
    inc = load_incidents(con, flt)
    if inc.n == 0:
        raise DataError("no incidents match the filters / ningún incidente cumple los filtros")
    step("aoristic heat map")
    # Known only to the day: spread over the 24 hours of that day (Ratcliffe 2000), including
    # the placeholder midnights of sources that write 00:00 for "time not known".
    precision = np.asarray(inc.precision, dtype=object).copy()
    precision[midnight_placeholders(inc.occurred_from, precision, inc.source_code)] = "day"
    hm = week_heatmap(inc.occurred_from, inc.occurred_to, precision=precision)
    step("monthly series")
    table = {"incident": "fact_incident", "offence": "fact_offence"}[flt.table]
    where, params = flt.where()
    rows = con.execute(
        f"SELECT period_month, count(*) FROM {table} WHERE {where} GROUP BY 1 ORDER BY 1", params
    ).fetchall()
    got = {r[0]: r[1] for r in rows}
    src_where = "source_code IN (SELECT DISTINCT source_code FROM " + table + ")"
    src_params: list[Any] = []
    if flt.sources:
        src_where = f"source_code IN ({', '.join('?' for _ in flt.sources)})"
        src_params = list(flt.sources)
    if flt.source_kind:
        src_where += " AND source_kind = ?"
        src_params.append(flt.source_kind)
    delivered = con.execute(
        f"SELECT period_month, bool_or(delivered) FROM source_month WHERE {src_where} "
        "GROUP BY 1 ORDER BY 1",
        src_params,
    ).fetchall()
    months = [m for m, _ in delivered]
    if flt.date_from:
        months = [m for m in months if m >= flt.date_from.replace(day=1)]
    if flt.date_to:
        months = [m for m in months if m <= flt.date_to]
    has = dict(delivered)
    counts = np.array([float(got.get(m, 0)) if has.get(m) else np.nan for m in months], dtype=float)
    labels = tuple(m.strftime("%Y-%m") for m in months)
    series = None
    note = ""
    try:
        step("STL decomposition")
        series = analyse_series(counts, labels, period=12, alpha=alpha)
    except ValueError as exc:
        note = str(exc)
    return TimeReport(hm, series, labels, counts, note, flt)
