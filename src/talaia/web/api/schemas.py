"""Pydantic models of the API's payloads (they make the OpenAPI description)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}, "description": desc}
    for code, desc in (
        (401, "Not authenticated"),
        (403, "Forbidden"),
        (404, "Not found"),
        (422, "Invalid input"),
        (429, "Too many requests"),
    )
}


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int
    next: str | None = Field(
        default=None,
        description="URL of the next page, if any: relative (path and query), or absolute from "
        "TALAIA_WEB_BASE_URL when it is set",
    )


class PageParams(BaseModel):
    offset: int
    limit: int


def page_params(offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=500)) -> PageParams:
    return PageParams(offset=offset, limit=limit)


def page_out(request: Request, items: list, total: int, offset: int, limit: int) -> dict:
    """A page of a listing; ``next`` is never built from the request's ``Host`` header."""
    nxt = None
    if offset + limit < total:
        url = request.url.include_query_params(offset=offset + limit, limit=limit)
        nxt = url.path + "?" + url.query
        base = request.app.state.portal.web.base_url
        if base:
            nxt = base + nxt
    return {"items": items, "total": total, "offset": offset, "limit": limit, "next": nxt}


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MeOut(_Out):
    authenticated: bool
    username: str | None
    role: str
    agency_code: str | None
    via: str


class AreaOut(_Out):
    code: str
    name: str
    level: int
    parent_code: str | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    geometry: dict | None = None


class IccsOut(BaseModel):
    code: str
    level: int
    parent: str | None
    label_en: str
    label_es: str


class SourceOut(_Out):
    code: str
    agency_code: str
    agency_name: str
    kind: str
    name: str
    crosswalk_code: str | None
    expected_from: dt.date | None
    expected_to: dt.date | None
    batches: int
    last_period: dt.date | None


class BatchOut(_Out):
    id: int
    source_code: str
    agency_code: str
    file_name: str | None
    file_hash: str | None
    period_start: dt.date
    period_end: dt.date
    status: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_duplicate: int
    received_at: dt.datetime | None
    loaded_at: dt.datetime | None
    loaded_by: str | None
    supersedes_id: int | None
    report: Any = None


class QuarantineOut(_Out):
    id: int
    batch_id: int
    row_number: int | None
    raw: Any
    reasons: Any
    status: str


class QuarantineCorrection(BaseModel):
    fields: dict[str, str | None] = Field(description="raw field name -> corrected value")


class StatusChange(BaseModel):
    status: str


class UserOut(_Out):
    id: int
    username: str
    full_name: str | None
    role: str
    agency_code: str | None
    active: bool
    created_at: dt.datetime | None


class UserIn(BaseModel):
    username: str
    password: str
    role: str
    agency_code: str | None = None
    full_name: str | None = None


class TokenIn(BaseModel):
    name: str = Field(description="Name of the token (and of the new client account with role)")
    role: str | None = Field(
        None, description="Create a client account api:<name> with this role for the token"
    )
    agency_code: str | None = None
    username: str | None = Field(
        None, description="Issue the token to this existing account (default: yourself)"
    )
    expires_in_days: int | None = Field(None, ge=1, description="Refused after this many days")


class TokenInfoOut(_Out):
    id: int
    user_id: int
    username: str
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenOut(BaseModel):
    token: str = Field(description="Shown once; only its SHA-256 is stored")
    info: TokenInfoOut
    client: UserOut
