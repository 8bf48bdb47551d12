"""The area hierarchy from the store (names, levels, parents, GeoJSON geometry)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from talaia.errors import NotFoundError
from talaia.store.models import Area


@dataclass(frozen=True, slots=True)
class AreaInfo:
    code: str
    name: str
    level: int
    parent_code: str | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    geometry: str | None = None


def list_areas(
    engine: Engine,
    *,
    level: int | None = None,
    parent_code: str | None = None,
    with_geometry: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[AreaInfo], int]:
    """Areas ordered by level and code, and how many match in all."""
    cols = [Area.code, Area.name, Area.level, Area.parent_code, Area.valid_from, Area.valid_to]
    if with_geometry:
        cols.append(Area.geometry)
    stmt = select(*cols)
    if level is not None:
        stmt = stmt.where(Area.level == level)
    if parent_code is not None:
        stmt = stmt.where(Area.parent_code == parent_code)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        stmt = stmt.order_by(Area.level, Area.code).offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = conn.execute(stmt).all()
    return [AreaInfo(*r) for r in rows], int(total)


def get_area(engine: Engine, code: str, *, with_geometry: bool = False) -> AreaInfo:
    cols = [Area.code, Area.name, Area.level, Area.parent_code, Area.valid_from, Area.valid_to]
    if with_geometry:
        cols.append(Area.geometry)
    with engine.connect() as conn:
        row = conn.execute(select(*cols).where(Area.code == code)).first()
    if row is None:
        raise NotFoundError(f"area {code!r} not found")
    return AreaInfo(*row)


def ancestors(engine: Engine, code: str) -> list[AreaInfo]:
    """The area's parents, country first (not the area itself)."""
    out: list[AreaInfo] = []
    area = get_area(engine, code)
    seen = {code}
    while area.parent_code and area.parent_code not in seen:
        seen.add(area.parent_code)
        area = get_area(engine, area.parent_code)
        out.append(area)
    return out[::-1]
