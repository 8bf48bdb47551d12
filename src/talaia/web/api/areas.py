"""Areas and their GeoJSON."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from talaia.web.api.schemas import AreaOut, PageOut, PageParams, page_out, page_params
from talaia.web.portal import PortalDep
from talaia.web.services import areas as area_service

router = APIRouter(tags=["areas"])


def _out(a: area_service.AreaInfo, geometry: bool) -> AreaOut:
    out = AreaOut.model_validate(a)
    out.geometry = json.loads(a.geometry) if geometry and a.geometry else None
    return out


@router.get("/areas", response_model=PageOut[AreaOut])
def list_areas(
    request: Request,
    portal: PortalDep,
    page: Annotated[PageParams, Depends(page_params)],
    level: int | None = None,
    parent: str | None = None,
    geometry: bool = False,
) -> dict:
    items, total = area_service.list_areas(
        portal.engine,
        level=level,
        parent_code=parent,
        with_geometry=geometry,
        offset=page.offset,
        limit=page.limit,
    )
    return page_out(request, [_out(a, geometry) for a in items], total, page.offset, page.limit)


@router.get(
    "/areas.geojson",
    response_class=JSONResponse,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def areas_geojson(portal: PortalDep, level: int | None = Query(None, ge=1)) -> JSONResponse:
    """The areas as a GeoJSON FeatureCollection (WGS84)."""
    items, _ = area_service.list_areas(portal.engine, level=level, with_geometry=True)
    features = [
        {
            "type": "Feature",
            "id": a.code,
            "properties": {
                "code": a.code,
                "name": a.name,
                "level": a.level,
                "parent_code": a.parent_code,
            },
            "geometry": json.loads(a.geometry) if a.geometry else None,
        }
        for a in items
    ]
    return JSONResponse(
        {"type": "FeatureCollection", "features": features}, media_type="application/geo+json"
    )


@router.get("/areas/{code}", response_model=AreaOut)
def get_area(code: str, portal: PortalDep, geometry: bool = True) -> AreaOut:
    return _out(area_service.get_area(portal.engine, code, with_geometry=geometry), geometry)
