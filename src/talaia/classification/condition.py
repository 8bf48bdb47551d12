"""The ``condition`` and ``sets`` mini-languages of crosswalk rows (docs/contracts.md §5).

Grammar (parsed into a small AST, never ``eval``-ed)::

    condition := clause (" and " clause)*
    clause    := FIELD "=" VALUE | FIELD "!=" VALUE | FIELD " in (" VALUE ("," VALUE)* ")"
               | FIELD " is null" | FIELD " is not null"
    FIELD     := incident.<column> | victim.<column>
    VALUE     := a vocabulary token, unquoted

Only fields with a finite vocabulary can be used (:data:`FIELDS`): the categorical columns of
:mod:`talaia.records.vocab` plus ``incident.cyber_related`` (``true``/``false``). That keeps
the language decidable: overlaps and gaps between the conditions of one national code are
checked by enumerating the finite domain, where NULL (*not known*) is a value like any other.

Semantics with NULL: ``f = v`` and ``f in (...)`` are false when ``f`` is NULL; ``f != v`` is
true when ``f`` is NULL (SQL ``IS DISTINCT FROM``), so that ``outcome = serious_injury`` and
``outcome != serious_injury`` together cover every record, unknowns included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from talaia.records import vocab

Op = Literal["=", "!=", "in", "is null", "is not null"]


def _domain(v: vocab.Vocabulary) -> tuple[str, ...]:
    return v.tokens()


#: Fields usable in conditions -> their finite domain of tokens (NULL is added implicitly).
FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "incident.location_type": _domain(vocab.LOCATION_TYPE),
        "incident.attempted": _domain(vocab.ATTEMPTED),
        "incident.weapon": _domain(vocab.WEAPON),
        "incident.situational_context": _domain(vocab.SITUATIONAL_CONTEXT),
        "incident.motive": _domain(vocab.MOTIVE),
        "incident.cyber_related": ("true", "false"),
        "victim.sex": _domain(vocab.SEX),
        "victim.relationship": _domain(vocab.RELATIONSHIP),
        "victim.citizenship": _domain(vocab.CITIZENSHIP),
        "victim.outcome": _domain(vocab.OUTCOME),
    }
)

#: Event variables a crosswalk row may set (``sets``): incident column -> tokens.
SETTABLE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "location_type": _domain(vocab.LOCATION_TYPE),
        "attempted": _domain(vocab.ATTEMPTED),
        "weapon": _domain(vocab.WEAPON),
        "situational_context": _domain(vocab.SITUATIONAL_CONTEXT),
        "motive": _domain(vocab.MOTIVE),
    }
)

_BOOL_FIELDS = frozenset({"incident.cyber_related"})


class ConditionError(ValueError):
    """A condition or ``sets`` text that cannot be parsed.

    Attributes
    ----------
    kind
        ``condition_syntax``, ``unknown_field`` or ``unknown_token``.
    position
        0-based character offset in the text where the problem starts.
    """

    def __init__(self, kind: str, message: str, position: int) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class Clause:
    """One clause: ``field op values``."""

    field: str
    op: Op
    values: tuple[str, ...] = ()

    def matches(self, value: str | None) -> bool:
        """Truth of the clause for one field value (``None`` = NULL)."""
        if self.op == "is null":
            return value is None
        if self.op == "is not null":
            return value is not None
        if self.op == "!=":
            return value is None or value != self.values[0]
        return value is not None and value in self.values

    def text(self) -> str:
        if self.op in ("is null", "is not null"):
            return f"{self.field} {self.op}"
        if self.op == "in":
            return f"{self.field} in ({', '.join(self.values)})"
        return f"{self.field} {self.op} {self.values[0]}"


@dataclass(frozen=True, slots=True)
class Condition:
    """A conjunction of clauses; no clauses means *always true*."""

    clauses: tuple[Clause, ...] = ()

    @property
    def always(self) -> bool:
        return not self.clauses

    def fields(self) -> tuple[str, ...]:
        """Fields referenced, in order of first use."""
        return tuple(dict.fromkeys(c.field for c in self.clauses))

    def matches(self, assignment: Mapping[str, str | None]) -> bool:
        """Truth for one assignment of field values (missing fields are NULL)."""
        return all(c.matches(assignment.get(c.field)) for c in self.clauses)

    def text(self) -> str:
        """Canonical text (parsing it gives back an equal condition)."""
        return " and ".join(c.text() for c in self.clauses)

    # -- compilation ----------------------------------------------------------------------
    def mask(self, table: pa.Table) -> pa.Array:
        """Evaluate over ``table`` (columns named like the fields, e.g. ``victim.outcome``).

        Returns a non-null boolean array; computed with :mod:`pyarrow.compute`.
        """
        n = table.num_rows
        out = pa.array([True] * n, pa.bool_()) if n else pa.array([], pa.bool_())
        for c in self.clauses:
            col = table.column(c.field)
            out = pc.and_(out, _clause_mask(c, col))
        return out

    def to_sql(self, column: Mapping[str, str] | None = None) -> str:
        """DuckDB/PostgreSQL SQL text of the condition.

        ``column`` maps field names to SQL column expressions (default: the field name quoted).
        Tokens come from a closed vocabulary (letters, digits, ``_``), so quoting is safe.
        """
        if not self.clauses:
            return "TRUE"
        parts = []
        for c in self.clauses:
            col = (column or {}).get(c.field, '"' + c.field.replace('"', '""') + '"')
            lit = [_sql_literal(c.field, v) for v in c.values]
            if c.op == "is null":
                parts.append(f"{col} IS NULL")
            elif c.op == "is not null":
                parts.append(f"{col} IS NOT NULL")
            elif c.op == "=":
                parts.append(f"({col} IS NOT DISTINCT FROM {lit[0]})")
            elif c.op == "!=":
                parts.append(f"({col} IS DISTINCT FROM {lit[0]})")
            else:
                parts.append(f"COALESCE({col} IN ({', '.join(lit)}), FALSE)")
        return " AND ".join(parts)


def _sql_literal(field: str, value: str) -> str:
    if field in _BOOL_FIELDS:
        return "TRUE" if value == "true" else "FALSE"
    return "'" + value.replace("'", "''") + "'"


def _scalar(field: str, value: str) -> pa.Scalar:
    if field in _BOOL_FIELDS:
        return pa.scalar(value == "true", pa.bool_())
    return pa.scalar(value, pa.string())


def _clause_mask(c: Clause, col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if c.op == "is null":
        return pc.is_null(col)
    if c.op == "is not null":
        return pc.is_valid(col)
    if c.op == "=":
        return pc.fill_null(pc.equal(col, _scalar(c.field, c.values[0])), False)
    if c.op == "!=":
        return pc.fill_null(pc.not_equal(col, _scalar(c.field, c.values[0])), True)
    if c.field in _BOOL_FIELDS:
        vs = pa.array([v == "true" for v in c.values], pa.bool_())
    else:
        vs = pa.array(list(c.values), pa.string())
    return pc.fill_null(pc.is_in(col, value_set=vs), False)


# -- parsing ------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<op>!=|=|\(|\)|,)|(?P<word>[A-Za-z0-9_][A-Za-z0-9_.+\-]*)|(?P<bad>\S))"
)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # only trailing whitespace left
            break
        if m.group("bad") is not None:
            start = m.start("bad")
            raise ConditionError(
                "condition_syntax", f"unexpected character {m.group('bad')!r}", start
            )
        kind = "op" if m.group("op") is not None else "word"
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


def parse_condition(text: str | None) -> Condition:
    """Parse a condition; empty or ``None`` is *always true*.

    Raises
    ------
    ConditionError
        With ``kind`` ``condition_syntax`` (grammar), ``unknown_field`` (not in
        :data:`FIELDS`) or ``unknown_token`` (not in the field's vocabulary), and the position.
    """
    if text is None or not text.strip():
        return Condition()
    toks = _tokens(text)
    i = 0
    end = len(text)

    def peek() -> tuple[str, str, int] | None:
        return toks[i] if i < len(toks) else None

    def expect_word(what: str) -> tuple[str, int]:
        nonlocal i
        t = peek()
        if t is None or t[0] != "word":
            pos = t[2] if t else end
            raise ConditionError("condition_syntax", f"expected {what}", pos)
        i += 1
        return t[1], t[2]

    def expect_op(op: str) -> None:
        nonlocal i
        t = peek()
        if t is None or t != ("op", op, t[2]):
            pos = t[2] if t else end
            raise ConditionError("condition_syntax", f"expected {op!r}", pos)
        i += 1

    def value(field: str) -> str:
        v, pos = expect_word("a value")
        if v not in FIELDS[field]:
            raise ConditionError(
                "unknown_token",
                f"{v!r} is not a value of {field} (expected one of: {', '.join(FIELDS[field])})",
                pos,
            )
        return v

    clauses: list[Clause] = []
    while True:
        field, fpos = expect_word("a field such as victim.outcome")
        if field not in FIELDS:
            raise ConditionError(
                "unknown_field",
                f"unknown field {field!r} (usable: {', '.join(FIELDS)})",
                fpos,
            )
        t = peek()
        if t is None:
            raise ConditionError("condition_syntax", "expected an operator after the field", end)
        if t[0] == "op" and t[1] in ("=", "!="):
            i += 1
            clauses.append(Clause(field, t[1], (value(field),)))  # type: ignore[arg-type]
        elif t[0] == "word" and t[1].lower() == "in":
            i += 1
            expect_op("(")
            vals = [value(field)]
            while (t2 := peek()) is not None and t2[:2] == ("op", ","):
                i += 1
                vals.append(value(field))
            expect_op(")")
            clauses.append(Clause(field, "in", tuple(dict.fromkeys(vals))))
        elif t[0] == "word" and t[1].lower() == "is":
            i += 1
            w, wpos = expect_word("'null' or 'not null'")
            if w.lower() == "not":
                w, wpos = expect_word("'null'")
                if w.lower() != "null":
                    raise ConditionError("condition_syntax", "expected 'null'", wpos)
                clauses.append(Clause(field, "is not null"))
            elif w.lower() == "null":
                clauses.append(Clause(field, "is null"))
            else:
                raise ConditionError("condition_syntax", "expected 'null' or 'not null'", wpos)
        else:
            raise ConditionError(
                "condition_syntax", "expected '=', '!=', 'in (...)' or 'is [not] null'", t[2]
            )
        t = peek()
        if t is None:
            break
        if t[0] == "word" and t[1].lower() == "and":
            i += 1
            continue
        raise ConditionError("condition_syntax", "expected 'and' or the end", t[2])
    return Condition(tuple(clauses))


def parse_sets(text: str | None) -> tuple[tuple[str, str], ...]:
    """Parse a ``sets`` cell: ``variable=token`` pairs separated by ``;`` or ``,``.

    Raises
    ------
    ConditionError
        ``condition_syntax`` for a malformed pair, ``unknown_field`` for a variable not in
        :data:`SETTABLE`, ``unknown_token`` for a token outside its vocabulary, or when a
        variable is set twice.
    """
    if text is None or not text.strip():
        return ()
    out: dict[str, str] = {}
    pos = 0
    for part in re.split(r"([;,])", text):
        if part in (";", ","):
            pos += 1
            continue
        if part.strip():
            if part.count("=") != 1:
                raise ConditionError(
                    "condition_syntax", f"expected variable=value in {part!r}", pos
                )
            name, val = (s.strip() for s in part.split("="))
            if name.startswith("incident."):
                name = name[len("incident.") :]
            if name not in SETTABLE:
                raise ConditionError(
                    "unknown_field",
                    f"{name!r} cannot be set (settable: {', '.join(SETTABLE)})",
                    pos,
                )
            if val not in SETTABLE[name]:
                raise ConditionError("unknown_token", f"{val!r} is not a value of {name}", pos)
            if name in out:
                raise ConditionError("condition_syntax", f"{name!r} set twice", pos)
            out[name] = val
        pos += len(part)
    return tuple(out.items())


def sets_text(pairs: tuple[tuple[str, str], ...]) -> str | None:
    """Canonical text of parsed ``sets`` (``None`` when empty)."""
    return "; ".join(f"{k}={v}" for k, v in pairs) or None
