"""The ICCS classification (package data, English and Spanish titles)."""

from __future__ import annotations

from fastapi import APIRouter

from talaia.web.api.schemas import IccsOut
from talaia.web.services import classification as cls

router = APIRouter(tags=["iccs"])


def _out(c) -> IccsOut:
    return IccsOut(
        code=c.code, level=c.level, parent=c.parent, label_en=c.label_en, label_es=c.label_es
    )


@router.get("/iccs", response_model=list[IccsOut])
def list_iccs(parent: str | None = None, q: str | None = None) -> list[IccsOut]:
    """Children of ``parent`` (level-1 sections when omitted), or a text search with ``q``."""
    cats = cls.iccs_search(q) if q else cls.iccs_children(parent)
    return [_out(c) for c in cats]


@router.get("/iccs/{code}", response_model=IccsOut)
def get_iccs(code: str) -> IccsOut:
    return _out(cls.iccs_category(code))
