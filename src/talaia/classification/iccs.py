"""The International Classification of Crime for Statistical Purposes (ICCS), version 1.0.

The 320 categories (levels 1 to 4) and the disaggregating variables ship as package data
(``talaia/classification/data/iccs_v1.csv`` and ``iccs_v1_disaggregations.csv``), read with
:mod:`importlib.resources`; nothing is fetched at run time.

Source: UNODC, *International Classification of Crime for Statistical Purposes, version 1.0*
(2015), as recorded in ``../shared/reference/SOURCES.md`` (titles as transcribed in the
punp1n/ICCS tables, checked against the code structure of the ICCS v1.0 publication). Code
``02044`` ("trafficking in persons for other purposes") appears as ``02049`` in some copies;
``02044`` is the code of the ICCS v1.0 structure and the one used here.

ICCS codes are hierarchical prefixes: level 1 has two digits (``"02"``), level 2 four
(``"0201"``), level 3 five (``"02011"``) and level 4 six (``"020111"``). A code's ancestors are
its prefixes of those lengths, which is what the vectorized :meth:`Iccs.path_arrays` exploits.

Examples
--------
>>> from talaia.classification.iccs import load_iccs
>>> iccs = load_iccs()
>>> iccs.lookup("020111").label_en
'Serious assault'
>>> iccs.path("02011")
('02', '0201', '02011', None)
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

import pyarrow as pa
import pyarrow.compute as pc

from talaia.errors import NotFoundError

#: Number of digits of an ICCS code at each level.
LEVEL_DIGITS: Mapping[int, int] = MappingProxyType({1: 2, 2: 4, 3: 5, 4: 6})
_DIGITS_LEVEL = {v: k for k, v in LEVEL_DIGITS.items()}

Path4 = tuple[str | None, str | None, str | None, str | None]


def fold(text: str) -> str:
    """Fold ``text`` for accent- and case-insensitive comparison.

    NFKD decomposition, combining marks removed, ``casefold``, whitespace collapsed
    (``"Extorsión  Agravada" -> "extorsion agravada"``).
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


@dataclass(frozen=True, slots=True)
class Category:
    """One ICCS category.

    Attributes
    ----------
    code
        ICCS code, a string of 2, 4, 5 or 6 digits.
    level
        1 to 4.
    parent
        Code of the parent category, ``None`` at level 1.
    label_en, label_es
        Titles in English and Spanish.
    """

    code: str
    level: int
    parent: str | None
    label_en: str
    label_es: str

    def label(self, lang: str = "en") -> str:
        """Title in ``lang`` (``"en"`` or ``"es"``)."""
        return self.label_es if lang == "es" else self.label_en


@dataclass(frozen=True, slots=True)
class DisaggregationValue:
    """One value of an ICCS disaggregating variable (ICCS v1.0 Annex).

    Attributes
    ----------
    group
        ``event``, ``victim``, ``perpetrator``, ``data_description`` or ``homicide``.
    tag
        ICCS tag of the variable (``"We"``, ``"SiC"``, ...).
    variable
        Name of the variable in English.
    value_code
        ICCS value code (``"1"``, ``"1a"``, ...).
    value_label
        Label of the value in English.
    """

    group: str
    tag: str
    variable: str
    value_code: str
    value_label: str


@dataclass(frozen=True, slots=True)
class Disaggregations:
    """The ICCS disaggregating variables and their values, in file order."""

    values: tuple[DisaggregationValue, ...]

    def groups(self) -> tuple[str, ...]:
        """Groups in file order (``event``, ``victim``, ...)."""
        return tuple(dict.fromkeys(v.group for v in self.values))

    def variables(self, group: str | None = None) -> tuple[tuple[str, str, str], ...]:
        """Distinct ``(group, tag, variable)`` triples, optionally of one group."""
        seen = dict.fromkeys(
            (v.group, v.tag, v.variable) for v in self.values if group in (None, v.group)
        )
        return tuple(seen)

    def of(self, tag: str, group: str | None = None) -> tuple[DisaggregationValue, ...]:
        """Values of the variable with ICCS ``tag`` (within ``group`` when given).

        Raises
        ------
        NotFoundError
            When no variable has that tag.
        """
        found = tuple(v for v in self.values if v.tag == tag and group in (None, v.group))
        if not found:
            raise NotFoundError(
                f"ICCS disaggregating variable {tag!r} not found / variable no encontrada"
            )
        return found

    def to_arrow(self) -> pa.Table:
        """All values as an Arrow table (group, tag, variable, value_code, value_label)."""
        names = ("group", "tag", "variable", "value_code", "value_label")
        return pa.table(
            {n: pa.array([getattr(v, n) for v in self.values], pa.string()) for n in names}
        )


