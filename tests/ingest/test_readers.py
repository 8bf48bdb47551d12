"""Readers on their own: truncated XLSX, rejects, record numbers, and hypothesis fuzzing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talaia.errors import DataError
from talaia.ingest.readers import FileReader, detect_encoding


def _xlsx(path, rows):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)


def test_xlsx_reads_and_truncated_xlsx_is_clear_error(tmp_path):
    p = tmp_path / "a.xlsx"
    _xlsx(p, [["id", "n"], ["A", 1.0], ["B", 2.5], [None, None], ["C", 3]])
    with FileReader(p, "xlsx") as r:
        t = next(r.batches())
    assert t.to_pydict() == {"id": ["A", "B", "C"], "n": ["1", "2.5", "3"], "__row": [2, 3, 5]}
    data = p.read_bytes()
    bad = tmp_path / "t.xlsx"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"t\.xlsx.*XLSX"), FileReader(bad, "xlsx") as r:
        list(r.batches())


def test_csv_rejects_keep_record_numbers(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("a,b\n1,2\n3,4,5\n6,7\n8\n9,10\n")
    with FileReader(p, "csv", delimiter=",") as r:
        (t,) = list(r.batches())
        rej = r.rejects()
        rows = r.record_numbers(t["__row"].to_numpy())
    assert t["a"].to_pylist() == ["1", "6", "9"]
    assert rows.tolist() == [2, 4, 6]
    assert [x[0] for x in rej] == [3, 5]


def test_encoding_detection(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes("a\nñ\n".encode("utf-8-sig"))
    assert detect_encoding(p) == "utf-8-sig"
    p.write_bytes("a\nñ\n".encode("cp1252"))
    assert detect_encoding(p) == "cp1252"
    p.write_bytes("a\nñ\n".encode())
    assert detect_encoding(p) == "utf-8"


def test_large_csv_streams_in_chunks(tmp_path):
    p = tmp_path / "big.csv"
    n = 50_000
    with p.open("w") as fh:
        fh.write("id,v\n")
        fh.writelines(f"{i},{i * 2}\n" for i in range(n))
    with FileReader(p, "csv", delimiter=",", chunk_rows=4096) as r:
        sizes, total = [], 0
        for t in r.batches():
            sizes.append(t.num_rows)
            total += int(np.sum(np.asarray(t["v"].to_pylist(), dtype=np.int64)))
    assert sum(sizes) == n and max(sizes) <= 4096 * 2 and len(sizes) > 1
    assert total == 2 * n * (n - 1) // 2


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400))
def test_fuzz_csv_reader_accounts_or_errors(tmp_path, blob):
    p = tmp_path / "f.csv"
    p.write_bytes(blob)
    try:
        with FileReader(p, "csv") as r:
            n = sum(t.num_rows for t in r.batches())
            rej = r.rejects()
    except DataError as exc:
        assert "f.csv" in str(exc)
        return
    assert n >= 0 and all(x[0] >= 2 for x in rej)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.lists(
            st.text(
                alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=8,
            ),
            min_size=2,
            max_size=2,
        ),
        max_size=20,
    )
)
def test_fuzz_csv_roundtrip_quoted(tmp_path, rows):
    import csv

    p = tmp_path / "q.csv"
    with p.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(["a", "b"])
        w.writerows(rows)
    with FileReader(p, "csv", delimiter=",") as r:
        got = [
            row
            for t in r.batches()
            for row in zip(t["a"].to_pylist(), t["b"].to_pylist(), strict=True)
        ]
        assert not r.rejects()
    assert [tuple(x or None for x in row) for row in rows] == [
        tuple(x or None for x in row) for row in got
    ]


def test_parquet_json_geojson_gpkg_readers(tmp_path):
    import json
    import sqlite3
    import struct

    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    pq.write_table(pa.table({"id": ["A", "B"], "n": [1.5, None]}), tmp_path / "a.parquet")
    with FileReader(tmp_path / "a.parquet", "parquet") as r:
        assert [t.to_pydict() for t in r.batches()] == [
            {"id": ["A", "B"], "n": ["1.5", None], "__row": [1, 2]}
        ]
    (tmp_path / "a.jsonl").write_text('{"id": "A", "n": 1}\n{"id": "B", "n": null}\n')
    with FileReader(tmp_path / "a.jsonl", "jsonl") as r:
        assert [t.to_pydict() for t in r.batches()] == [
            {"id": ["A", "B"], "n": ["1", None], "__row": [1, 2]}
        ]
    (tmp_path / "bad.jsonl").write_text('{"id": "A"}\n{"id": \n')
    with (
        pytest.raises(DataError, match=r"bad\.jsonl.*JSON"),
        FileReader(tmp_path / "bad.jsonl", "jsonl") as r,
    ):
        list(r.batches())
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": "A"},
                "geometry": {"type": "Point", "coordinates": [-69.5, 10.25]},
            },
            {"type": "Feature", "properties": {"id": "B"}, "geometry": None},
        ],
    }
    (tmp_path / "a.geojson").write_text(json.dumps(fc))
    with FileReader(tmp_path / "a.geojson", "geojson") as r:
        assert [t.to_pydict() for t in r.batches()] == [
            {"id": ["A", "B"], "__x": ["-69.5", None], "__y": ["10.25", None], "__row": [1, 2]}
        ]
    # a minimal GeoPackage: header GP, version 0, flags (little endian, no envelope), srs id
    db = sqlite3.connect(tmp_path / "a.gpkg")
    db.execute("CREATE TABLE gpkg_geometry_columns (table_name, column_name)")
    db.execute("INSERT INTO gpkg_geometry_columns VALUES ('pts', 'geom')")
    db.execute("CREATE TABLE pts (fid INTEGER PRIMARY KEY, id TEXT, geom BLOB)")
    blob = b"GP\x00\x01" + struct.pack("<i", 4326) + shapely.to_wkb(shapely.Point(-69.5, 9.5))
    db.execute("INSERT INTO pts VALUES (1, 'A', ?)", (blob,))
    db.commit()
    db.close()
    with FileReader(tmp_path / "a.gpkg", "gpkg") as r:
        assert [t.to_pydict() for t in r.batches()] == [
            {"fid": ["1"], "id": ["A"], "__x": ["-69.5"], "__y": ["9.5"], "__row": [1]}
        ]
