"""Vectorized classification: conditional splits, sets, validity, reasons, input joins."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from talaia.classification.classify import classify, offence_inputs
from talaia.classification.crosswalk import Crosswalk, CrosswalkRow


def _row(n, code, iccs, cond=None, sets=None, vf=None, vt=None, mtype="exact"):
    return CrosswalkRow(
        row_number=n,
        national_code=code,
        iccs_code=iccs,
        mapping_type=mtype,
        condition=cond,
        sets=sets,
        valid_from=vf,
        valid_to=vt,
    )


CW = Crosswalk.from_rows(
    "pn",
    [
        _row(2, "LES", "020111", "victim.outcome = serious_injury", mtype="narrower"),
        _row(3, "LES", "020112", "victim.outcome != serious_injury", mtype="narrower"),
        _row(
            4,
            "HOM",
            "0101",
            "victim.relationship in (current_partner, former_partner)",
            "situational_context=intimate_partner_family",
        ),
        _row(
            5,
            "HOM",
            "0101",
            "victim.relationship in (blood_relative, household_member, friend, acquaintance, "
            "colleague, authority_care, other_known, stranger)",
        ),
        _row(6, "HOM", "0101", "victim.relationship is null"),
        _row(7, "ROB", "0401", vt=dt.date(2021, 12, 31)),
        _row(8, "ROB", "04011", vf=dt.date(2022, 1, 1)),
        _row(9, "ARM", "090111", "incident.weapon = firearm"),
        _row(10, "OLD", "0502", vt=dt.date(2019, 12, 31)),
        _row(11, "VIF", "02", sets="situational_context=intimate_partner_family", mtype="broader"),
    ],
)


def _records(rows):
    names = ["national_code", "date", "victim.outcome", "victim.relationship", "incident.weapon"]
    cols = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    return pa.table(
        {
            "national_code": pa.array(cols["national_code"], pa.string()),
            "date": pa.array(cols["date"], pa.date32()),
            **{n: pa.array(cols[n], pa.string()) for n in names[2:]},
        }
    )


D = dt.date(2021, 6, 1)
RECORDS = _records(
    [
        ("LES", D, "serious_injury", None, None),  # 0 -> 020111
        ("LES", D, "minor_injury", None, None),  # 1 -> 020112
        ("LES", D, None, None, None),  # 2 -> 020112 (NULL != serious)
        ("HOM", D, "killed", "former_partner", "firearm"),  # 3 -> 0101 + sets
        ("HOM", D, "killed", "stranger", None),  # 4 -> 0101
        ("HOM", D, "killed", None, None),  # 5 -> 0101
        ("ROB", dt.date(2021, 12, 31), None, None, None),  # 6 -> 0401
        ("ROB", dt.date(2022, 1, 1), None, None, None),  # 7 -> 04011
        ("ROB", None, None, None, None),  # 8 -> not valid (no date)
        ("ARM", D, None, None, "sharp_object"),  # 9 -> no condition matched
        ("OLD", D, None, None, None),  # 10 -> not valid on date
        ("ZZZ", D, None, None, None),  # 11 -> unknown code
        (None, D, None, None, None),  # 12 -> missing code
        ("VIF", D, None, None, None),  # 13 -> 02 + sets
    ]
)


def test_classification_per_record():
    res = classify(RECORDS, CW, version=7)
    t = res.table
    assert t["iccs_code"].to_pylist() == [
        "020111",
        "020112",
        "020112",
        "0101",
        "0101",
        "0101",
        "0401",
        "04011",
        None,
        None,
        None,
        None,
        None,
        "02",
    ]
    assert t["reason"].to_pylist() == [None] * 8 + [
        "not_valid_on_date",
        "no_condition_matched",
        "not_valid_on_date",
        "unknown_code",
        "missing_code",
        None,
    ]
    assert t["crosswalk_version"].to_pylist() == [7] * 8 + [None] * 5 + [7]
    assert t["mapping_type"].to_pylist()[:3] == ["narrower"] * 3
    assert t["crosswalk_row"].to_pylist() == [2, 3, 3, 4, 5, 6, 7, 8] + [None] * 5 + [11]
    assert t["sets"].to_pylist()[3] == "situational_context=intimate_partner_family"
    assert t["set_situational_context"].to_pylist() == (
        [None] * 3 + ["intimate_partner_family"] + [None] * 9 + ["intimate_partner_family"]
    )
    assert (
        t["iccs_l1"][0].as_py(),
        t["iccs_l2"][0].as_py(),
        t["iccs_l3"][0].as_py(),
        t["iccs_l4"][0].as_py(),
    ) == ("02", "0201", "02011", "020111")
    assert (t["iccs_l1"][13].as_py(), t["iccs_l2"][13].as_py()) == ("02", None)
    assert res.classified_count() == 9
    assert res.reason_counts() == {
        "not_valid_on_date": 2,
        "no_condition_matched": 1,
        "unknown_code": 1,
        "missing_code": 1,
    }
    assert res.unclassified().num_rows == 5


def test_order_and_chunking_do_not_matter():
    shuffled = RECORDS.take(pa.array([13, 0, 12, 5, 1, 11, 3, 2, 10, 4, 9, 8, 7, 6]))
    chunked = pa.Table.from_batches(shuffled.to_batches(max_chunksize=3))
    a = classify(shuffled, CW, 1).table["iccs_code"].to_pylist()
    b = classify(chunked, CW, 1).table["iccs_code"].to_pylist()
    full = classify(RECORDS, CW, 1).table["iccs_code"].to_pylist()
    assert a == b == [full[i] for i in [13, 0, 12, 5, 1, 11, 3, 2, 10, 4, 9, 8, 7, 6]]


def test_timestamp_and_text_dates():
    ts = RECORDS.set_column(
        1,
        "date",
        pa.array(
            [
                None if d is None else dt.datetime(d.year, d.month, d.day, 23, 59)
                for d in RECORDS["date"].to_pylist()
            ],
            pa.timestamp("s"),
        ),
    )
    txt = RECORDS.set_column(
        1,
        "date",
        pa.array([None if d is None else d.isoformat() for d in RECORDS["date"].to_pylist()]),
    )
    want = classify(RECORDS, CW, 1).table["iccs_code"].to_pylist()
    assert classify(ts, CW, 1).table["iccs_code"].to_pylist() == want
    assert classify(txt, CW, 1).table["iccs_code"].to_pylist() == want


def test_missing_condition_column_is_an_error():
    with pytest.raises(KeyError, match=r"incident\.weapon"):
        classify(RECORDS.drop_columns(["incident.weapon"]), CW, 1)


def test_empty_input():
    res = classify(RECORDS.slice(0, 0), CW, 1)
    assert res.num_records == 0 and res.reason_counts() == {}


def test_offence_inputs_joins_incident_and_victim():
    incident = pa.table(
        {
            "external_id": ["I1", "I2", "I3"],
            "occurred_from": pa.array(
                [dt.datetime(2021, 6, 1, 22), dt.datetime(2022, 2, 1), dt.datetime(2021, 1, 1)],
                pa.timestamp("s"),
            ),
            "weapon": ["firearm", None, "other"],
        }
    )
    offence = pa.table(
        {
            "external_id": ["O1", "O2", "O3", "O4", "O5"],
            "incident_ref": ["I1", "I1", "I2", "I3", "I9"],
            "national_code": ["HOM", "LES", "ROB", "LES", "LES"],
        }
    )
    victim = pa.table(
        {
            "external_id": ["V2", "V1", "V3", "V4"],
            "incident_ref": ["I1", "I1", "I1", "I3"],
            "offence_ref": [None, None, "O2", None],
            "outcome": ["killed", "unharmed", "serious_injury", "minor_injury"],
            "relationship": ["former_partner", "stranger", None, None],
        }
    )
    x = offence_inputs(offence, incident, victim, CW.fields())
    assert x["national_code"].to_pylist() == ["HOM", "LES", "ROB", "LES", "LES"]
    assert x["date"].to_pylist() == [
        dt.date(2021, 6, 1),
        dt.date(2021, 6, 1),
        dt.date(2022, 2, 1),
        dt.date(2021, 1, 1),
        None,
    ]
    # O1: no victim points at it -> the incident's victims without offence_ref, lowest id V1
    assert x["victim.outcome"].to_pylist() == [
        "unharmed",
        "serious_injury",
        None,
        "minor_injury",
        None,
    ]
    assert x["victim.relationship"].to_pylist()[0] == "stranger"
    assert x["incident.weapon"].to_pylist() == ["firearm", "firearm", None, "other", None]
    res = classify(x, CW, 3).table
    assert res["iccs_code"].to_pylist() == ["0101", "020111", "04011", "020112", "020112"]
    # O5's incident is unknown: no date, so only undated rows apply (LES rows are undated)
    with pytest.raises(ValueError, match="not unique"):
        offence_inputs(offence, pa.concat_tables([incident, incident]), victim, CW.fields())
