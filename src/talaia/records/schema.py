"""Arrow schemas of Talaia's canonical records.

These schemas are the contract between the parts of Talaia: the demo generator writes them (as
Parquet), ingestion produces them from any agency's file, the store holds them (its tables carry
the same columns plus provenance), and the warehouse denormalizes them into fact tables.

Conventions
-----------
- Codes are strings (area codes, ICCS codes such as ``"0101"``, national codes): never integers,
  so that leading zeros survive.
- Times are local civil time of the country, without time zone (``timestamp[s]``).
  ``occurred_from`` is always set; ``occurred_to`` is set when the agency only knows a range
  (aoristic data). ``occurred_precision`` is ``"minute"``, ``"day"`` (no time of day known) or
  ``"range"``.
- Coordinates are WGS84 longitude / latitude (EPSG:4326).
- Categorical variables use the tokens of :mod:`talaia.records.vocab`; NULL means *not known*.
- ``external_id`` is the agency's own identifier of the record, unique within a source.
  Child records (offence, victim, perpetrator) point to their incident by ``incident_ref``
  (= the incident's ``external_id``), and a victim or perpetrator may point to a specific offence
  by ``offence_ref``. The store assigns integer surrogate keys on load.
- ``person_key`` is a pseudonym: HMAC-SHA256 (hex) of the personal identifier under the
  deployment secret. Personal identifiers never appear in clear in canonical records.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import pyarrow as pa

TS = pa.timestamp("s")

INCIDENT = pa.schema(
    [
        pa.field("external_id", pa.string(), nullable=False),
        pa.field("occurred_from", TS, nullable=False),
        pa.field("occurred_to", TS),
        pa.field("occurred_precision", pa.string(), nullable=False),
        pa.field("reported_at", TS),
        pa.field("area_code", pa.string(), nullable=False),
        pa.field("lon", pa.float64()),
        pa.field("lat", pa.float64()),
        pa.field("location_type", pa.string()),
        pa.field("attempted", pa.string()),
        pa.field("weapon", pa.string()),
        pa.field("situational_context", pa.string()),
        pa.field("motive", pa.string()),
        pa.field("cyber_related", pa.bool_()),
    ]
)

OFFENCE = pa.schema(
    [
        pa.field("external_id", pa.string(), nullable=False),
        pa.field("incident_ref", pa.string(), nullable=False),
        pa.field("national_code", pa.string(), nullable=False),
        pa.field("national_label", pa.string()),
        pa.field("iccs_code", pa.string()),
        pa.field("crosswalk_version", pa.int32()),
        pa.field("mapping_type", pa.string()),
    ]
)

VICTIM = pa.schema(
    [
        pa.field("external_id", pa.string(), nullable=False),
        pa.field("incident_ref", pa.string(), nullable=False),
        pa.field("offence_ref", pa.string()),
        pa.field("person_key", pa.string()),
        pa.field("sex", pa.string()),
        pa.field("age", pa.int16()),
        pa.field("relationship", pa.string()),
        pa.field("citizenship", pa.string()),
        pa.field("outcome", pa.string()),
    ]
)

PERPETRATOR = pa.schema(
    [
        pa.field("external_id", pa.string(), nullable=False),
        pa.field("incident_ref", pa.string(), nullable=False),
        pa.field("offence_ref", pa.string()),
        pa.field("person_key", pa.string()),
        pa.field("sex", pa.string()),
        pa.field("age", pa.int16()),
        pa.field("relationship", pa.string()),
        pa.field("citizenship", pa.string()),
        pa.field("recidivist", pa.bool_()),
    ]
)

#: Prison service records: one row per person admitted to custody.
CUSTODY = pa.schema(
    [
        pa.field("external_id", pa.string(), nullable=False),
        pa.field("person_key", pa.string()),
        pa.field("facility_code", pa.string()),
        pa.field("area_code", pa.string(), nullable=False),
        pa.field("admitted_at", TS, nullable=False),
        pa.field("released_at", TS),
        pa.field("custody_status", pa.string()),
        pa.field("sex", pa.string()),
        pa.field("age", pa.int16()),
        pa.field("citizenship", pa.string()),
        pa.field("national_code", pa.string()),
        pa.field("iccs_code", pa.string()),
    ]
)

TABLES: Mapping[str, pa.Schema] = MappingProxyType(
    {
        "incident": INCIDENT,
        "offence": OFFENCE,
        "victim": VICTIM,
        "perpetrator": PERPETRATOR,
        "custody": CUSTODY,
    }
)


def conform(table: pa.Table, name: str) -> pa.Table:
    """Return ``table`` with exactly the columns of canonical schema ``name``, in order and cast.

    Missing nullable columns are added as nulls; extra columns are dropped. Raises ``KeyError``
    naming the missing column when a non-nullable column is absent.
    """
    schema = TABLES[name]
    cols = []
    for field in schema:
        if field.name in table.column_names:
            cols.append(table.column(field.name).cast(field.type))
        elif field.nullable:
            cols.append(pa.nulls(table.num_rows, field.type))
        else:
            raise KeyError(f"{name}: required column {field.name!r} is missing")
    return pa.Table.from_arrays(cols, schema=schema)
