"""Ingesting the demo agencies' raw files with the shipped profiles matches the generator's truth:
every row accounted for, the quarantined rows are exactly the injected defects (same row, same
kind), the duplicates are the injected exact copies, the accepted records are the canonical ones
(plus the near duplicates, which are flagged, not dropped) and pseudonyms equal the generator's."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import text

SOURCES = ("policia_nacional", "policia_metropolitana", "medicina_legal", "penitenciario")
RULE = {
    "impossible_date": "invalid_date",
    "unknown_code": "unknown_code",
    "outside_country": "coordinates_outside_country",
    "swapped_latlon": "coordinates_swapped",
}
FILES_PER_SOURCE = 3

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from talaia.classification.validation import validate_file
    from talaia.demo import generate
    from talaia.settings import get_settings
    from talaia.store.canonical import load_reference
    from talaia.store.crosswalks import save_version
    from talaia.store.database import get_engine, upgrade

    out = tmp_path_factory.mktemp("demo")
    generate(out, scale=0.01, years=(2023, 2024))
    mp = pytest.MonkeyPatch()
    mp.setenv("TALAIA_DATA_DIR", str(out / "data"))
    mp.setenv("TALAIA_SECRET_KEY", "talaia-demo-secret")  # the generator's DEMO_SECRET
    get_settings.cache_clear()
    engine = get_engine(f"sqlite:///{out / 'store.sqlite'}")
    upgrade(engine)
    load_reference(engine, out)
    for f in sorted((out / "crosswalks").glob("*.csv")):
        rep = validate_file(f, code=f.stem)
        save_version(engine, f.stem, rep.crosswalk.rows, f.name, rep.file_hash)
    yield out, engine
    mp.undo()
    get_settings.cache_clear()


def _truth(out: Path) -> dict[str, list[dict]]:
    by_file: dict[str, list[dict]] = defaultdict(list)
    with (out / "truth" / "defects.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            by_file[r["file"]].append(r)
    return by_file


@pytest.mark.parametrize("source", SOURCES)
def test_demo_raw_files_match_truth(demo, source):
    import json

    from talaia.ingest.service import ingest_file

    out, engine = demo
    truth = _truth(out)
    every = sorted((out / "raw" / source).iterdir())
    # the first months, plus every month with an injected near duplicate (so that each source's
    # near-duplicate rule is exercised); in month order (earlier batches come first)
    near_files = {
        f
        for f in every
        if any(d["kind"] == "near_duplicate" for d in truth[f"raw/{source}/{f.name}"])
    }
    assert near_files, source
    files = sorted(set(every[:FILES_PER_SOURCE]) | near_files)
    for f in files:
        res = ingest_file(engine, f, source, None, "demo", refresh_warehouse=False)
        assert res.outcome == "loaded", (f.name, res.report.get("reasons"))
        defects = truth[f"raw/{source}/{f.name}"]
        ym = f.stem.rsplit("_", 1)[1]
        unit = "custody" if source == "penitenciario" else "incident"
        canon = pq.read_table(out / "canonical" / source / ym / f"{unit}.parquet")
        # every row accounted for
        assert res.rows_read == res.rows_accepted + res.rows_quarantined + res.rows_duplicate
        assert res.rows_read == canon.num_rows + sum(d["action"] == "drop" for d in defects)
        with engine.connect() as c:
            q = c.execute(
                text("SELECT row_number, reasons FROM quarantine_row WHERE batch_id = :b"),
                {"b": res.batch_id},
            ).all()
            ids = {
                r[0]
                for r in c.execute(
                    text(f"SELECT external_id FROM {unit} WHERE batch_id = :b"), {"b": res.batch_id}
                )
            }
        got_q = {(r, tuple(sorted(x["rule"] for x in json.loads(reasons)))) for r, reasons in q}
        want_q = {(int(d["row"]), (RULE[d["kind"]],)) for d in defects if d["kind"] in RULE}
        assert got_q == want_q, f.name
        got_d = {(d["row_number"], d["first_row"]) for d in _dups(res)}
        want_d = {
            (int(d["row"]), int(d["original_row"]))
            for d in defects
            if d["kind"] == "exact_duplicate"
        }
        assert got_d == want_d, f.name
        near = {d["external_id"] for d in defects if d["kind"] == "near_duplicate"}
        assert ids == set(canon["external_id"].to_pylist()) | near, f.name
        # near duplicates flagged for review, in pairs, for every source (with coordinates:
        # distance; without, as forensic and custody files: same area, code and person)
        pairs = {(p["row_a"], p["row_b"]) for p in res.report["near_duplicates"]}
        want = {
            (int(d["original_row"]), int(d["row"]))
            for d in defects
            if d["kind"] == "near_duplicate"
        }
        assert pairs == want, f.name
        assert res.near_duplicates == len(want), f.name


def _dups(res):
    return res.report["duplicates"]


def test_demo_pseudonyms_match_generator(demo):
    from talaia.ingest.service import ingest_file

    out, engine = demo
    f = sorted((out / "raw" / "penitenciario").iterdir())[-1]
    res = ingest_file(engine, f, "penitenciario", None, "demo", refresh_warehouse=False)
    ym = f.stem.rsplit("_", 1)[1]
    canon = pq.read_table(out / "canonical" / "penitenciario" / ym / "custody.parquet")
    with engine.connect() as c:
        got = dict(
            c.execute(
                text("SELECT external_id, person_key FROM custody WHERE batch_id = :b"),
                {"b": res.batch_id},
            ).all()
        )
    want = dict(zip(canon["external_id"].to_pylist(), canon["person_key"].to_pylist(), strict=True))
    assert {k: got[k] for k in want} == want
    raw = f.read_text(encoding="utf-8")
    assert all(v not in raw for v in got.values() if v)


def test_ingest_demo_raw_accounts_for_every_row(demo):
    """The whole small demo through :func:`ingest_demo_raw` (files already loaded by the tests
    above are recognized as unchanged): per source, the current batches hold exactly the
    generator's records plus the flagged near duplicates."""
    from talaia.ingest.demo import ingest_demo_raw

    out, engine = demo
    results = ingest_demo_raw(engine, out)
    assert {r.outcome for r in results} <= {"loaded", "unchanged"}
    truth = _truth(out)
    for source in SOURCES:
        unit = "custody" if source == "penitenciario" else "incident"
        canon = sum(
            pq.read_metadata(p).num_rows
            for p in (out / "canonical" / source).glob(f"*/{unit}.parquet")
        )
        near = sum(
            d["kind"] == "near_duplicate"
            for f, ds in truth.items()
            if f.startswith(f"raw/{source}/")
            for d in ds
        )
        with engine.connect() as c:
            n = c.execute(
                text(
                    f"SELECT count(*) FROM {unit} r JOIN batch b ON b.id = "
                    "r.batch_id WHERE b.source_code = :s AND b.status NOT IN "
                    "('superseded', 'rejected')"
                ),
                {"s": source},
            ).scalar_one()
        assert n == canon + near, source
