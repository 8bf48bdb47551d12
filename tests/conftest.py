"""Shared test fixtures: real SQLite and real PostgreSQL stores.

Fixtures
--------
``pg_server`` (session)
    A real PostgreSQL server started from Debian's binaries (``/usr/lib/postgresql/*/bin``) in
    a temporary folder, on a free port, listening on a unix socket in that folder, with
    ``fsync=off``. Runs as the ``postgres`` user (``initdb`` refuses root). Yields a
    :class:`PgServer`; stopped at the end of the session. If the binaries are missing the
    fixture FAILS with a clear message (it never skips).
``pg_url``
    A fresh, empty PostgreSQL database for one test (created from ``template0``); yields its
    SQLAlchemy URL ``postgresql+psycopg://postgres@/<db>?host=<socket dir>&port=<port>``.
    The database is dropped after the test.
``sqlite_url``
    A fresh SQLite file in the test's ``tmp_path``; yields ``sqlite:///<path>``.
``store_url``
    Parametrized over ``sqlite`` and ``postgresql``: a fresh, empty database of each kind.
    Use it to run one test on both back ends (the PostgreSQL case carries the ``postgres``
    marker).
``store_engine``
    ``store_url`` opened with :func:`talaia.store.database.get_engine` and migrated to head
    with :func:`talaia.store.database.upgrade` (roles seeded, no reference data). Disposed
    after the test.
``handmade_out``
    A small hand-made canonical output folder (docs/contracts.md §3: ``reference/`` and
    ``canonical/<source>/<YYYY-MM>/``) in ``tmp_path``, with every value known (``HANDMADE``,
    ``HANDMADE_AREAS`` below; ``handmade_table(name, rows)`` builds canonical Arrow tables).
    Import helpers as ``from tests.conftest import HANDMADE, handmade_table``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class PgServer:
    """A running PostgreSQL server started for the test session."""

    bindir: Path
    socket_dir: Path
    port: int

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def psql(self, sql: str) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        pytest.fail(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): install "
            "the Debian package postgresql to run the store tests on PostgreSQL",
            pytrace=False,
        )
    return Path(candidates[-1]).parent


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = _pg_bindir()
    if shutil.which("runuser") is None:
        pytest.fail("runuser not found: needed to run PostgreSQL as the postgres user")
    root = Path(tempfile.mkdtemp(prefix="talaia-pg-"))
    datadir, sockdir = root / "data", root / "sock"
    datadir.mkdir()
    sockdir.mkdir()
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(root, "postgres")
        shutil.chown(datadir, "postgres")
        shutil.chown(sockdir, "postgres")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    port = _free_port()
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    opts = (
        f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off -p {port} "
        f"-c listen_addresses='' -c unix_socket_directories='{sockdir}' -c max_connections=50"
    )
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "-l",
            str(root / "server.log"),
            "start",
        ],
        check=True,
        capture_output=True,
    )
    server = PgServer(bindir=bindir, socket_dir=sockdir, port=port)
    try:
        yield server
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    name = "t_" + uuid.uuid4().hex[:12]
    pg_server.psql(f"CREATE DATABASE {name} TEMPLATE template0")
    try:
        yield pg_server.url(name)
    finally:
        pg_server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def store_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store_engine(store_url: str):  # type: ignore[no-untyped-def]
    from talaia.store.database import get_engine, upgrade

    engine = get_engine(store_url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


# --- a hand-made canonical output folder (docs/contracts.md §3) ---------------------------------
#
# ``handmade_out`` (fixture) writes it to tmp_path and returns the folder. Small enough to check
# every warehouse value by hand:
#   areas      01 (l1) > 0101 (l2) > 010101, 010102 (l3);  02 > 0201 > 020101
#   sources    policia_nacional (PN, police) expected 2024-01..2024-03, delivered 01 and 03
#              (2024-02 missing); penitenciario (SPN, prison) expected from 2024-01 (open),
#              delivered 2024-01 and 2024-02.


def _ts(text: str | None):  # type: ignore[no-untyped-def]
    import datetime as dt

    return None if text is None else dt.datetime.fromisoformat(text)


HANDMADE_AREAS = [
    # code, name, level, parent
    ("01", "Norte", 1, None),
    ("02", "Sur", 1, None),
    ("0101", "Capital", 2, "01"),
    ("0201", "Llanos", 2, "02"),
    ("010101", "Centro", 3, "0101"),
    ("010102", "Puerto", 3, "0101"),
    ("020101", "Villa", 3, "0201"),
]

HANDMADE = {
    ("policia_nacional", "2024-01"): {
        "incident": [
            # external_id, from, to, precision, area, lon, lat, weapon, context
            dict(
                external_id="PN-1",
                occurred_from="2024-01-01 00:30:00",
                occurred_to=None,
                occurred_precision="minute",
                reported_at="2024-01-01 02:00:00",
                area_code="010101",
                lon=-70.1,
                lat=10.1,
                location_type="street",
                attempted="completed",
                weapon="firearm",
                situational_context="gang",
                motive=None,
                cyber_related=False,
            ),
            dict(
                external_id="PN-2",
                occurred_from="2021-01-01 00:00:00",
                occurred_to=None,
                occurred_precision="day",
                reported_at="2024-01-15 09:00:00",
                area_code="020101",
                lon=None,
                lat=None,
                location_type="residence",
                attempted=None,
                weapon=None,
                situational_context="intimate_partner_family",
                motive=None,
                cyber_related=None,
            ),
            dict(
                external_id="PN-3",
                occurred_from="2024-01-20 22:00:00",
                occurred_to="2024-01-21 06:00:00",
                occurred_precision="range",
                reported_at=None,
                area_code="010102",
                lon=-70.2,
                lat=10.2,
                location_type="residence",
                attempted="attempted",
                weapon=None,
                situational_context=None,
                motive="illicit_gain",
                cyber_related=False,
            ),
        ],
        "offence": [
            dict(
                external_id="O-1",
                incident_ref="PN-1",
                national_code="HOM-01",
                national_label="Homicidio",
                iccs_code="0101",
                crosswalk_version=1,
                mapping_type="exact",
            ),
            dict(
                external_id="O-2",
                incident_ref="PN-1",
                national_code="LES-01",
                national_label="Lesiones",
                iccs_code="020111",
                crosswalk_version=1,
                mapping_type="narrower",
            ),
            dict(
                external_id="O-3",
                incident_ref="PN-2",
                national_code="VIF",
                national_label="Violencia intrafamiliar",
                iccs_code="02",
                crosswalk_version=1,
                mapping_type="broader",
            ),
            dict(
                external_id="O-4",
                incident_ref="PN-3",
                national_code="XX-99",
                national_label="Desconocido",
                iccs_code=None,
                crosswalk_version=None,
                mapping_type=None,
            ),
        ],
        "victim": [
            dict(
                external_id="V-1",
                incident_ref="PN-1",
                offence_ref="O-2",
                person_key=None,
                sex="male",
                age=37,
                relationship="stranger",
                citizenship="national",
                outcome="serious_injury",
            ),
            dict(
                external_id="V-2",
                incident_ref="PN-1",
                offence_ref=None,
                person_key=None,
                sex="female",
                age=85,
                relationship=None,
                citizenship=None,
                outcome="killed",
            ),
            dict(
                external_id="V-3",
                incident_ref="PN-2",
                offence_ref=None,
                person_key=None,
                sex="female",
                age=None,
                relationship="current_partner",
                citizenship="national",
                outcome="minor_injury",
            ),
        ],
        "perpetrator": [
            dict(
                external_id="P-1",
                incident_ref="PN-1",
                offence_ref="O-1",
                person_key="ab" * 32,
                sex="male",
                age=4,
                relationship=None,
                citizenship="foreign",
                recidivist=True,
            ),
            dict(
                external_id="P-2",
                incident_ref="PN-2",
                offence_ref=None,
                person_key="cd" * 32,
                sex="male",
                age=40,
                relationship="current_partner",
                citizenship=None,
                recidivist=None,
            ),
        ],
    },
    ("policia_nacional", "2024-03"): {
        "incident": [
            dict(
                external_id="PN-10",
                occurred_from="2024-03-31 23:59:00",
                occurred_to=None,
                occurred_precision="minute",
                reported_at=None,
                area_code="0101",
                lon=None,
                lat=None,
                location_type=None,
                attempted=None,
                weapon=None,
                situational_context=None,
                motive=None,
                cyber_related=True,
            ),
        ],
        "offence": [
            dict(
                external_id="O-10",
                incident_ref="PN-10",
                national_code="ROB",
                national_label="Robo",
                iccs_code="0501",
                crosswalk_version=2,
                mapping_type="exact",
            ),
        ],
        "victim": [],
        "perpetrator": [],
    },
    ("penitenciario", "2024-01"): {
        "custody": [
            dict(
                external_id="C-1",
                person_key="ef" * 32,
                facility_code="F1",
                area_code="010101",
                admitted_at="2024-01-05 10:15:00",
                released_at=None,
                custody_status="pretrial",
                sex="male",
                age=22,
                citizenship="national",
                national_code="HOM-01",
                iccs_code="0101",
            ),
            dict(
                external_id="C-2",
                person_key="ab" * 32,
                facility_code="F2",
                area_code="020101",
                admitted_at="2024-01-31 00:00:00",
                released_at="2024-02-10 00:00:00",
                custody_status="sentenced",
                sex="female",
                age=80,
                citizenship="foreign",
                national_code=None,
                iccs_code=None,
            ),
        ],
    },
    ("penitenciario", "2024-02"): {
        "custody": [
            dict(
                external_id="C-3",
                person_key=None,
                facility_code="F1",
                area_code="010102",
                admitted_at="2024-02-29 12:00:00",
                released_at=None,
                custody_status=None,
                sex=None,
                age=None,
                citizenship=None,
                national_code="ROB",
                iccs_code="050111",
            ),
        ],
    },
}


def handmade_table(name: str, rows: list[dict]):  # type: ignore[no-untyped-def]
    """A canonical Arrow table of ``name`` from hand-written rows (timestamps as ISO text)."""
    import pyarrow as pa

    from talaia.records.schema import TABLES

    schema = TABLES[name]
    cols = {}
    for f in schema:
        values = [r.get(f.name) for r in rows]
        if pa.types.is_timestamp(f.type):
            values = [_ts(v) for v in values]
        cols[f.name] = pa.array(values, f.type)
    return pa.table(cols, schema=schema)


def write_handmade_tree(out) -> None:  # type: ignore[no-untyped-def]
    """Write the hand-made reference + canonical folders into ``out``."""
    import datetime as dt
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    ref = out / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "code": [a[0] for a in HANDMADE_AREAS],
                "name": [a[1] for a in HANDMADE_AREAS],
                "level": pa.array([a[2] for a in HANDMADE_AREAS], pa.int8()),
                "parent_code": [a[3] for a in HANDMADE_AREAS],
                "geometry": [None] * len(HANDMADE_AREAS),
                "valid_from": pa.array([dt.date(2000, 1, 1)] * len(HANDMADE_AREAS), pa.date32()),
                "valid_to": pa.array([None] * len(HANDMADE_AREAS), pa.date32()),
            }
        ),
        ref / "areas.parquet",
    )
    pop = [
        (area, 2024, sex, grp, 1000 + 10 * k)
        for k, (area, sex, grp) in enumerate(
            (a, s, g)
            for a in ("010101", "010102", "020101")
            for s in ("male", "female")
            for g in ("00-04", "80+")
        )
    ]
    pq.write_table(
        pa.table(
            {
                "area_code": [p[0] for p in pop],
                "year": pa.array([p[1] for p in pop], pa.int16()),
                "sex": [p[2] for p in pop],
                "age_group": [p[3] for p in pop],
                "population": pa.array([p[4] for p in pop], pa.int64()),
            }
        ),
        ref / "population.parquet",
    )
    (ref / "agencies.json").write_text(
        json.dumps(
            {
                "agencies": [
                    {"code": "PN", "name": "Policía Nacional", "kind": "police"},
                    {"code": "SPN", "name": "Servicio Penitenciario Nacional", "kind": "prison"},
                ],
                "sources": [
                    {
                        "code": "policia_nacional",
                        "agency_code": "PN",
                        "kind": "police",
                        "name": "Policía Nacional",
                        "expected_from": "2024-01",
                        "expected_to": "2024-03",
                        "crosswalk": "policia_nacional",
                        "raw_format": "csv",
                    },
                    {
                        "code": "penitenciario",
                        "agency_code": "SPN",
                        "kind": "prison",
                        "name": "Servicio Penitenciario",
                        "expected_from": "2024-01",
                        "expected_to": None,
                        "crosswalk": None,
                        "raw_format": "jsonl",
                    },
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    for (source, month), tables in HANDMADE.items():
        folder = out / "canonical" / source / month
        folder.mkdir(parents=True, exist_ok=True)
        for name, rows in tables.items():
            pq.write_table(handmade_table(name, rows), folder / f"{name}.parquet")


@pytest.fixture
def handmade_out(tmp_path: Path) -> Path:
    """The hand-made canonical output folder (see ``HANDMADE`` in tests/conftest.py)."""
    out = tmp_path / "out"
    write_handmade_tree(out)
    return out
