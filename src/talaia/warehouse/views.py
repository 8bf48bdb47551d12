"""The warehouse as one audience may see it: only the facts of published batches.

:func:`open_views` attaches the warehouse file read-only to an in-memory DuckDB database and
declares, under the warehouse's own table names, views that keep only the facts of the given
batches and count a source-month as delivered only when the batch that delivered it is one of
them. The indicator engine runs unchanged on either connection, so what the public is shown is
computed from published data alone: an unpublished batch cannot leak into a total, a reference
period or a zero.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from talaia.errors import NotFoundError

__all__ = ["Views", "open_views"]


@dataclass(frozen=True, slots=True)
class Views:
    """Two cursors on one in-memory database.

    Attributes
    ----------
    published
        The warehouse restricted to the published batches (the views).
    full
        The warehouse as built (every current batch).
    """

    published: duckdb.DuckDBPyConnection
    full: duckdb.DuckDBPyConnection


_KEEP = "batch_id IN (SELECT id FROM talaia_published)"


@contextmanager
def open_views(path: str | Path, published: frozenset[int]) -> Iterator[Views]:
    """The warehouse at ``path`` with its published-only views (closed on exit)."""
    path = Path(path)
    if not path.exists():
        raise NotFoundError("no warehouse has been built yet: load data first")
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH '{_quote(path)}' AS wh (READ_ONLY)")
        con.execute("CREATE TABLE talaia_published (id BIGINT PRIMARY KEY)")
        if published:
            con.executemany(
                "INSERT INTO talaia_published VALUES (?)", [(int(i),) for i in sorted(published)]
            )
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'wh' "
                "AND schema_name = 'main'"
            ).fetchall()
        ]
        for name in names:
            if name.startswith("fact_"):
                body = f"SELECT * FROM wh.main.{name} WHERE {_KEEP}"
            elif name == "source_month":
                body = (
                    "SELECT * REPLACE ("
                    f"delivered AND coalesce({_KEEP}, false) AS delivered, "
                    f"CASE WHEN {_KEEP} THEN batch_id END AS batch_id, "
                    f"CASE WHEN {_KEEP} THEN rows END AS rows) FROM wh.main.source_month"
                )
            else:
                body = f"SELECT * FROM wh.main.{name}"
            con.execute(f'CREATE VIEW "{name}" AS {body}')
        full = con.cursor()
        full.execute("USE wh")
        try:
            yield Views(con, full)
        finally:
            full.close()
    finally:
        con.close()


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
