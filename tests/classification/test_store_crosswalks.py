"""Crosswalk versions in the store (SQLite and PostgreSQL) and reproducible classification."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from talaia.classification.classify import classify
from talaia.classification.coverage import coverage
from talaia.classification.validation import validate_file
from talaia.errors import NotFoundError
from talaia.store.canonical import load_canonical_tree, load_reference
from talaia.store.crosswalks import (
    get_version,
    list_versions,
    national_code_counts,
    offence_inputs_from_store,
    save_version,
    source_crosswalk_code,
)

HEADER = (
    "national_code,national_label,iccs_code,mapping_type,condition,sets,valid_from,valid_to,notes\n"
)
V1 = HEADER + (
    "HOM-01,Homicidio,0101,exact,,,,,\n"
    "LES-01,Lesiones,020111,narrower,victim.outcome = serious_injury,,,,\n"
    "LES-01,Lesiones,020112,narrower,victim.outcome != serious_injury,,,,\n"
    "VIF,Violencia intrafamiliar,02011,partial,,situational_context=intimate_partner_family,,,\n"
    "ROB,Robo,0401,exact,,,,,\n"
)
# version 2 changes ROB to burglary and maps VIF to the section only
V2 = V1.replace("ROB,Robo,0401", "ROB,Robo,0501").replace(
    "VIF,Violencia intrafamiliar,02011,partial", "VIF,Violencia intrafamiliar,02,broader"
)


def _validated(tmp_path, text, name):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    r = validate_file(p)
    assert r.ok, r.issues
    return r


def test_versions_round_trip(store_engine, tmp_path):
    r1 = _validated(tmp_path, V1, "v1.csv")
    assert save_version(store_engine, "pn", r1.crosswalk.rows, "v1.csv", r1.file_hash, "ana") == 1
    # same file again: no new version
    assert save_version(store_engine, "pn", r1.crosswalk.rows, "v1.csv", r1.file_hash) == 1
    r2 = _validated(tmp_path, V2, "v2.csv")
    assert save_version(store_engine, "pn", r2.crosswalk.rows, "v2.csv", r2.file_hash) == 2
    assert save_version(store_engine, "other", r2.crosswalk.rows, "v2.csv", r2.file_hash) == 1
    infos = list_versions(store_engine, "pn")
    assert [(v.version, v.file_name, v.rows, v.loaded_by) for v in infos] == [
        (1, "v1.csv", 5, "ana"),
        (2, "v2.csv", 5, None),
    ]
    assert len(list_versions(store_engine)) == 3
    s1 = get_version(store_engine, "pn", 1)
    assert s1.version == 1 and s1.crosswalk.rows == r1.crosswalk.rows
    assert s1.crosswalk.conditions == r1.crosswalk.conditions
    assert get_version(store_engine, "pn").version == 2
    with pytest.raises(NotFoundError):
        get_version(store_engine, "pn", 3)
    with pytest.raises(NotFoundError):
        get_version(store_engine, "nope")


def test_version_1_figures_stay_reproducible(store_engine, tmp_path):
    r1 = _validated(tmp_path, V1, "v1.csv")
    save_version(store_engine, "pn", r1.crosswalk.rows, "v1.csv", r1.file_hash)
    records = pa.table(
        {
            "national_code": ["HOM-01", "LES-01", "ROB", "VIF", "ROB"],
            "date": pa.array([dt.date(2024, 1, 1)] * 5, pa.date32()),
            "victim.outcome": ["killed", "serious_injury", None, None, None],
        }
    )
    first = get_version(store_engine, "pn", 1)
    before = classify(records, first.crosswalk, first.version)
    before_cov = coverage(before.table, by=()).to_arrow()
    r2 = _validated(tmp_path, V2, "v2.csv")
    save_version(store_engine, "pn", r2.crosswalk.rows, "v2.csv", r2.file_hash)
    again = get_version(store_engine, "pn", 1)
    after = classify(records, again.crosswalk, again.version)
    assert after.table.equals(before.table)
    assert coverage(after.table, by=()).to_arrow().equals(before_cov)
    assert before.table["iccs_code"].to_pylist() == ["0101", "020111", "0401", "02011", "0401"]
    assert set(before.table["crosswalk_version"].to_pylist()) == {1}
    latest = get_version(store_engine, "pn")
    v2 = classify(records, latest.crosswalk, latest.version).table
    assert v2["iccs_code"].to_pylist() == ["0101", "020111", "0501", "02", "0501"]
    assert set(v2["crosswalk_version"].to_pylist()) == {2}


def test_offences_from_store(store_engine, handmade_out, tmp_path):
    load_reference(store_engine, handmade_out)
    load_canonical_tree(store_engine, handmade_out)
    assert source_crosswalk_code(store_engine, "policia_nacional") == "policia_nacional"
    assert source_crosswalk_code(store_engine, "nope") is None
    assert national_code_counts(store_engine, "policia_nacional") == {
        "HOM-01": 1,
        "LES-01": 1,
        "VIF": 1,
        "XX-99": 1,
        "ROB": 1,
    }
    r1 = _validated(tmp_path, V1, "v1.csv")
    x = offence_inputs_from_store(store_engine, "policia_nacional", r1.crosswalk.fields())
    assert x["national_code"].to_pylist() == ["HOM-01", "LES-01", "VIF", "XX-99", "ROB"]
    assert x["date"].to_pylist() == [
        dt.date(2024, 1, 1),
        dt.date(2024, 1, 1),
        dt.date(2021, 1, 1),
        dt.date(2024, 1, 20),
        dt.date(2024, 3, 31),
    ]
    assert x["period"].to_pylist() == ["2024-01"] * 4 + ["2024-03"]
    # O-1 has no victim of its own -> V-2 (incident's, no offence_ref); O-2 -> V-1; O-3 -> V-3
    assert x["victim.outcome"].to_pylist() == [
        "killed",
        "serious_injury",
        "minor_injury",
        None,
        None,
    ]
    res = classify(x, r1.crosswalk, 1)
    assert res.table["iccs_code"].to_pylist() == ["0101", "020111", "02011", None, "0401"]
    assert res.reason_counts() == {"unknown_code": 1}
    table = res.table.append_column("source_code", x["source_code"]).append_column(
        "period", x["period"]
    )
    rows = coverage(table).rows
    assert [(r.group[1], r.records, r.mapped_records, r.codes, r.mapped_codes) for r in rows] == [
        ("2024-01", 4, (3, 3, 2, 1), 4, (3, 3, 2, 1)),
        ("2024-03", 1, (1, 1, 0, 0), 1, (1, 1, 0, 0)),
    ]
