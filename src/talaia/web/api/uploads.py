"""Uploads: a file for a source, ingested in the background; poll its state."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel

from talaia.web.portal import PortalDep, PrincipalDep
from talaia.web.services import uploads

router = APIRouter(tags=["uploads"])


class UploadOut(BaseModel):
    id: str
    source_code: str
    file_name: str
    size: int
    state: str
    rows_done: int
    outcome: str | None
    batch_id: int | None
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_duplicate: int
    error: str | None


def _out(job: uploads.UploadJob) -> UploadOut:
    return UploadOut(**{k: getattr(job, k) for k in UploadOut.model_fields})


@router.post("/uploads", response_model=UploadOut, status_code=202)
async def create_upload(
    portal: PortalDep,
    principal: PrincipalDep,
    source: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
    period: Annotated[str | None, Form()] = None,
) -> UploadOut:
    """Start ingesting ``file`` for ``source``; poll ``GET /uploads/{id}``."""
    data = await file.read()
    job = uploads.start_upload(
        portal.engine,
        portal.settings.data_dir,
        principal,
        source,
        file.filename or "upload",
        data,
        period,
        max_bytes=portal.web.max_upload_bytes,
    )
    return _out(job)


@router.get("/uploads/{job_id}", response_model=UploadOut)
def get_upload(job_id: str, principal: PrincipalDep) -> UploadOut:
    return _out(uploads.get_job(principal, job_id))
