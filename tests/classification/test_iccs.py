"""ICCS v1.0 in the package: structure, pure API, vectorized paths, disaggregations."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from talaia.classification.iccs import fold, load_disaggregations, load_iccs
from talaia.errors import NotFoundError

# The project's shared reference folder stands beside the repository (also in CI).
SHARED = Path(__file__).resolve().parents[3] / "shared"
REFERENCE = SHARED / "reference" / "iccs" / "iccs_v1.csv"


def test_320_categories_levels_and_02044():
    iccs = load_iccs()
    assert len(iccs) == 320
    counts = Counter(c.level for c in iccs)
    assert counts[1] == 11  # the eleven ICCS sections
    assert sum(counts.values()) == 320
    assert iccs.is_code("02044") and not iccs.is_code("02049")
    assert iccs.lookup("02044").parent == "0204"


def test_package_copy_equals_reference():
    with open(REFERENCE, encoding="utf-8", newline="") as fh:
        ref = {r["code"]: r for r in csv.DictReader(fh)}
    iccs = load_iccs()
    assert set(ref) == set(iccs.codes())
    for code, r in ref.items():
        c = iccs.lookup(code)
        assert (c.level, c.parent or "", c.label_en, c.label_es) == (
            int(r["level"]),
            r["parent"],
            r["label_en"].strip(),
            r["label_es"].strip(),
        )


def test_lookup_parent_ancestors_descendants():
    iccs = load_iccs()
    assert iccs.lookup("020111").label_en == "Serious assault"
    assert iccs.parent("020111").code == "02011"
    assert iccs.parent("02") is None
    assert [a.code for a in iccs.ancestors("020111")] == ["02", "0201", "02011"]
    assert [d.code for d in iccs.descendants("0201")] == [
        "02011",
        "020111",
        "020112",
        "02012",
        "020121",
        "020122",
        "02019",
    ]
    assert iccs.level("0101") == 2
    with pytest.raises(NotFoundError):
        iccs.lookup("9999")


def test_path_and_prefix():
    iccs = load_iccs()
    assert iccs.path("02") == ("02", None, None, None)
    assert iccs.path("02011") == ("02", "0201", "02011", None)
    assert iccs.path("010321") == ("01", "0103", "01032", "010321")
    assert [c.code for c in iccs.under("0204")] == ["0204", "02041", "02042", "02043", "02044"]


def test_search_is_accent_and_case_insensitive():
    iccs = load_iccs()
    assert [c.code for c in iccs.search("EXTORSION", "es")] == ["02051"]
    assert [c.code for c in iccs.search("extorsión", "es")] == ["02051"]
    assert "04014" in [c.code for c in iccs.search("robbery livestock", "en")]
    assert iccs.search("robbery livestock", "es") == ()
    assert fold("  Agresión   GRAVE ") == "agresion grave"


def test_vectorized_path_equals_scalar_path_for_every_code():
    iccs = load_iccs()
    codes = [*iccs.codes(), "9999", None, "01x", ""]
    l1, l2, l3, l4 = iccs.path_arrays(pa.chunked_array([codes[:100], codes[100:]]))
    got = list(zip(l1.to_pylist(), l2.to_pylist(), l3.to_pylist(), l4.to_pylist(), strict=True))
    want = [iccs.path(c) if c is not None and iccs.is_code(c) else (None,) * 4 for c in codes]
    assert got == want
    levels = iccs.level_array(pa.array(codes)).to_pylist()
    assert levels == [iccs.level(c) if c and iccs.is_code(c) else None for c in codes]


def test_to_arrow_round_trip():
    t = load_iccs().to_arrow()
    assert t.num_rows == 320
    row = t.filter(pa.compute.equal(t["code"], "020111")).to_pylist()[0]
    assert (row["l1"], row["l2"], row["l3"], row["l4"]) == ("02", "0201", "02011", "020111")


def test_disaggregations():
    d = load_disaggregations()
    assert d.groups()[:3] == ("event", "victim", "perpetrator")
    weapons = d.of("We", "event")
    assert [v.value_code for v in weapons] == ["1", "2", "3", "4", "5", "6"]
    assert weapons[0].value_label == "Firearm"
    assert ("victim", "ViP", "Victim-perpetrator relationship") in d.variables("victim")
    assert d.to_arrow().num_rows == len(d.values) == 214
    with pytest.raises(NotFoundError):
        d.of("Nope")
