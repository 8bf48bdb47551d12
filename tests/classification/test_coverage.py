"""Coverage report on a hand-made fixture (figures computed by hand in the comments)."""

from __future__ import annotations

import pyarrow as pa

from talaia.classification.coverage import coverage, month_period

# source a, 2024-01: 6 records, codes X (2 recs: levels 2 and 4), Y (unknown), Z (one level-1,
# one unclassified), one record without code.
#   records mapped at L1: X,X,Z = 3/6; L2: X(0101),X(020111) = 2/6; L3: 1/6; L4: 1/6
#   codes: X (min level 2) -> mapped L1, L2; Y no; Z (min level 0) no => L1 1/3, L2 1/3, L3 0/3
# source a, 2024-02: 1 record X at level 3 -> records 1/1 at L1-L3, 0 at L4; codes same
# source b, 2024-01: 2 records of W both level 4 -> 100% everywhere
TABLE = pa.table(
    {
        "source_code": ["a"] * 6 + ["a", "b", "b"],
        "period": ["2024-01"] * 6 + ["2024-02", "2024-01", "2024-01"],
        "national_code": ["X", "X", "Y", "Z", "Z", None, "X", "W", "W"],
        "national_label": ["Equis", "Equis", "Ye", "Zeta", "Zeta", None, "Equis", "W", "W"],
        "iccs_code": ["0101", "020111", None, "05", None, None, "02011", "020111", "010321"],
        "reason": [
            None,
            None,
            "unknown_code",
            None,
            "not_valid_on_date",
            "missing_code",
            None,
            None,
            None,
        ],
    }
)


def test_coverage_figures():
    rep = coverage(TABLE)
    assert [r.group for r in rep.rows] == [("a", "2024-01"), ("a", "2024-02"), ("b", "2024-01")]
    a1, a2, b1 = rep.rows
    assert (a1.records, a1.codes) == (6, 3)
    assert a1.mapped_records == (3, 2, 1, 1)
    assert a1.mapped_codes == (1, 1, 0, 0)
    assert a1.record_share(1) == 0.5 and a1.code_share(2) == 1 / 3
    assert a2.mapped_records == (1, 1, 1, 0) and a2.mapped_codes == (1, 1, 1, 0)
    assert b1.mapped_records == (2, 2, 2, 2) and b1.code_share(4) == 1.0


def test_unmapped_ranked_and_arrow():
    rep = coverage(TABLE)
    assert [(u.group, u.national_code, u.records, u.reason) for u in rep.unmapped] == [
        (("a", "2024-01"), None, 1, "missing_code"),
        (("a", "2024-01"), "Y", 1, "unknown_code"),
        (("a", "2024-01"), "Z", 1, "not_valid_on_date"),
    ]
    t = rep.to_arrow()
    assert t.num_rows == 3
    assert t["record_share_l1"].to_pylist() == [0.5, 1.0, 1.0]
    assert t["codes_mapped_l3"].to_pylist() == [0, 1, 1]
    u = rep.unmapped_to_arrow()
    assert u["national_label"].to_pylist() == [None, "Ye", "Zeta"]


def test_ranking_by_records_and_overall():
    t = pa.table(
        {
            "national_code": ["A", "B", "B", "B", "C", "C"],
            "iccs_code": [None, None, None, None, None, "0101"],
        }
    )
    rep = coverage(t, by=())
    assert [(u.national_code, u.records) for u in rep.unmapped] == [("B", 3), ("A", 1), ("C", 1)]
    (row,) = rep.rows
    assert (row.records, row.mapped_records[0], row.codes, row.mapped_codes[0]) == (6, 1, 3, 0)


def test_empty_group_share_is_none():
    rep = coverage(TABLE.slice(0, 0))
    assert rep.rows == () and rep.unmapped == ()


def test_month_period():
    import datetime as dt

    d = pa.array([dt.date(2024, 2, 29), None], pa.date32())
    assert month_period(d).to_pylist() == ["2024-02", None]
