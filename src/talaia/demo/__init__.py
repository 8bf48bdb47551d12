"""The demo country generator.

``talaia.demo.generate(out_dir, seed=20240101, scale=1.0, years=2019..2024, progress=None)``
writes the folder of docs/contracts.md §3 for a fictional country (*República de Talaia*) and
returns a :class:`GenerationResult`. Same seed → byte-identical files.

Country
    7 regions → 40 provinces → ~220 municipalities; real polygons (nested Voronoi cells clipped
    to an irregular national outline; see :mod:`talaia.demo.country`). Codes: ``R01`` (region;
    ``R01`` is the capital region), ``R01P02`` (province), ``R01P02M03`` (municipality).
    Population by municipality, year (growth ~1%/year), sex and five-year age group;
    6 million × ``scale`` inhabitants.
Sources (contracts §2)
    ``policia_nacional`` (all regions but the capital), ``policia_metropolitana`` (the capital
    region; its month ``2021-07`` is never delivered), ``medicina_legal`` (homicide and traffic
    deaths; records some the police miss and misses some they record, by region),
    ``penitenciario`` (admissions, pre-trial or sentenced). Each has its own Spanish code list
    and crosswalk to ICCS (:mod:`talaia.demo.catalogue`) and raw format
    (:mod:`talaia.demo.formats`: columns and Spanish value labels for ingestion profiles).
Pseudonyms
    Raw files carry national ID numbers (cédula, ``N-NNNN-NNNN``); canonical records only
    ``person_key = HMAC-SHA256(DEMO_SECRET, cédula)`` in hex, ``DEMO_SECRET =
    b"talaia-demo-secret"`` (:func:`person_key`). The same person has the same key in police
    and prison records.
Truth (``OUT/truth``)
    ``offences.parquet`` / ``victims.parquet`` (per source, municipality, month, true ICCS code
    [, victim sex]), ``custody.parquet``, ``deaths.parquet`` (true intentional-homicide deaths
    and how many each service recorded), ``defects.csv`` (file, row, kind, ...), and
    ``summary.json``. See :mod:`talaia.demo.generator` for the exact columns.
Defects (raw files only)
    exact and near duplicates, impossible dates (31/02), unknown national codes (not in the
    crosswalk), points outside the country, swapped latitude/longitude (rows that are not real
    records: ``action=drop``), missing victim sex or age (real records, ``action=blank``), and
    the never-delivered month.
"""

from talaia.demo.generator import (
    DEFAULT_SEED,
    DEFAULT_YEARS,
    SOURCES,
    GenerationResult,
    SourceSummary,
    generate,
)
from talaia.demo.sources import DEMO_SECRET, person_key

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_YEARS",
    "DEMO_SECRET",
    "SOURCES",
    "GenerationResult",
    "SourceSummary",
    "generate",
    "person_key",
]
