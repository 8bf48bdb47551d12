"""Sources, batches, quarantined rows (administrators and analysts: all; stewards: own agency)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from talaia.web.api.schemas import (
    BatchOut,
    PageOut,
    PageParams,
    QuarantineCorrection,
    QuarantineOut,
    SourceOut,
    StatusChange,
    page_out,
    page_params,
)
from talaia.web.portal import PortalDep, PrincipalDep
from talaia.web.services import data as data_service

router = APIRouter(tags=["data"])
Page = Annotated[PageParams, Depends(page_params)]


@router.get("/sources", response_model=list[SourceOut])
def list_sources(portal: PortalDep, principal: PrincipalDep) -> list:
    return data_service.list_sources(portal.engine, principal)


@router.get("/batches", response_model=PageOut[BatchOut])
def list_batches(
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    page: Page,
    source: str | None = None,
    status: str | None = None,
) -> dict:
    p = data_service.list_batches(
        portal.engine,
        principal,
        source_code=source,
        status=status,
        offset=page.offset,
        limit=page.limit,
    )
    return page_out(request, list(p.items), p.total, p.offset, p.limit)


@router.get("/batches/{batch_id}", response_model=BatchOut)
def get_batch(batch_id: int, portal: PortalDep, principal: PrincipalDep):
    return data_service.get_batch(portal.engine, principal, batch_id)


@router.post("/batches/{batch_id}/status", response_model=BatchOut)
def change_status(batch_id: int, body: StatusChange, portal: PortalDep, principal: PrincipalDep):
    """Change a batch's status; a change that adds the batch to or removes it from the counted
    batches refreshes the warehouse at once (503 when it cannot: the status is saved)."""
    return data_service.set_batch_status(
        portal.engine,
        principal,
        batch_id,
        body.status,
        warehouse_path=portal.settings.resolved_warehouse_path(),
    )


@router.get("/batches/{batch_id}/quarantine", response_model=PageOut[QuarantineOut])
def list_quarantine(
    batch_id: int,
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    page: Page,
    status: str | None = None,
) -> dict:
    p = data_service.list_quarantine(
        portal.engine, principal, batch_id, status=status, offset=page.offset, limit=page.limit
    )
    return page_out(request, list(p.items), p.total, p.offset, p.limit)


@router.patch("/quarantine/{row_id}", response_model=QuarantineOut)
def correct_row(
    row_id: int, body: QuarantineCorrection, portal: PortalDep, principal: PrincipalDep
):
    return data_service.correct_quarantine_row(portal.engine, principal, row_id, body.fields)
