import numpy as np
import pytest

from talaia.geography import AreaHierarchy

ROWS = [
    ("A", 1, None),
    ("B", 1, None),
    ("A1", 2, "A"),
    ("A2", 2, "A"),
    ("B1", 2, "B"),
    ("A1x", 3, "A1"),
    ("A1y", 3, "A1"),
    ("A2x", 3, "A2"),
    ("B1x", 3, "B1"),
]


@pytest.fixture
def h():
    return AreaHierarchy.from_records(ROWS)


def test_path_children_levels(h):
    assert h.path("A1y") == ("A", "A1", "A1y")
    assert h.path("B") == ("B",)
    assert h.children(None) == ("A", "B")
    assert h.children("A") == ("A1", "A2")
    assert h.children("A1x") == ()
    assert h.at_level(3) == ("A1x", "A1y", "A2x", "B1x")
    assert h.parent("A2x") == "A2" and h.level("A2x") == 3
    assert h.ancestor("A1y", 1) == "A" and h.ancestor("A1y", 3) == "A1y"
    with pytest.raises(KeyError):
        h.children("nope")


def test_rollup_vectorized(h):
    codes = np.array(["A1x", "B1x", "A2x", "A1y", None, "zz", "A1"], dtype=object)
    assert list(h.rollup(codes, 1)) == ["A", "B", "A", "A", None, None, "A"]
    assert list(h.rollup(codes, 2)) == ["A1", "B1", "A2", "A1", None, None, "A1"]
    assert dict(h.rollup_map(2)) == {
        "A1": "A1",
        "A2": "A2",
        "B1": "B1",
        "A1x": "A1",
        "A1y": "A1",
        "A2x": "A2",
        "B1x": "B1",
    }


def test_rollup_counts_sum_over_levels(h):
    # 3 events in A1x, 2 in A1y, 1 in A2x, 4 in B1x -> A: 6, B: 4
    codes = np.array(["A1x"] * 3 + ["A1y"] * 2 + ["A2x"] + ["B1x"] * 4, dtype=object)
    up, n = np.unique(h.rollup(codes, 1).astype(str), return_counts=True)
    assert dict(zip(up, n, strict=True)) == {"A": 6, "B": 4}


@pytest.mark.parametrize(
    "rows, msg",
    [
        ([("A", 1, None), ("A", 1, None)], "duplicate"),
        ([("A", 1, None), ("A1", 2, "X")], "does not exist"),
        ([("A", 1, None), ("A1", 3, "A")], "not at level"),
        ([("A", 2, None)], "without a parent"),
    ],
)
def test_invalid_trees(rows, msg):
    with pytest.raises(ValueError, match=msg):
        AreaHierarchy.from_records(rows)
