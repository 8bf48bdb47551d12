"""Home page and area pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from talaia.errors import TalaiaError
from talaia.web.charts import figure, to_json
from talaia.web.maps import MapArea, svg_choropleth
from talaia.web.pages.render import render
from talaia.web.portal import DISCLOSURE_NOTES, PortalDep, PrincipalDep, TranslatorDep
from talaia.web.services import areas as area_service
from talaia.web.services import indicators as ind

router = APIRouter()


@router.get("/")
def home(
    request: Request, portal: PortalDep, principal: PrincipalDep, t: TranslatorDep
) -> Response:
    headline = ind.headline(portal, principal, t.lang)
    level = headline.map_level if headline else 2
    shown = area_service.list_areas(portal.engine, level=level, with_geometry=True)[0]
    values = headline.map_values if headline else {}
    map_svg = (
        svg_choropleth(
            [MapArea(a.code, a.name, a.geometry) for a in shown],
            values,
            t,
            title=t.gettext("Homicide rate per 100,000 by area"),
            notes={
                a: t.gettext(DISCLOSURE_NOTES[d])
                for a, d in ((headline.map_disclosure or {}) if headline else {}).items()
            },
        )
        if shown
        else None
    )
    trend = None
    if headline is not None and headline.trend is not None:
        trend = to_json(figure(headline.trend, "", t, t.gettext("Homicide rate"), 1))
    return render(
        request,
        portal,
        principal,
        t,
        "home.html",
        active="home",
        title=t.gettext("Home"),
        map_svg=map_svg,
        headline=headline,
        trend=trend,
        engine_missing=ind.engine_missing(),
    )


@router.get("/areas")
def areas_index(
    request: Request, portal: PortalDep, principal: PrincipalDep, t: TranslatorDep
) -> Response:
    items, _ = area_service.list_areas(portal.engine)
    children: dict[str | None, list] = {}
    for a in items:
        children.setdefault(a.parent_code, []).append(a)
    return render(
        request,
        portal,
        principal,
        t,
        "areas.html",
        active="areas",
        title=t.gettext("Areas"),
        children=children,
    )


@router.get("/areas/{code}")
def area_profile(
    code: str, request: Request, portal: PortalDep, principal: PrincipalDep, t: TranslatorDep
) -> Response:
    area = area_service.get_area(portal.engine, code, with_geometry=True)
    parents = area_service.ancestors(portal.engine, code)
    kids, _ = area_service.list_areas(portal.engine, parent_code=code, with_geometry=True)
    shapes = kids or [area]
    profile = ind.area_profile(portal, principal, t.lang, area, parents)
    values: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    if profile is not None and kids:
        try:  # the homicide rate of the areas within, for the profile's year
            tab = ind.values(
                portal,
                principal,
                "homicide_rate",
                area=code,
                period=profile[0],
                level=area.level + 1,
            )
        except TalaiaError:
            tab = None
        if tab is not None:
            for a, v, d in zip(
                tab.column("area_code").to_pylist(),
                tab.column("value").to_pylist(),
                tab.column("disclosure").to_pylist(),
                strict=True,
            ):
                values[a] = v
                if d != "ok":
                    notes[a] = t.gettext(DISCLOSURE_NOTES[d])
    title = area.name
    if values:
        title = f"{t.gettext('Homicide rate per 100,000 by area')}, {profile[0]}"
    map_svg = svg_choropleth(
        [MapArea(a.code, a.name, a.geometry) for a in shapes], values, t, title=title, notes=notes
    )
    return render(
        request,
        portal,
        principal,
        t,
        "area.html",
        active="areas",
        title=area.name,
        area=area,
        parents=parents,
        kids=kids,
        map_svg=map_svg,
        profile=profile,
        engine_missing=ind.engine_missing(),
    )
