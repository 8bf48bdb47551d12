"""Load the demo country's raw agency files through the ingestion pipeline (defects included).

:func:`ingest_demo_raw` is what ``talaia demo`` calls to load ``OUT/raw/<source>/*`` with the
profiles shipped in :mod:`talaia.ingest.profiles` (``demo/<source>.yaml``): the crosswalks of
``OUT/crosswalks`` are saved as store versions first (a no-op when unchanged), then every file
is ingested in name order (months in order), each as one batch. The reference data (areas,
agencies, sources) must already be in the store (``talaia.store.canonical.load_reference``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from talaia.errors import DataError
from talaia.ingest.service import IngestResult, ingest_file

DEMO_SOURCES = ("policia_nacional", "policia_metropolitana", "medicina_legal", "penitenciario")


def save_demo_crosswalks(engine: Engine, out_dir: Path | str, user: str | None = None) -> dict:
    """Save ``OUT/crosswalks/*.csv`` as crosswalk versions; returns code -> version."""
    from talaia.classification.validation import validate_file
    from talaia.store.crosswalks import save_version

    versions = {}
    for f in sorted((Path(out_dir) / "crosswalks").glob("*.csv")):
        rep = validate_file(f, code=f.stem)
        if rep.crosswalk is None:
            raise DataError(f"{f}: crosswalk has errors / tabla con errores")
        versions[f.stem] = save_version(
            engine, f.stem, rep.crosswalk.rows, f.name, rep.file_hash, loaded_by=user
        )
    return versions


def ingest_demo_raw(
    engine: Engine,
    out_dir: Path | str,
    user: str | None = "demo",
    progress: Callable[[int, int], None] | None = None,
    refresh_warehouse: bool = False,
) -> list[IngestResult]:
    """Ingest every raw file of a demo output folder; returns one result per file.

    ``progress(files_done, files_total)`` after each file. The warehouse is not refreshed per
    batch unless asked (refresh it once at the end: ``talaia.warehouse.refresh``).
    """
    out = Path(out_dir)
    save_demo_crosswalks(engine, out, user)
    files = [
        (s, f) for s in DEMO_SOURCES for f in sorted((out / "raw" / s).glob("*")) if f.is_file()
    ]
    results = []
    for i, (source, f) in enumerate(files):
        results.append(
            ingest_file(engine, f, source, None, user, refresh_warehouse=refresh_warehouse)
        )
        if progress:
            progress(i + 1, len(files))
    return results
