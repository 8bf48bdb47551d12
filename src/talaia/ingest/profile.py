"""Source profiles: how one agency delivers its files, as versioned YAML validated by pydantic.

A profile names the file format and its dialect (encoding, delimiter, decimal and thousands
separators), maps the agency's columns to the canonical fields of :mod:`talaia.records.schema`
(``incident.occurred_from``, ``victim.sex``, ...), translates the agency's values to the tokens
of :mod:`talaia.records.vocab` ("M", "Masculino", "HOMBRE", "1" -> ``male``), says how dates are
written, which coordinate reference system the points use, how to find the area, which crosswalk
classifies the national codes, what the natural key is, the near-duplicate tolerances and which
columns are personal identifiers (pseudonymized on ingest, never stored in clear).

A delivery with a header and no rows is an error unless the profile says ``allow_empty: true``
(the agency delivers a file for a month with no records: recorded as delivered, zero rows).
A batch is rejected (nothing written) when more than ``max_quarantined_share`` of its rows are
quarantined or none is accepted.

A profile's identity is ``(source, profile_version)`` plus the SHA-256 of its canonical JSON
(:attr:`SourceProfile.profile_hash`), recorded on every batch it loads.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from talaia.errors import UserInputError
from talaia.records.schema import TABLES
from talaia.records.vocab import VOCABULARIES

Format = Literal["csv", "tsv", "xlsx", "parquet", "json", "jsonl", "geojson", "gpkg"]

#: Special date formats besides strptime patterns.
SPECIAL_DATE_FORMATS = ("iso", "excel_serial", "epoch_ms", "epoch_s")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Model):
    """How one canonical field is read.

    Attributes
    ----------
    column
        Column of the delivered file (exact header text). Exclusive with ``constant``.
    constant
        A fixed value for every row (e.g. the national code of a file that holds one offence).
    formats
        Date/time formats tried in order: strptime patterns (``"%d/%m/%Y %H:%M"``) or one of
        ``iso``, ``excel_serial``, ``epoch_ms``, ``epoch_s``. A pattern without a time of day
        gives ``day`` precision.
    time_column, time_formats
        A separate column holding the time of day (``"%H:%M"``).
    values
        Value map, matched case- and accent-insensitively after trimming: ``{"M": "male"}``.
        A value mapped to ``null`` means *not known*. Unmapped values of a vocabulary field are
        quarantined (rule ``value_not_in_map``).
    required
        Quarantine rows where the field is empty (canonical non-nullable fields always are).
    date_only
        Keep only the date of a timestamp (``day`` precision), e.g. a date column whose cells
        carry a meaningless midnight.
    """

    column: str | None = None
    constant: str | None = None
    formats: tuple[str, ...] = ("iso",)
    time_column: str | None = None
    time_formats: tuple[str, ...] = ("%H:%M:%S", "%H:%M")
    values: dict[str, str | None] | None = None
    required: bool = False
    date_only: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        if (self.column is None) == (self.constant is None):
            raise ValueError("give exactly one of 'column' or 'constant'")
        return self


class AreaSpec(_Model):
    """How a record's area is found.

    ``method``: ``code`` (``column`` holds area codes), ``name`` (``column`` holds area names,
    matched case- and accent-insensitively at ``level``) or ``point`` (point-in-polygon of the
    record's lon/lat against the areas of ``level``). ``file`` optionally names a GeoJSON of the
    areas (relative to the profile) with ``code_property``/``name_property``; it is loaded into
    the store's ``area`` table when its areas are missing there. ``aliases`` maps names the
    agency writes to the area's official name (e.g. a renamed municipality), folded too.
    """

    method: Literal["code", "name", "point"]
    column: str | None = None
    level: int | None = None
    file: str | None = None
    code_property: str = "code"
    name_property: str = "name"
    code_prefix: str = ""
    aliases: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _column_needed(self) -> AreaSpec:
        if self.method in ("code", "name") and not self.column:
            raise ValueError(f"area method {self.method!r} needs 'column'")
        return self


class NearDuplicateSpec(_Model):
    """Tolerances under which two accepted records of a file are flagged as possible duplicates
    (same national code, times within ``minutes``): both located within ``metres``, or, when
    one has no coordinates, the same area and person attributes (victim sex and age; custody:
    person key, sex and age). See :mod:`talaia.ingest.pipeline`."""

    metres: float = Field(default=50.0, ge=0)
    minutes: float = Field(default=30.0, ge=0)


class SourceInfo(_Model):
    """Registration of the source when it is not yet in the store."""

    agency_code: str
    agency_name: str
    kind: Literal[
        "police", "forensic", "health", "prosecution", "court", "prison", "emergency", "survey"
    ]
    name: str


class SourceProfile(_Model):
    """A source profile (see the module docstring)."""

    source: str
    profile_version: int = Field(ge=1)
    description: str = ""
    format: Format
    encoding: str | None = None
    delimiter: str | None = None
    quote: str = '"'
    decimal: str = "."
    thousands: str | None = None
    sheet: str | None = None
    header_row: int = Field(default=1, ge=1)
    record: Literal["incident", "custody"] = "incident"
    fields: dict[str, FieldSpec]
    id_template: str | None = None
    area: AreaSpec
    crs: str = "EPSG:4326"
    bounds: tuple[float, float, float, float] | None = None
    crosswalk: str | None = None
    natural_key: tuple[str, ...] = ("incident.external_id",)
    near_duplicates: NearDuplicateSpec | None = NearDuplicateSpec()
    personal_identifiers: tuple[str, ...] = ()
    max_quarantined_share: float = Field(default=0.5, ge=0, le=1)
    allow_empty: bool = False
    period_pattern: str | None = None
    source_info: SourceInfo | None = None

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, v: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        for name in v:
            table, _, col = name.partition(".")
            if table not in TABLES or col not in TABLES[table].names:
                raise ValueError(f"unknown canonical field {name!r} (use table.column)")
            if col in ("person_key",):
                continue
            if col in VOCABULARIES and v[name].values:
                bad = {t for t in v[name].values.values() if t is not None} - set(
                    VOCABULARIES[col].tokens()
                )
                if bad:
                    raise ValueError(f"{name}: values {sorted(bad)} are not tokens of {col}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SourceProfile:
        tables = {n.split(".")[0] for n in self.fields}
        if self.record == "custody" and tables - {"custody"}:
            raise ValueError("a custody profile maps only custody.* fields")
        if self.record == "incident" and "custody" in tables:
            raise ValueError("an incident profile cannot map custody.* fields")
        if (
            self.format in ("csv", "tsv")
            and self.delimiter is not None
            and len(self.delimiter) != 1
        ):
            raise ValueError("delimiter must be one character")
        for f in self.formats_used():
            if "%" not in f and f not in SPECIAL_DATE_FORMATS:
                raise ValueError(f"unknown date format {f!r}")
        if self.decimal == self.thousands:
            raise ValueError("decimal and thousands separators must differ")
        return self

    def formats_used(self) -> list[str]:
        return [f for spec in self.fields.values() for f in spec.formats]

    @cached_property
    def profile_hash(self) -> str:
        """SHA-256 (hex) of the profile's canonical JSON."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def columns_used(self) -> set[str]:
        """Columns of the delivered file the profile reads."""
        cols = {s.column for s in self.fields.values() if s.column}
        cols |= {s.time_column for s in self.fields.values() if s.time_column}
        if self.area.column:
            cols.add(self.area.column)
        return cols

    def required_columns(self) -> set[str]:
        """Columns that must be present in the file's header."""
        return {c for c in self.columns_used() if c}


def load_profile(path: str | Path) -> tuple[SourceProfile, Path]:
    """Read and validate a profile YAML file.

    Returns
    -------
    (profile, folder)
        The validated profile and the folder it was read from (relative paths in the profile,
        such as the crosswalk and the area file, are resolved against it).

    Raises
    ------
    UserInputError
        Naming the file and every invalid field.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(f"{path}: profile not found / perfil no encontrado") from None
    except yaml.YAMLError as exc:
        raise UserInputError(f"{path}: not valid YAML / YAML no válido: {exc}") from None
    if not isinstance(data, dict):
        raise UserInputError(f"{path}: a profile is a YAML mapping / un perfil es un mapeo YAML")
    try:
        return SourceProfile.model_validate(data), path.parent
    except ValidationError as exc:
        msgs = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise UserInputError(f"{path}: invalid profile / perfil no válido: {msgs}") from None
