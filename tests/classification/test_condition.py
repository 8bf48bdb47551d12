"""The condition and sets mini-languages: parsing, errors, evaluation, SQL, fuzzing."""

from __future__ import annotations

import itertools

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talaia.classification.condition import (
    FIELDS,
    Clause,
    Condition,
    ConditionError,
    parse_condition,
    parse_sets,
)


def test_parse_all_clause_forms():
    c = parse_condition(
        "victim.outcome = serious_injury and incident.weapon in (firearm,sharp_object) "
        "and victim.sex is not null and incident.motive is null and victim.relationship != stranger"
    )
    assert c.clauses == (
        Clause("victim.outcome", "=", ("serious_injury",)),
        Clause("incident.weapon", "in", ("firearm", "sharp_object")),
        Clause("victim.sex", "is not null"),
        Clause("incident.motive", "is null"),
        Clause("victim.relationship", "!=", ("stranger",)),
    )
    assert parse_condition(c.text()) == c
    assert parse_condition("") == Condition() and parse_condition(None).always


@pytest.mark.parametrize(
    ("text", "kind", "position"),
    [
        ("victim.outcome = bogus", "unknown_token", 17),
        ("victim.age = 3", "unknown_field", 0),
        ("offence.code = x", "unknown_field", 0),
        ("victim.outcome", "condition_syntax", 14),
        ("victim.outcome in (killed", "condition_syntax", 25),
        ("victim.outcome = killed or victim.sex = male", "condition_syntax", 24),
        ("victim.outcome == killed", "condition_syntax", 16),
        ("victim.outcome = 'killed'", "condition_syntax", 17),
        ("victim.outcome is maybe", "condition_syntax", 18),
        ("and", "unknown_field", 0),
    ],
)
def test_errors_name_kind_and_position(text, kind, position):
    with pytest.raises(ConditionError) as exc:
        parse_condition(text)
    assert exc.value.kind == kind
    assert exc.value.position == position


def test_null_semantics_cover_every_value():
    eq = parse_condition("victim.outcome = serious_injury")
    ne = parse_condition("victim.outcome != serious_injury")
    for v in (*FIELDS["victim.outcome"], None):
        assert eq.matches({"victim.outcome": v}) != ne.matches({"victim.outcome": v})
    assert ne.matches({})  # NULL (not known) is covered by !=
    assert not parse_condition("victim.outcome in (killed)").matches({})


def _random_table(n: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    cols = {}
    for f, dom in FIELDS.items():
        vals = [*dom, None]
        picks = [vals[i] for i in rng.integers(0, len(vals), n)]
        if f == "incident.cyber_related":
            cols[f] = pa.array([None if v is None else v == "true" for v in picks], pa.bool_())
        else:
            cols[f] = pa.array(picks, pa.string())
    return pa.table(cols)


CONDITIONS = [
    "victim.outcome = serious_injury",
    "victim.outcome != serious_injury and incident.weapon in (firearm, other)",
    "victim.relationship in (current_partner, former_partner) and victim.sex = female",
    "incident.cyber_related = true",
    "incident.cyber_related != false and incident.motive is null",
    "victim.citizenship is not null and incident.situational_context != gang",
]


@pytest.mark.parametrize("text", CONDITIONS)
def test_mask_and_sql_agree_with_scalar_truth(text):
    cond = parse_condition(text)
    table = _random_table(500)
    rows = table.to_pylist()
    truth = [
        cond.matches(
            {
                k: (None if v is None else (str(v).lower() if isinstance(v, bool) else v))
                for k, v in r.items()
            }
        )
        for r in rows
    ]
    assert cond.mask(table).to_pylist() == truth
    con = duckdb.connect()
    con.register("t", table)
    got = con.sql(f"SELECT {cond.to_sql()} AS m FROM t").to_arrow_table()["m"].to_pylist()
    assert got == truth


def test_sets():
    assert parse_sets("situational_context=intimate_partner_family; motive=gender_based") == (
        ("situational_context", "intimate_partner_family"),
        ("motive", "gender_based"),
    )
    assert parse_sets("incident.weapon = firearm") == (("weapon", "firearm"),)
    assert parse_sets("") == ()
    for bad, kind in [
        ("sex=female", "unknown_field"),
        ("weapon=bazooka", "unknown_token"),
        ("weapon", "condition_syntax"),
        ("weapon=firearm;weapon=other", "condition_syntax"),
    ]:
        with pytest.raises(ConditionError) as exc:
            parse_sets(bad)
        assert exc.value.kind == kind


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_parser_never_crashes(text):
    try:
        cond = parse_condition(text)
    except ConditionError as exc:
        assert exc.kind in ("condition_syntax", "unknown_field", "unknown_token")
        assert 0 <= exc.position <= len(text)
    else:
        assert parse_condition(cond.text()) == cond


_TOKENS = st.sampled_from(
    [
        "victim.outcome",
        "incident.weapon",
        "=",
        "!=",
        "in",
        "(",
        ")",
        ",",
        "and",
        "is",
        "not",
        "null",
        "killed",
        "firearm",
        "other",
        "x.y",
        "'",
        "  ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=12))
def test_fuzz_token_soup(tokens):
    text = " ".join(tokens)
    try:
        parse_condition(text)
        parse_sets(text)
    except ConditionError:
        pass


def _valid_condition():
    fields = list(FIELDS)

    @st.composite
    def build(draw):
        clauses = []
        for f in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True)):
            op = draw(st.sampled_from(["=", "!=", "in", "is null", "is not null"]))
            dom = FIELDS[f]
            if op in ("=", "!="):
                clauses.append(f"{f} {op} {draw(st.sampled_from(dom))}")
            elif op == "in":
                vals = draw(st.lists(st.sampled_from(dom), min_size=1, max_size=3, unique=True))
                clauses.append(f"{f} in ({', '.join(vals)})")
            else:
                clauses.append(f"{f} {op}")
        return " and ".join(clauses)

    return build()


@settings(max_examples=200, deadline=None)
@given(_valid_condition())
def test_generated_conditions_parse_and_evaluate(text):
    cond = parse_condition(text)
    assert parse_condition(cond.text()) == cond
    # exhaustive check over the fields' domains against the vectorized mask
    fields = cond.fields()
    combos = list(itertools.product(*[(*FIELDS[f], None) for f in fields]))
    cols = {}
    for i, f in enumerate(fields):
        vals = [c[i] for c in combos]
        if f == "incident.cyber_related":
            cols[f] = pa.array([None if v is None else v == "true" for v in vals], pa.bool_())
        else:
            cols[f] = pa.array(vals, pa.string())
    mask = cond.mask(pa.table(cols)).to_pylist()
    assert mask == [cond.matches(dict(zip(fields, c, strict=True))) for c in combos]
