"""Indicator explorer: catalogue, one indicator's chart, map and table, downloads."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from talaia.errors import NotFoundError, UserInputError
from talaia.web.charts import figure as make_figure
from talaia.web.charts import label as _label
from talaia.web.charts import to_json
from talaia.web.maps import MapArea, svg_choropleth
from talaia.web.pages.render import render
from talaia.web.portal import DISCLOSURE_NOTES, Portal, PortalDep, PrincipalDep, TranslatorDep
from talaia.web.services import areas as area_service
from talaia.web.services import indicators as ind_service
from talaia.web.services.common import Principal

router = APIRouter()
GRAINS = ("year", "quarter", "month")


@dataclass(frozen=True, slots=True)
class Query:
    """The explorer's selection, normalized."""

    area: str
    grain: str
    start: str
    end: str
    by: str

    @property
    def period(self) -> str:
        return f"{self.start}..{self.end}"

    def params(self) -> str:
        from urllib.parse import urlencode

        return urlencode(
            {
                "area": self.area,
                "grain": self.grain,
                "start": self.start,
                "end": self.end,
                "by": self.by,
            }
        )


def _fmt(d, grain: str) -> str:
    if grain == "year":
        return str(d.year)
    if grain == "quarter":
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    return f"{d.year}-{d.month:02d}"


def _query(
    portal: Portal,
    indicator,
    area: str,
    grain: str,
    start: str,
    end: str,
    by: str,
) -> Query:
    grain = (
        grain
        if grain in GRAINS
        else (indicator.preferred_period if indicator.preferred_period in GRAINS else "year")
    )
    span = ind_service.data_span(portal)
    if span is None:
        raise NotFoundError("no warehouse has been built yet: load data first")
    if by and by not in indicator.disaggregations:
        raise UserInputError(f"{indicator.id} cannot be broken down by {by}")
    return Query(
        area or "", grain, start or _fmt(span.first, grain), end or _fmt(span.last, grain), by or ""
    )


@router.get("/indicators")
def catalogue_page(
    request: Request, portal: PortalDep, principal: PrincipalDep, t: TranslatorDep
) -> Response:
    items = ind_service.catalogue() if not ind_service.engine_missing() else ()
    return render(
        request,
        portal,
        principal,
        t,
        "indicators.html",
        active="indicators",
        title=t.gettext("Indicators"),
        items=items,
    )


def _compute(portal: Portal, principal: Principal, indicator_id: str, q: Query) -> pa.Table:
    return ind_service.values(
        portal, principal, indicator_id, area=q.area or None, period=q.period, by=q.by or None
    )


@router.get("/indicators/{indicator_id}")
def explorer(
    indicator_id: str,
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    t: TranslatorDep,
    area: str = "",
    grain: str = "",
    start: str = "",
    end: str = "",
    by: str = "",
) -> Response:
    indicator = ind_service.get(indicator_id)
    q = _query(portal, indicator, area, grain, start, end, by)
    table = _compute(portal, principal, indicator_id, q)
    name = indicator.name.es if t.lang == "es" else indicator.name.en
    figure = make_figure(table, q.by, t, name, indicator.decimals)
    # map: the areas one level below the selection, for the last period of the range
    level = 1
    if q.area:
        level = area_service.get_area(portal.engine, q.area).level + 1
    map_svg = None
    if level <= 3:
        m = ind_service.values(
            portal, principal, indicator_id, area=q.area or None, period=q.end, level=level
        )
        shapes, _ = area_service.list_areas(portal.engine, level=level, with_geometry=True)
        inside = set(m.column("area_code").to_pylist())
        map_svg = svg_choropleth(
            [MapArea(a.code, a.name, a.geometry) for a in shapes if a.code in inside],
            dict(
                zip(m.column("area_code").to_pylist(), m.column("value").to_pylist(), strict=True)
            ),
            t,
            title=f"{name}, {q.end}",
            digits=indicator.decimals,
            notes={
                a: t.gettext(DISCLOSURE_NOTES[d])
                for a, d in zip(
                    m.column("area_code").to_pylist(),
                    m.column("disclosure").to_pylist(),
                    strict=True,
                )
                if d != "ok"
            },
            link=f"/indicators/{indicator_id}?area={{code}}&grain={q.grain}&start={q.start}"
            f"&end={q.end}",
        )
    all_areas, _ = area_service.list_areas(portal.engine)
    return render(
        request,
        portal,
        principal,
        t,
        "explorer.html",
        active="indicators",
        title=name,
        ind=indicator,
        name=name,
        q=q,
        rows=table.to_pylist(),
        figure=to_json(figure),
        map_svg=map_svg,
        areas=all_areas,
        grains=GRAINS,
        label=lambda c, v: _label(t, c, v),
    )


@router.get("/indicators/{indicator_id}/data.{fmt}")
def download(
    indicator_id: str,
    fmt: str,
    portal: PortalDep,
    principal: PrincipalDep,
    area: str = "",
    grain: str = "",
    start: str = "",
    end: str = "",
    by: str = "",
) -> Response:
    """The explorer's table as CSV, XLSX (with a metadata sheet) or JSON."""
    from talaia.indicators.export import to_csv, to_xlsx

    indicator = ind_service.get(indicator_id)
    q = _query(portal, indicator, area, grain, start, end, by)
    table = _compute(portal, principal, indicator_id, q)
    stem = f"{indicator_id}_{q.area or 'national'}_{q.start}_{q.end}"
    if fmt == "json":
        body = {
            "indicator": indicator_id,
            "version": indicator.version,
            "area": q.area or None,
            "period": q.period,
            "by": q.by or None,
            "rows": [
                {k: (str(v) if k == "period" else v) for k, v in r.items()}
                for r in table.to_pylist()
            ],
        }
        return Response(
            json.dumps(body, ensure_ascii=False, default=str),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{stem}.json"'},
        )
    if fmt not in ("csv", "xlsx"):
        raise NotFoundError(f"no download format {fmt!r}: csv, xlsx or json")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stem}.{fmt}"
        table = table.set_column(
            table.column_names.index("period"),
            "period",
            pa.array([str(p) for p in table.column("period").to_pylist()]),
        )
        (to_csv(table, path) if fmt == "csv" else to_xlsx(table, indicator, path))
        data = path.read_bytes()
    media = (
        "text/csv; charset=utf-8"
        if fmt == "csv"
        else ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'},
    )
