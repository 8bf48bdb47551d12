"""Crime analysis endpoints (administrators and analysts): hotspots, near-repeat (Knox),
concentration and time patterns of the incidents a filter selects.

Filters common to every endpoint: ``iccs`` (an ICCS code at any level), ``area`` (an area code at
any level), ``date_from`` / ``date_to`` (inclusive dates of occurrence) or ``period`` (``2023``,
``2023-04``, ``2023-01..2023-06``) and ``source_kind`` (``police`` by default: one kind of
source at a time, since the police and the forensic service record the same deaths; the kind
analysed is in every answer, under ``filter.source_kind``). A selection of more incidents than
the server allows is refused (422) with a message to narrow the filter. Seeds are fixed: the
same request gives the same answer.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.exceptions import HTTPException

from talaia.analysis.service import IncidentFilter
from talaia.errors import UserInputError
from talaia.web.portal import Portal, PortalDep, PrincipalDep
from talaia.web.services import analysis
from talaia.web.services.common import Principal

router = APIRouter(prefix="/analysis", tags=["crime analysis"])

Iccs = Annotated[str | None, Query(description="ICCS code at any level, e.g. 0501")]
Area = Annotated[str | None, Query(description="Area code at any level")]
DateFrom = Annotated[date | None, Query(description="First date of occurrence (inclusive)")]
DateTo = Annotated[date | None, Query(description="Last date of occurrence (inclusive)")]
Period = Annotated[
    str | None, Query(description="YYYY, YYYY-MM, YYYY-MM-DD or FROM..TO (instead of dates)")
]
Kind = Annotated[
    str | None,
    Query(description="Kind of source: police (default), forensic, ... (one kind at a time)"),
]
Perms = Annotated[
    int, Query(ge=9, le=9999, description="Monte Carlo permutations (capped by the server)")
]


def _check(principal: Principal) -> None:
    """403 for everyone but analysts and administrators (incident-level data)."""
    if not principal.can_analyse():
        raise HTTPException(403, analysis.FORBIDDEN)


def _filter(
    portal: Portal,
    iccs: str | None,
    area: str | None,
    date_from: date | None,
    date_to: date | None,
    period: str | None,
    source_kind: str | None,
) -> IncidentFilter:
    kind = analysis.resolve_kind(portal, source_kind)
    return analysis.make_filter(iccs, area, date_from, date_to, period, kind)


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise UserInputError(f"{what}: comma-separated numbers") from exc


@router.get("/hotspots")
def hotspots(
    portal: PortalDep,
    principal: PrincipalDep,
    iccs: Iccs = None,
    area: Area = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    period: Period = None,
    source_kind: Kind = None,
    method: Annotated[str, Query(description="gi_star (grid Getis-Ord Gi*) or kde")] = "gi_star",
    cell: Annotated[
        float | None, Query(description="Grid cell size (m); default chosen from the extent")
    ] = None,
    permutations: Perms = 99,
    bandwidth: Annotated[float | None, Query(description="KDE bandwidth (m); default rule")] = None,
    fdr_basis: Annotated[
        str,
        Query(
            description="p-values of the FDR correction: sim (permutations), norm (normal) or "
            "auto (sim when permutations can reach significance on this grid, else norm)"
        ),
    ] = "auto",
) -> dict[str, Any]:
    """Hotspot cells as a GeoJSON FeatureCollection (WGS84): Gi* z, p-values, FDR q-values and
    hot/cold labels, or kernel density (incidents per km²); metadata under ``talaia``."""
    _check(principal)
    flt = _filter(portal, iccs, area, date_from, date_to, period, source_kind)
    return analysis.hotspots(
        portal,
        flt,
        method=method,
        cell=cell,
        permutations=permutations,
        bandwidth=bandwidth,
        fdr_basis=fdr_basis,
    ).geojson


@router.get("/near-repeat")
def near_repeat(
    portal: PortalDep,
    principal: PrincipalDep,
    iccs: Iccs = None,
    area: Area = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    period: Period = None,
    source_kind: Kind = None,
    spatial_bands: Annotated[str, Query(description="Upper bounds of spatial bands (m)")] = (
        "100,200,400,800"
    ),
    temporal_bands: Annotated[
        str, Query(description="Upper bounds of temporal bands (days)")
    ] = "7,14,30,60",
    permutations: Perms = 99,
    convention: Annotated[str, Query(description="closed or nrc (Near Repeat Calculator)")] = (
        "closed"
    ),
    metric: Annotated[str, Query(description="euclidean or manhattan")] = "euclidean",
) -> dict[str, Any]:
    """The Knox table: observed pairs, expected (mean, median of permutations), Knox ratios
    and p-values per spatial × temporal band."""
    _check(principal)
    flt = _filter(portal, iccs, area, date_from, date_to, period, source_kind)
    res = analysis.near_repeat(
        portal,
        flt,
        spatial_bands=_floats(spatial_bands, "spatial_bands"),
        temporal_bands=_floats(temporal_bands, "temporal_bands"),
        permutations=permutations,
        convention=convention,
        metric=metric,
    )
    return res.to_dict()


@router.get("/concentration")
def concentration(
    portal: PortalDep,
    principal: PrincipalDep,
    iccs: Iccs = None,
    area: Area = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    period: Period = None,
    source_kind: Kind = None,
    unit: Annotated[str, Query(description="area (every lowest-level area) or cell")] = "area",
    cell: Annotated[float, Query(description="Grid cell size (m) with unit=cell")] = 250.0,
) -> dict[str, Any]:
    """Share of incidents in the top places, Lorenz curve, Gini, generalized Gini, repeats."""
    _check(principal)
    flt = _filter(portal, iccs, area, date_from, date_to, period, source_kind)
    return analysis.concentration(portal, flt, unit=unit, cell=cell).to_dict()


@router.get("/time")
def time_patterns(
    portal: PortalDep,
    principal: PrincipalDep,
    iccs: Iccs = None,
    area: Area = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    period: Period = None,
    source_kind: Kind = None,
) -> dict[str, Any]:
    """Day-of-week × hour heat map (aoristic), monthly counts (months without data null), STL
    trend and seasonality, expected counts and Poisson anomalies."""
    _check(principal)
    flt = _filter(portal, iccs, area, date_from, date_to, period, source_kind)
    return analysis.time_patterns(portal, flt).to_dict()
