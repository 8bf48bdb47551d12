import csv
import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq

from talaia.demo import generate
from talaia.records.schema import TABLES, conform

SOURCES = ("policia_nacional", "policia_metropolitana", "medicina_legal", "penitenciario")


def _hashes(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_manifest_lists_every_file_with_its_hash(out):
    man = json.loads((out / "manifest.json").read_text())
    files = {f["path"]: f["sha256"] for f in man["files"]}
    on_disk = _hashes(out)
    on_disk.pop("manifest.json")
    assert files == on_disk
    assert man["years"] == [2019, 2020, 2021, 2022, 2023, 2024]
    assert {s["code"] for s in man["sources"]} == set(SOURCES)


def test_same_seed_same_bytes_other_seed_differs(out, tmp_path):
    again = generate(tmp_path / "again", seed=7, scale=0.02)
    assert _hashes(again.out_dir) == _hashes(out)
    other = generate(tmp_path / "other", seed=8, scale=0.02, years=(2019,))
    h = _hashes(other.out_dir)
    assert (
        h["raw/policia_nacional/denuncias_2019-01.csv"]
        != _hashes(out)["raw/policia_nacional/denuncias_2019-01.csv"]
    )


def test_folder_layout_and_missing_month(out):
    ag = json.loads((out / "reference" / "agencies.json").read_text())
    assert [s["code"] for s in ag["sources"]] == list(SOURCES)
    for s in ag["sources"]:
        assert (s["expected_from"], s["expected_to"]) == ("2019-01", "2024-12")
        assert (out / "crosswalks" / f"{s['crosswalk']}.csv").exists()
    for s in SOURCES:
        months = sorted(p.name for p in (out / "canonical" / s).iterdir())
        raw = sorted((out / "raw" / s).iterdir())
        expected = 72 - (1 if s == "policia_metropolitana" else 0)
        assert len(months) == expected and len(raw) == expected
        tables = (
            ("custody",)
            if s == "penitenciario"
            else ("incident", "offence", "victim", "perpetrator")
        )
        for name in tables:
            t = pq.read_table(out / "canonical" / s / months[0] / f"{name}.parquet")
            # Parquet has no second-resolution timestamps: they come back as ms
            assert t.column_names == TABLES[name].names, (s, name)
            for field in TABLES[name]:
                got = t.schema.field(field.name)
                assert got.nullable == field.nullable
                assert got.type == field.type or (
                    pa.types.is_timestamp(got.type) and pa.types.is_timestamp(field.type)
                )
            assert conform(t, name).num_rows == t.num_rows
    assert not (out / "canonical" / "policia_metropolitana" / "2021-07").exists()
    assert not (out / "raw" / "policia_metropolitana" / "partes_2021-07.csv").exists()
    summary = json.loads((out / "truth" / "summary.json").read_text())
    pm = next(s for s in summary["sources"] if s["code"] == "policia_metropolitana")
    assert pm["missing_months"] == ["2021-07"]


def test_crosswalks_follow_contract_and_use_real_iccs(out):
    from pathlib import Path

    import talaia

    iccs_file = Path(talaia.__file__).parent / "classification" / "data" / "iccs_v1.csv"
    iccs = {r["code"] for r in csv.DictReader(iccs_file.open(encoding="utf-8"))}
    seen_condition = seen_sets = False
    for s in SOURCES:
        with open(out / "crosswalks" / f"{s}.csv", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert list(rows[0]) == [
            "national_code",
            "national_label",
            "iccs_code",
            "mapping_type",
            "condition",
            "sets",
            "valid_from",
            "valid_to",
            "notes",
        ]
        for r in rows:
            assert r["iccs_code"] in iccs
            assert r["mapping_type"] in ("exact", "broader", "narrower", "partial")
            seen_condition |= r["condition"] == "victim.outcome = serious_injury"
            seen_sets |= r["sets"] == "situational_context=intimate_partner_family"
    assert seen_condition and seen_sets


def test_identifiers_only_pseudonymized_in_canonical(out):
    from talaia.demo import person_key

    raw = (out / "raw" / "policia_nacional" / "denuncias_2020-05.csv").read_text()
    per = pq.read_table(out / "canonical" / "policia_nacional" / "2020-05" / "perpetrator.parquet")
    rows = list(csv.DictReader(raw.splitlines()))
    ced = {r["numero_denuncia"]: r["imputado_cedula"] for r in rows if r["imputado_cedula"]}
    keys = dict(
        zip(
            per.column("incident_ref").to_pylist(),
            per.column("person_key").to_pylist(),
            strict=True,
        )
    )
    assert keys and set(keys) <= set(ced)
    for ref, key in keys.items():
        assert key == person_key(ced[ref]) and len(key) == 64
    canon_text = b"".join(p.read_bytes() for p in (out / "canonical").rglob("*.parquet"))
    assert next(iter(ced.values())).encode() not in canon_text
