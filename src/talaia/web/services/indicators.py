"""The portal's view of the indicator engine (:mod:`talaia.indicators`).

Until the engine provides ``catalogue()`` and ``compute()``, the pages say so instead of showing
anything invented; :func:`engine_missing` tells them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from talaia.web.portal import Portal
    from talaia.web.services.areas import AreaInfo
    from talaia.web.services.common import Principal


def _engine() -> Any | None:
    try:
        import talaia.indicators as engine
    except ImportError:  # pragma: no cover
        return None
    if not hasattr(engine, "catalogue") or not hasattr(engine, "compute"):
        return None
    return engine


def engine_missing() -> bool:
    return _engine() is None


@dataclass(frozen=True, slots=True)
class Headline:
    cards: tuple[Any, ...]
    map_values: dict[str, float | None]


def headline(portal: Portal, principal: Principal, lang: str) -> Headline | None:
    """Headline indicators for the home page; None while the indicator engine is missing."""
    if _engine() is None:
        return None
    return None


def area_profile(
    portal: Portal, principal: Principal, lang: str, area: AreaInfo, parents: list[AreaInfo]
) -> Any | None:
    if _engine() is None:
        return None
    return None
