"""Connections to the store and its schema migrations.

The store is SQLAlchemy 2 on SQLite (one file in the data folder, WAL mode, foreign keys
enforced) or PostgreSQL. Its schema is managed by Alembic migrations shipped inside the package
(``talaia/store/migrations``) and run programmatically: users need no ``alembic.ini``.

Bulk reads and writes go through Arrow: :func:`bulk_connect` opens an ADBC connection on
PostgreSQL (``COPY``), the standard ``sqlite3`` driver on SQLite.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"

#: Milliseconds an SQLite connection waits for another writer before failing.
SQLITE_BUSY_MS = 30_000

#: Page size of a new SQLite store, in bytes (SQLite's largest). The store is written in bulk
#: (a batch is millions of rows in one transaction) and read by batch: against the default
#: 4 KiB, a 1M-row batch's copy and commit took about a third less time (benchmarks/
#: ingest_speed.py), with 16 times fewer WAL frames. It takes effect only when the file is
#: created (an existing store keeps its page size).
SQLITE_PAGE_SIZE = 65_536


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # before WAL; a no-op once created
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def get_engine(url: str | None = None) -> Engine:
    """Open the store.

    Parameters
    ----------
    url
        SQLAlchemy URL; ``None`` reads ``talaia.settings.get_settings().resolved_database_url()``
        (``TALAIA_DATABASE_URL``, default an SQLite file in the data folder).

    Returns
    -------
    Engine
        On SQLite the data folder is created and every connection is put in WAL mode with
        foreign keys on and a busy timeout.
    """
    if url is None:
        from talaia.settings import get_settings

        url = get_settings().resolved_database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    url = engine.url.render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the store's schema to ``revision`` (Alembic, default ``head``)."""
    from alembic import command

    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


#: Tables a migration seeds: kept by :func:`empty_store`.
SEEDED_TABLES = ("role",)


def empty_store(engine: Engine) -> list[str]:
    """Delete every row the application wrote, in one transaction: the schema, its revision
    and the seeded tables (:data:`SEEDED_TABLES`) stay. PostgreSQL: ``TRUNCATE ... RESTART
    IDENTITY``; SQLite: ``DELETE`` (foreign keys off for it). Returns the tables emptied."""
    from talaia.store.models import Base

    names = [t.name for t in Base.metadata.sorted_tables if t.name not in SEEDED_TABLES]
    present = set(table_names(engine))
    names = [n for n in names if n in present]
    if not names:
        return []
    with engine.begin() as conn:
        if is_sqlite(engine):
            conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            for n in reversed(names):  # children first
                conn.exec_driver_sql(f"DELETE FROM {n}")
        else:
            conn.exec_driver_sql(f"TRUNCATE TABLE {', '.join(names)} RESTART IDENTITY")
    return names


def current_revision(engine: Engine) -> str | None:
    """The store's current Alembic revision (``None`` on an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest migration shipped with this version of Talaia."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())


class SqliteArrowCursor:
    """A ``sqlite3`` cursor with ADBC's ``fetch_arrow_table``: the last SELECT is read into Arrow
    through :func:`talaia.store.staging.read_sqlite` (no Python object per value)."""

    def __init__(self, cur: Any) -> None:
        self._cur = cur
        self._sql: str | None = None

    def execute(self, sql: str, params: Any = None) -> None:
        if params is None and re.match(r"\s*(SELECT|WITH)\b", sql, re.IGNORECASE):
            self._sql = sql  # read when fetched (fetch_arrow_table) or run now (fetchall)
            return
        self._sql = None
        self._cur.execute(sql, params or ())

    def executemany(self, sql: str, rows: Any) -> None:
        self._sql = None
        self._cur.executemany(sql, rows)

    def fetchall(self) -> list[Any]:
        if self._sql is not None:
            sql, self._sql = self._sql, None
            self._cur.execute(sql)
        return list(self._cur.fetchall())

    def fetch_arrow_table(self) -> Any:
        from talaia.store.staging import read_sqlite

        if self._sql is None:
            raise RuntimeError("fetch_arrow_table: no SELECT was executed")
        sql, self._sql = self._sql, None
        return read_sqlite(self._cur.connection, sql)

    def close(self) -> None:
        self._cur.close()


class SqliteArrowConnection:
    """A ``sqlite3`` connection (autocommit; the caller sends BEGIN/COMMIT) with Arrow cursors."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def cursor(self) -> SqliteArrowCursor:
        return SqliteArrowCursor(self._conn.cursor())

    def close(self) -> None:
        self._conn.close()


def bulk_connect(engine: Engine) -> Any:
    """Open a DB-API connection for bulk Arrow reads and writes, in autocommit mode.

    PostgreSQL: an ADBC connection (``adbc_ingest`` = ``COPY``; ``fetch_arrow_table``).
    SQLite: the standard library's ``sqlite3`` (the same SQLite library as SQLAlchemy's
    engine) wrapped in :class:`SqliteArrowConnection`, with the engine's pragmas. Not the ADBC
    SQLite driver: a second copy of the SQLite library in one process breaks SQLite's POSIX
    locking (a closing ADBC connection believes it is the last one, checkpoints and drops the
    WAL under the other library's connections, which then read stale pages; seen in this
    package's tests). Transactions are the caller's: ``BEGIN IMMEDIATE`` / ``COMMIT`` on
    SQLite, ``BEGIN`` / ``COMMIT`` on PostgreSQL.
    """
    url = engine.url
    if url.get_backend_name() == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url.database or ":memory:", isolation_level=None)
        _sqlite_pragmas(conn, None)
        return SqliteArrowConnection(conn)
    import adbc_driver_postgresql.dbapi as pg_dbapi

    uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return pg_dbapi.connect(uri, autocommit=True)


#: Former name of :func:`bulk_connect` (kept: other modules call it).
adbc_connect = bulk_connect


def read_arrow(engine: Engine, sql: str) -> Any:
    """Run one SELECT and return its result as a ``pyarrow.Table`` (see :func:`bulk_connect`)."""
    conn = bulk_connect(engine)
    try:
        cur = conn.cursor()
        cur.execute(sql)
        table = cur.fetch_arrow_table()
        cur.close()
        return table
    finally:
        conn.close()
