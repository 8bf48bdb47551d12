"""Indicators: the catalogue and values with filters (after disclosure control)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from talaia.web.api.schemas import PageOut, PageParams, page_out, page_params
from talaia.web.portal import PortalDep, PrincipalDep
from talaia.web.services import indicators as ind_service

router = APIRouter(tags=["indicators"])


class IndicatorOut(BaseModel):
    id: str
    version: int
    name_en: str
    name_es: str
    definition_en: str
    definition_es: str
    method_en: str
    method_es: str
    unit: str
    counting_unit: str
    decimals: int
    disaggregations: list[str]
    preferred_period: str
    sdg: str | None
    sdg_series: str | None


class ValueOut(BaseModel):
    """One value. ``disclosure``: ``ok``, ``unpublished`` or ``suppressed`` (figures NULL)."""

    model_config = {"extra": "allow"}
    indicator_id: str
    period: str
    area_code: str
    numerator: float | None
    denominator: float | None
    value: float | None
    ci_low: float | None
    ci_high: float | None
    unit: str
    coverage: str
    completeness: float | None
    disclosure: str


def _out(i: Any) -> IndicatorOut:
    return IndicatorOut(
        id=i.id,
        version=i.version,
        name_en=i.name.en,
        name_es=i.name.es,
        definition_en=i.definition.en,
        definition_es=i.definition.es,
        method_en=i.method_note.en,
        method_es=i.method_note.es,
        unit=i.unit,
        counting_unit=i.counting_unit,
        decimals=i.decimals,
        disaggregations=list(i.disaggregations),
        preferred_period=i.preferred_period,
        sdg=i.reference.sdg,
        sdg_series=i.reference.sdg_series,
    )


@router.get("/indicators", response_model=list[IndicatorOut])
def list_indicators() -> list[IndicatorOut]:
    return [_out(i) for i in ind_service.catalogue()]


@router.get("/indicators/{indicator_id}", response_model=IndicatorOut)
def get_indicator(indicator_id: str) -> IndicatorOut:
    return _out(ind_service.get(indicator_id))


@router.get("/indicators/{indicator_id}/values", response_model=PageOut[ValueOut])
def indicator_values(
    indicator_id: str,
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    page: Annotated[PageParams, Depends(page_params)],
    period: Annotated[
        str, Query(description="2023, 2023-Q2, 2023-05, R12:2023-05, or a range 2019..2023")
    ] = "",
    area: Annotated[str | None, Query(description="area code; empty = the country")] = None,
    by: Annotated[str | None, Query(description="a disaggregation of the indicator")] = None,
    level: Annotated[int | None, Query(ge=0, le=3, description="output area level")] = None,
    compare: Literal["previous", "year_earlier"] | None = None,
) -> dict:
    """Values with their 95% interval and coverage. Figures the caller may not see are NULL
    with ``disclosure`` saying why (never 0)."""
    table = ind_service.values(
        portal,
        principal,
        indicator_id,
        area=area,
        period=period,
        by=by,
        level=level,
        compare=compare,
    )
    rows = table.slice(page.offset, page.limit).to_pylist()
    for r in rows:
        r["period"] = str(r["period"])
    return page_out(request, rows, table.num_rows, page.offset, page.limit)
