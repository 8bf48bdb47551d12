"""Crosswalk reading and validation: every error kind names file, row and column."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talaia.classification.crosswalk import COLUMNS, read_crosswalk, write_crosswalk_csv
from talaia.classification.validation import validate, validate_file

HEADER = ",".join(COLUMNS)


def _csv(tmp_path, body: str, name: str = "cw.csv"):
    p = tmp_path / name
    p.write_text(HEADER + "\n" + body, encoding="utf-8")
    return p


def _issues(report, kind):
    return [i for i in report.issues if i.kind == kind]


GOOD = (
    "LES-01,Lesiones,020111,narrower,victim.outcome = serious_injury,,,,\n"
    "LES-01,Lesiones,020112,narrower,victim.outcome != serious_injury,,,,\n"
    'HOM,Homicidio,0101,exact,"victim.relationship in (current_partner, former_partner)",'
    "situational_context=intimate_partner_family,,,\n"
    'HOM,Homicidio,0101,exact,"victim.relationship is null",,,,\n'
    'HOM,Homicidio,0101,exact,"victim.relationship in (blood_relative, household_member, friend,'
    ' acquaintance, colleague, authority_care, other_known, stranger)",,,,\n'
    "ROB,Robo,0401,exact,,,2020-01-01,2021-12-31,old code\n"
    "ROB,Robo,04011,exact,,,2022-01-01,,split later\n"
)


def test_valid_crosswalk(tmp_path):
    r = validate_file(_csv(tmp_path, GOOD))
    assert r.ok and r.errors == () and r.warnings == ()
    cw = r.crosswalk
    assert cw.code == "cw" and len(cw.rows) == 7
    assert cw.national_codes() == ("LES-01", "HOM", "ROB")
    assert cw.fields() == ("victim.outcome", "victim.relationship")
    assert cw.rows[0].row_number == 2 and cw.rows[5].valid_to == dt.date(2021, 12, 31)
    assert cw.sets[2] == (("situational_context", "intimate_partner_family"),)


@pytest.mark.parametrize(
    ("body", "kind", "row", "column"),
    [
        ("A,a,9999,exact,,,,,\n", "unknown_iccs_code", 2, "iccs_code"),
        ("A,a,101,exact,,,,,\n", "unknown_iccs_code", 2, "iccs_code"),
        ("A,a,0101,exact,,,,,\nA,a,0102,exact,,,,,\n", "duplicate_mapping", 3, "condition"),
        (
            "A,a,0101,exact,victim.sex = female,,,,\nA,a,0102,exact,victim.sex is not null,,,,\n",
            "overlap",
            3,
            "condition",
        ),
        (
            "A,a,0101,exact,victim.sex = female,,,,\nA,a,0102,exact,victim.sex = male,,,,\n",
            "gap",
            2,
            "condition",
        ),
        ("A,a,0101,exact,,,2020-02-30,,\n", "invalid_date", 2, "valid_from"),
        ("A,a,0101,exact,,,,31/12/2020,\n", "invalid_date", 2, "valid_to"),
        ("A,a,0101,exact,,,2021-01-01,2020-01-01,\n", "invalid_date_range", 2, "valid_to"),
        ("A,a,0101,exact,victim.sex = female or,,,,\n", "condition_syntax", 2, "condition"),
        ("A,a,0101,exact,victim.age = 3,,,,\n", "unknown_field", 2, "condition"),
        ("A,a,0101,exact,victim.sex = woman,,,,\n", "unknown_token", 2, "condition"),
        ("A,a,0101,exact,,sex=female,,,\n", "unknown_field", 2, "sets"),
        ("A,a,0101,exact,,weapon=bazooka,,,\n", "unknown_token", 2, "sets"),
        ("A,a,0101,identical,,,,,\n", "invalid_mapping_type", 2, "mapping_type"),
        (",a,0101,exact,,,,,\n", "missing_value", 2, "national_code"),
        ("A,a,,exact,,,,,\n", "missing_value", 2, "iccs_code"),
        ("A,a,0101,exact,,,,,,extra\n", "extra_cells", 2, None),
    ],
)
def test_each_error_kind(tmp_path, body, kind, row, column):
    r = validate_file(_csv(tmp_path, body))
    assert not r.ok and r.crosswalk is None
    found = _issues(r, kind)
    assert found, r.issues
    assert (found[0].file, found[0].row, found[0].column) == ("cw.csv", row, column)
    assert found[0].severity == "error"
    assert found[0].message and found[0].message_es


def test_leading_zero_hint(tmp_path):
    r = validate_file(_csv(tmp_path, "A,a,101,exact,,,,,\n"))
    assert "0101" in _issues(r, "unknown_iccs_code")[0].message


def test_disjoint_validity_is_not_an_overlap(tmp_path):
    body = (
        "A,a,0101,exact,,,,2019-12-31,\nA,a,0102,exact,,,2020-01-01,,\n"
        "B,b,0101,exact,,,,2020-06-30,\nB,b,0102,exact,,,2020-06-30,,\n"
    )
    r = validate_file(_csv(tmp_path, body))
    assert [(i.kind, i.row) for i in r.errors] == [("duplicate_mapping", 5)]


def test_gap_counts_null_as_a_value(tmp_path):
    body = "A,a,0101,exact,victim.sex = female,,,,\nA,a,0102,exact,victim.sex = male,,,,\n"
    gap = _issues(validate_file(_csv(tmp_path, body)), "gap")[0]
    assert "victim.sex=NULL" in gap.message and "1 value combination" in gap.message


def test_missing_code_from_the_data(tmp_path):
    r = validate(read_crosswalk(_csv(tmp_path, GOOD)), data_codes={"HOM": 5, "XX-9": 3})
    (issue,) = r.errors
    assert (issue.kind, issue.row, issue.column) == ("missing_code", None, "national_code")
    assert "XX-9" in issue.message and "3 records" in issue.message


def test_warnings_are_accepted(tmp_path):
    r = validate_file(_csv(tmp_path, "A,a,04,broader,,,,,\nB,b,0502,partial,,,,,\n"))
    assert r.ok and r.crosswalk is not None
    assert [(i.kind, i.row) for i in r.warnings] == [("level1_only", 2), ("partial_mapping", 3)]


def test_file_level_errors(tmp_path):
    p = tmp_path / "latin1.csv"
    p.write_bytes((HEADER + "\nA,Lesión,0101,exact,,,,,\n").encode("latin-1"))
    assert validate_file(p).kinds() == ("unreadable_file",)
    p = tmp_path / "nocols.csv"
    p.write_text("national_code,label\nA,b\n", encoding="utf-8")
    r = validate_file(p)
    assert [(i.kind, i.column) for i in r.errors] == [
        ("missing_column", "iccs_code"),
        ("missing_column", "mapping_type"),
    ]
    p = tmp_path / "empty.csv"
    p.write_text("", encoding="utf-8")
    assert validate_file(p).kinds() == ("empty_file",)
    assert validate_file(tmp_path / "absent.csv").kinds() == ("unreadable_file",)
    p = tmp_path / "bad.xlsx"
    p.write_bytes(b"PK\x03\x04 not really a zip")
    assert validate_file(p).kinds() == ("unreadable_file",)


def test_semicolon_csv_and_bom(tmp_path):
    p = tmp_path / "semi.csv"
    text = HEADER.replace(",", ";") + "\nA;Lesión;0101;exact;;;;;\n"
    p.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    r = validate_file(p)
    assert r.ok and r.crosswalk.rows[0].national_label == "Lesión"


def test_xlsx(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(COLUMNS))
    ws.append(
        [
            "LES-01",
            "Lesiones",
            "020111",
            "narrower",
            "victim.outcome = serious_injury",
            None,
            dt.datetime(2020, 1, 1),
            None,
            None,
        ]
    )
    ws.append(
        [
            "LES-01",
            "Lesiones",
            "020112",
            "narrower",
            "victim.outcome != serious_injury",
            None,
            dt.datetime(2020, 1, 1),
            None,
            None,
        ]
    )
    ws.append([None] * 9)  # blank line ignored
    ws.append([17, "Robo", 401, "exact", None, None, None, None, None])  # numbers as typed
    p = tmp_path / "cw.xlsx"
    wb.save(p)
    r = validate_file(p)
    (err,) = r.errors
    assert (err.kind, err.row, err.column) == ("unknown_iccs_code", 5, "iccs_code")
    assert "0401" in err.message
    ok_rows = read_crosswalk(p).rows
    assert ok_rows[0].get("valid_from") == "2020-01-01"
    assert ok_rows[2].get("national_code") == "17"


def test_write_and_read_back(tmp_path):
    r = validate_file(_csv(tmp_path, GOOD))
    out = tmp_path / "copy.csv"
    write_crosswalk_csv(r.crosswalk.rows, out)
    again = validate_file(out)
    assert again.ok and again.crosswalk.rows == r.crosswalk.rows


_CELLS = st.one_of(
    st.sampled_from(
        [
            "A",
            "0101",
            "exact",
            "victim.sex = female",
            "2020-01-01",
            "",
            '"',
            "weapon=firearm",
            "9999",
            "partial",
            "é",
            ";",
            ",",
            "\n",
        ]
    ),
    st.text(max_size=12),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(_CELLS, max_size=11), max_size=6))
def test_fuzz_csv_reader_reports_never_crashes(tmp_path, rows):
    body = "\n".join(",".join(r) for r in rows)
    p = tmp_path / "fuzz.csv"
    p.write_text(HEADER + "\n" + body, encoding="utf-8")
    r = validate_file(p)
    for i in r.issues:
        assert i.file == "fuzz.csv" and i.message
    assert r.ok == (r.crosswalk is not None)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_bytes_never_crash(data):
    r = validate(read_crosswalk(data, name="blob.csv"))
    assert r.ok == (r.crosswalk is not None)
    r = validate(read_crosswalk(data, name="blob.xlsx"))
    assert not r.ok
