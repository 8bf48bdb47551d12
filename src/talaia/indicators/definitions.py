"""Indicator definitions as data: one YAML file per indicator, validated by pydantic.

A definition says *what* is counted (fact table, counting unit, filter on ICCS codes at any
level and on the disaggregating variables of the warehouse, docs/contracts.md §6), *against what*
(population of the same area / sex / age group, or another count for shares), in which unit,
which breakdowns are allowed, and how to read it (names, definition, method note in English and
Spanish, SDG / UN-CTS reference). The engine (:mod:`talaia.indicators.engine`) compiles it to SQL.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from talaia.errors import DataError, NotFoundError
from talaia.records.vocab import AGE_GROUPS, VOCABULARIES

FactTable = Literal[
    "fact_incident", "fact_offence", "fact_victim", "fact_perpetrator", "fact_custody"
]

_COMMON = [
    "batch_id",
    "source_code",
    "agency_code",
    "source_kind",
    "occurred_date",
    "year",
    "quarter",
    "month",
    "period_month",
    "iso_year",
    "iso_week",
    "dow",
    "hour",
    "occurred_from",
    "occurred_to",
    "occurred_precision",
    "area_code",
    "area_l1",
    "area_l2",
    "area_l3",
    "lon",
    "lat",
    "national_code",
    "iccs_code",
    "iccs_l1",
    "iccs_l2",
    "iccs_l3",
    "iccs_l4",
    "crosswalk_version",
    "mapping_type",
    "location_type",
    "attempted",
    "weapon",
    "situational_context",
    "motive",
    "cyber_related",
    "incident_id",
]
_PERSON = ["sex", "age", "age_group", "relationship", "citizenship"]

#: Columns of each warehouse fact table (docs/contracts.md §6).
FACT_COLUMNS: dict[str, frozenset[str]] = {
    "fact_incident": frozenset(_COMMON),
    "fact_offence": frozenset([*_COMMON, "offence_id"]),
    "fact_victim": frozenset([*_COMMON, *_PERSON, "offence_id", "victim_id", "outcome"]),
    "fact_perpetrator": frozenset(
        [*_COMMON, *_PERSON, "offence_id", "perpetrator_id", "person_key", "recidivist"]
    ),
    "fact_custody": frozenset(
        [
            *_COMMON,
            "custody_id",
            "person_key",
            "facility_code",
            "custody_status",
            "sex",
            "age",
            "age_group",
            "citizenship",
            "released_at",
        ]
    ),
}

#: Variables an indicator may be broken down by (besides the area hierarchy).
DISAGGREGATIONS: frozenset[str] = frozenset(
    [*VOCABULARIES, "age_group", "cyber_related", "source_kind", "source_code"]
)
#: Breakdowns that the population table also carries (rates keep their denominator).
POPULATION_DIMENSIONS: frozenset[str] = frozenset({"sex", "age_group"})

SOURCE_KINDS = (
    "police",
    "forensic",
    "health",
    "prosecution",
    "court",
    "prison",
    "emergency",
    "survey",
)


@cache
def iccs_codes() -> frozenset[str]:
    """Codes of ICCS v1.0 (from ``talaia/classification/data/iccs_v1.csv``)."""
    path = resources.files("talaia.classification").joinpath("data/iccs_v1.csv")
    with path.open(encoding="utf-8") as fh:
        return frozenset(row["code"] for row in csv.DictReader(fh))


def tokens_of(variable: str) -> tuple[object, ...]:
    """Known values of a disaggregating variable (vocabulary tokens, age groups, booleans)."""
    if variable == "age_group":
        return AGE_GROUPS
    if variable == "cyber_related":
        return (True, False)
    if variable == "source_kind":
        return SOURCE_KINDS
    if variable in VOCABULARIES:
        return VOCABULARIES[variable].tokens()
    return ()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    """A text in English and Spanish."""

    en: str = Field(min_length=1)
    es: str = Field(min_length=1)

    def get(self, lang: str = "en") -> str:
        return self.es if lang == "es" else self.en


class Reference(_Model):
    """Where the indicator comes from."""

    sdg: str | None = None
    sdg_series: str | None = None
    uncts: str | None = None
    regional: str | None = None


Value = str | bool | None


class Filter(_Model):
    """Which rows of a fact table count.

    ``iccs`` keeps rows whose ICCS path contains any listed code (any level: ``"01"``,
    ``"0101"``, ``"02011"``, ``"020111"``); ``iccs_exclude`` drops rows under any listed code.
    ``where`` ANDs conditions ``column: [allowed values]`` (``null`` allowed as a value means
    "not known"); ``any_of`` adds one OR-group of such conditions; ``source_kind`` restricts
    to sources of those kinds.
    """

    table: FactTable
    iccs: tuple[str, ...] = ()
    iccs_exclude: tuple[str, ...] = ()
    where: dict[str, tuple[Value, ...]] = Field(default_factory=dict)
    any_of: tuple[dict[str, tuple[Value, ...]], ...] = ()
    source_kind: tuple[str, ...] = ()
    count_distinct: str | None = None

    @field_validator("iccs", "iccs_exclude")
    @classmethod
    def _known_codes(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in codes if c not in iccs_codes()]
        if unknown:
            raise ValueError(f"unknown ICCS code(s): {', '.join(unknown)}")
        return codes

    @field_validator("source_kind")
    @classmethod
    def _kinds(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        bad = [k for k in kinds if k not in SOURCE_KINDS]
        if bad:
            raise ValueError(f"unknown source kind(s): {', '.join(bad)}")
        return kinds

    @model_validator(mode="after")
    def _columns(self) -> Filter:
        cols = FACT_COLUMNS[self.table]
        groups = [self.where, *self.any_of]
        for group in groups:
            for col, values in group.items():
                if col not in cols:
                    raise ValueError(f"{self.table} has no column {col!r}")
                known = tokens_of(col)
                bad = [v for v in values if v is not None and known and v not in known]
                if bad:
                    raise ValueError(f"{col}: unknown value(s) {bad}")
        if self.count_distinct and self.count_distinct not in cols:
            raise ValueError(f"{self.table} has no column {self.count_distinct!r}")
        return self


class Denominator(_Model):
    """What the numerator is divided by.

    ``population``: population of the same area (and of the same sex / age group when the
    value is broken down by them), optionally restricted by ``population_where`` (e.g.
    ``sex: [female]``). ``count``: another count (``filter``) for shares. ``none``: a count.
    """

    kind: Literal["population", "count", "none"]
    population_where: dict[Literal["sex", "age_group"], tuple[str, ...]] = Field(
        default_factory=dict
    )
    filter: Filter | None = None

    @model_validator(mode="after")
    def _shape(self) -> Denominator:
        if (self.kind == "count") != (self.filter is not None):
            raise ValueError("a 'count' denominator needs a filter, and only it")
        for col, values in self.population_where.items():
            bad = [v for v in values if v not in tokens_of(col)]
            if bad:
                raise ValueError(f"population_where {col}: unknown value(s) {bad}")
        return self


class Indicator(_Model):
    """One indicator of the catalogue (see the module docstring)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int = Field(ge=1)
    name: Text
    definition: Text
    reference: Reference = Reference()
    counting_unit: Literal["victims", "offences", "incidents", "persons", "calls", "custody"]
    numerator: Filter
    denominator: Denominator
    unit: Literal["count", "rate_per_100k", "percent", "ratio"]
    disaggregations: tuple[str, ...] = ()
    decimals: int = Field(default=1, ge=0, le=6)
    preferred_period: Literal["month", "quarter", "year", "rolling12", "week"] = "year"
    method_note: Text

    @model_validator(mode="after")
    def _consistent(self) -> Indicator:
        want = {
            "count": "none",
            "rate_per_100k": "population",
            "percent": "count",
            "ratio": "count",
        }[self.unit]
        if self.denominator.kind != want:
            raise ValueError(f"unit {self.unit} needs a {want!r} denominator")
        cols = FACT_COLUMNS[self.numerator.table]
        for d in self.disaggregations:
            if d not in DISAGGREGATIONS or d not in cols:
                raise ValueError(f"cannot disaggregate {self.numerator.table} by {d!r}")
            den = self.denominator.filter
            if den is not None and d not in FACT_COLUMNS[den.table]:
                raise ValueError(f"denominator table {den.table} has no {d!r}")
        return self


def load_definition(path: Path) -> Indicator:
    """Read and validate one YAML definition; errors name the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        ind = Indicator.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise DataError(f"{path.name}: field {loc}: {first['msg']}") from None
    except yaml.YAMLError as exc:
        raise DataError(f"{path.name}: not valid YAML: {exc}") from None
    if ind.id != path.stem:
        raise DataError(f"{path.name}: field id: {ind.id!r} differs from the file name")
    return ind


@cache
def _builtin() -> dict[str, Indicator]:
    folder = resources.files("talaia.indicators").joinpath("catalogue")
    out: dict[str, Indicator] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            ind = load_definition(Path(str(entry)))
            out[ind.id] = ind
    return out


def catalogue() -> tuple[Indicator, ...]:
    """Every indicator of the built-in catalogue, sorted by id."""
    return tuple(_builtin().values())


def get_indicator(indicator_id: str) -> Indicator:
    """One indicator by id; :class:`NotFoundError` when unknown."""
    try:
        return _builtin()[indicator_id]
    except KeyError:
        raise NotFoundError(
            f"no indicator {indicator_id!r} / no existe el indicador {indicator_id!r}"
        ) from None