class Iccs:
    """The ICCS v1.0 classification: an immutable set of :class:`Category` with a pure API.

    Build it with :func:`load_iccs` (cached). All methods are pure; unknown codes raise
    :class:`talaia.errors.NotFoundError` except :meth:`get` and :meth:`is_code`.
    """

    __slots__ = ("_by_code", "_children", "_codes_array", "_folded")

    def __init__(self, categories: Iterable[Category]) -> None:
        by_code: dict[str, Category] = {}
        children: dict[str | None, list[str]] = {}
        for cat in categories:
            if cat.code in by_code:
                raise ValueError(f"duplicate ICCS code {cat.code}")
            by_code[cat.code] = cat
            children.setdefault(cat.parent, []).append(cat.code)
        for cat in by_code.values():
            if cat.parent is not None and cat.parent not in by_code:
                raise ValueError(f"ICCS code {cat.code}: parent {cat.parent} unknown")
            if LEVEL_DIGITS[cat.level] != len(cat.code):
                raise ValueError(f"ICCS code {cat.code}: length does not match level {cat.level}")
        self._by_code: Mapping[str, Category] = MappingProxyType(by_code)
        self._children: Mapping[str | None, tuple[str, ...]] = MappingProxyType(
            {k: tuple(v) for k, v in children.items()}
        )
        self._codes_array = pa.array(sorted(by_code), pa.string())
        self._folded: Mapping[str, tuple[str, str]] = MappingProxyType(
            {c.code: (fold(c.label_en), fold(c.label_es)) for c in by_code.values()}
        )

    # -- lookup ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Category]:
        return iter(self._by_code.values())

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def is_code(self, code: str) -> bool:
        """Whether ``code`` is an ICCS v1.0 code."""
        return code in self._by_code

    def get(self, code: str) -> Category | None:
        """The category of ``code`` or ``None``."""
        return self._by_code.get(code)

    def lookup(self, code: str) -> Category:
        """The category of ``code``; :class:`NotFoundError` when unknown."""
        try:
            return self._by_code[code]
        except KeyError:
            raise NotFoundError(
                f"{code!r} is not an ICCS v1.0 code / no es un código ICCS v1.0"
            ) from None

    def codes(self) -> tuple[str, ...]:
        """All codes in code order."""
        return tuple(self._codes_array.to_pylist())

    def level(self, code: str) -> int:
        """Level (1-4) of ``code``."""
        return self.lookup(code).level

    def parent(self, code: str) -> Category | None:
        """Parent category, ``None`` at level 1."""
        p = self.lookup(code).parent
        return None if p is None else self._by_code[p]

    def children(self, code: str | None) -> tuple[Category, ...]:
        """Direct children of ``code`` (``None``: the level-1 sections)."""
        if code is not None:
            self.lookup(code)
        return tuple(self._by_code[c] for c in self._children.get(code, ()))

    def ancestors(self, code: str) -> tuple[Category, ...]:
        """Ancestors of ``code`` from level 1 down to its parent."""
        out: list[Category] = []
        cat = self.lookup(code)
        while cat.parent is not None:
            cat = self._by_code[cat.parent]
            out.append(cat)
        return tuple(reversed(out))

    def descendants(self, code: str) -> tuple[Category, ...]:
        """All categories below ``code`` (depth first, code order)."""
        self.lookup(code)
        out: list[Category] = []
        stack = list(reversed(self._children.get(code, ())))
        while stack:
            c = stack.pop()
            out.append(self._by_code[c])
            stack.extend(reversed(self._children.get(c, ())))
        return tuple(out)

    def path(self, code: str) -> Path4:
        """``(l1, l2, l3, l4)`` codes of ``code`` and its ancestors, ``None`` below its level."""
        cat = self.lookup(code)
        return tuple(  # type: ignore[return-value]
            code[: LEVEL_DIGITS[lv]] if lv <= cat.level else None for lv in (1, 2, 3, 4)
        )

    def under(self, prefix: str) -> tuple[Category, ...]:
        """Categories whose code starts with ``prefix`` (``"0201"`` -> 0201 and all below)."""
        return tuple(
            self._by_code[c] for c in self._codes_array.to_pylist() if c.startswith(prefix)
        )

    def search(self, text: str, lang: str | None = None) -> tuple[Category, ...]:
        """Categories whose title contains every word of ``text``.

        Accent- and case-insensitive (:func:`fold`); ``lang`` ``"en"`` or ``"es"`` restricts
        to one language's titles, ``None`` searches both. Results in code order.
        """
        words = fold(text).split()
        if not words:
            return ()
        out = []
        for code in self._codes_array.to_pylist():
            en, es = self._folded[code]
            hay = {"en": en, "es": es}.get(lang or "", en + " | " + es)
            if all(w in hay for w in words):
                out.append(self._by_code[code])
        return tuple(out)

    # -- columnar -------------------------------------------------------------------------
    def valid_mask(self, codes: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Boolean array: which entries are ICCS codes (null input -> false)."""
        return pc.is_in(codes, value_set=self._codes_array)

    def path_arrays(
        self, codes: pa.Array | pa.ChunkedArray
    ) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
        """Vectorized :meth:`path` over an Arrow string array.

        Returns four string arrays ``(l1, l2, l3, l4)``; an entry is null below the code's own
        level, and all four are null where the input is null or not an ICCS code. Computed with
        :mod:`pyarrow.compute` (prefix slices), no Python loop over records.
        """
        if isinstance(codes, pa.ChunkedArray):
            codes = codes.combine_chunks() if codes.num_chunks else pa.array([], pa.string())
        codes = codes.cast(pa.string())
        valid = self.valid_mask(codes)
        length = pc.utf8_length(codes)
        out = []
        for lv in (1, 2, 3, 4):
            n = LEVEL_DIGITS[lv]
            keep = pc.and_(valid, pc.greater_equal(length, n))
            sliced = pc.utf8_slice_codeunits(codes, 0, n)
            out.append(pc.if_else(keep, sliced, pa.scalar(None, pa.string())))
        return out[0], out[1], out[2], out[3]

    def level_array(self, codes: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Vectorized level (int8) of each code; null where not an ICCS code."""
        l1, l2, l3, l4 = self.path_arrays(codes)
        level = pc.add(
            pc.add(pc.cast(pc.is_valid(l1), pa.int8()), pc.cast(pc.is_valid(l2), pa.int8())),
            pc.add(pc.cast(pc.is_valid(l3), pa.int8()), pc.cast(pc.is_valid(l4), pa.int8())),
        )
        return pc.if_else(pc.is_valid(l1), level, pa.scalar(None, pa.int8()))

    def to_arrow(self) -> pa.Table:
        """All categories as an Arrow table (code, level, parent, label_en, label_es, l1..l4)."""
        cats = [self._by_code[c] for c in self._codes_array.to_pylist()]
        paths = [self.path(c.code) for c in cats]
        return pa.table(
            {
                "code": pa.array([c.code for c in cats], pa.string()),
                "level": pa.array([c.level for c in cats], pa.int8()),
                "parent": pa.array([c.parent for c in cats], pa.string()),
                "label_en": pa.array([c.label_en for c in cats], pa.string()),
                "label_es": pa.array([c.label_es for c in cats], pa.string()),
                **{f"l{i + 1}": pa.array([p[i] for p in paths], pa.string()) for i in range(4)},
            }
        )


def _read_data(name: str) -> str:
    return resources.files("talaia.classification").joinpath("data", name).read_text("utf-8")


@lru_cache(maxsize=1)
def load_iccs() -> Iccs:
    """The ICCS v1.0 classification from the package data (cached; immutable)."""
    rows = csv.DictReader(io.StringIO(_read_data("iccs_v1.csv")))
    cats = []
    for r in rows:
        code = r["code"].strip()
        cats.append(
            Category(
                code=code,
                level=int(r["level"]),
                parent=r["parent"].strip() or None,
                label_en=r["label_en"].strip(),
                label_es=r["label_es"].strip(),
            )
        )
    return Iccs(cats)


@lru_cache(maxsize=1)
def load_disaggregations() -> Disaggregations:
    """The ICCS disaggregating variables (ICCS v1.0 Annex; homicide tables III-V)."""
    rows = csv.DictReader(io.StringIO(_read_data("iccs_v1_disaggregations.csv")))
    return Disaggregations(
        tuple(
            DisaggregationValue(
                group=r["group"],
                tag=r["tag"],
                variable=r["variable"],
                value_code=r["value_code"],
                value_label=r["value_label"],
            )
            for r in rows
        )
    )


def level_of_code(code: str) -> int | None:
    """Level implied by the length of a code string (2->1, 4->2, 5->3, 6->4), else ``None``."""
    return _DIGITS_LEVEL.get(len(code)) if code.isdigit() else None
