"""Area hierarchy helpers: parents, children, paths to the root and roll-up of codes.

Areas form a tree (level 1 = first-level divisions such as regions, level 2 = provinces,
level 3 = municipalities). The hierarchy is held as plain arrays so that many codes can be rolled
up at once with NumPy (``np.searchsorted``) rather than a Python loop per record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np


@dataclass(frozen=True)
class AreaHierarchy:
    """An immutable tree of areas.

    Attributes
    ----------
    codes
        Area codes, sorted.
    levels
        Level of each area (1 = top).
    parents
        Parent code of each area (``None`` at level 1).

    Examples
    --------
    >>> h = AreaHierarchy.from_records([("R1", 1, None), ("R1P1", 2, "R1"), ("R1P1M1", 3, "R1P1")])
    >>> h.path("R1P1M1")
    ('R1', 'R1P1', 'R1P1M1')
    """

    codes: tuple[str, ...]
    levels: tuple[int, ...]
    parents: tuple[str | None, ...]
    _index: Mapping[str, int] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_records(cls, rows: Iterable[tuple[str, int, str | None]]) -> AreaHierarchy:
        """Build from ``(code, level, parent_code)`` rows; checks that the tree is consistent.

        Raises
        ------
        ValueError
            On a duplicate code, a parent that does not exist, or a parent whose level is not
            one less than its child's.
        """
        rows = sorted(rows, key=lambda r: r[0])
        codes = tuple(r[0] for r in rows)
        if len(set(codes)) != len(codes):
            dup = sorted({c for c in codes if codes.count(c) > 1})
            raise ValueError(f"duplicate area codes: {dup[:5]}")
        index = {c: i for i, c in enumerate(codes)}
        levels = tuple(int(r[1]) for r in rows)
        parents = tuple(r[2] if r[2] not in ("", None) else None for r in rows)
        for code, level, parent in zip(codes, levels, parents, strict=True):
            if parent is None:
                if level != 1:
                    raise ValueError(f"area {code}: level {level} without a parent")
                continue
            if parent not in index:
                raise ValueError(f"area {code}: parent {parent} does not exist")
            if levels[index[parent]] != level - 1:
                raise ValueError(f"area {code}: parent {parent} is not at level {level - 1}")
        return cls(codes, levels, parents, MappingProxyType(index))

    def __contains__(self, code: object) -> bool:
        return code in self._index

    def level(self, code: str) -> int:
        """Level of ``code`` (raises ``KeyError`` if unknown)."""
        return self.levels[self._index[code]]

    def parent(self, code: str) -> str | None:
        """Parent of ``code``, ``None`` at the top level."""
        return self.parents[self._index[code]]

    def path(self, code: str) -> tuple[str, ...]:
        """Codes from the top level down to ``code`` inclusive."""
        out = [code]
        parent = self.parent(code)
        while parent is not None:
            out.append(parent)
            parent = self.parent(parent)
        return tuple(reversed(out))

    def children(self, code: str | None) -> tuple[str, ...]:
        """Direct children of ``code`` (``None`` gives the top-level areas), sorted."""
        if code is not None and code not in self._index:
            raise KeyError(code)
        return tuple(c for c, p in zip(self.codes, self.parents, strict=True) if p == code)

    def at_level(self, level: int) -> tuple[str, ...]:
        """All codes at ``level``, sorted."""
        return tuple(c for c, lv in zip(self.codes, self.levels, strict=True) if lv == level)

    def ancestor(self, code: str, level: int) -> str:
        """The ancestor of ``code`` at ``level`` (``code`` itself at its own level)."""
        path = self.path(code)
        if level < 1 or level > len(path):
            raise ValueError(f"area {code} (level {len(path)}) has no ancestor at level {level}")
        return path[level - 1]

    def rollup_map(self, level: int) -> Mapping[str, str]:
        """Mapping of every area at ``level`` or below to its ancestor at ``level``."""
        return MappingProxyType(
            {
                c: self.ancestor(c, level)
                for c, lv in zip(self.codes, self.levels, strict=True)
                if lv >= level
            }
        )

    def rollup(self, codes: Sequence[str] | np.ndarray, level: int) -> np.ndarray:
        """Vectorized roll-up of many codes to their ancestors at ``level``.

        Parameters
        ----------
        codes
            Area codes (any level ≥ ``level``); ``None`` or unknown codes give ``None``.
        level
            Target level.

        Returns
        -------
        numpy.ndarray
            Object array of ancestor codes, aligned with ``codes``.
        """
        keys = np.asarray(self.codes, dtype=object)
        mapping = self.rollup_map(level)
        target = np.array([mapping.get(c) for c in self.codes], dtype=object)
        arr = np.asarray(codes, dtype=object)
        uniq, inverse = np.unique(arr.astype(str), return_inverse=True)
        pos = np.searchsorted(keys.astype(str), uniq)
        pos = np.clip(pos, 0, len(keys) - 1)
        found = keys.astype(str)[pos] == uniq
        mapped = target[pos].copy()
        mapped[~found] = None
        out: np.ndarray = mapped[inverse]
        out[np.asarray(arr == None, dtype=bool)] = None  # noqa: E711 (element-wise on objects)
        return out
