from __future__ import annotations

import pyarrow as pa
import pytest

from talaia.records import schema, vocab


def test_age_group_boundaries() -> None:
    assert vocab.age_group(0) == "00-04"
    assert vocab.age_group(4) == "00-04"
    assert vocab.age_group(5) == "05-09"
    assert vocab.age_group(79) == "75-79"
    assert vocab.age_group(80) == "80+"
    assert vocab.age_group(104) == "80+"
    assert len(vocab.AGE_GROUPS) == 17
    with pytest.raises(ValueError):
        vocab.age_group(-1)


def test_vocabularies_translate_to_iccs_codes_and_spanish() -> None:
    assert vocab.WEAPON.iccs_code("firearm") == "1"
    assert vocab.SITUATIONAL_CONTEXT.iccs_code("intimate_partner_family") == "5"
    assert vocab.SEX.label("female", "es") == "Mujer"
    assert set(vocab.VOCABULARIES) >= {"sex", "weapon", "relationship", "location_type"}


def test_vocab_codes_exist_in_the_iccs_annex() -> None:
    """Every ICCS value code we claim must be in the shipped Annex table with that tag."""
    import csv
    from importlib.resources import files

    path = files("talaia.classification") / "data" / "iccs_v1_disaggregations.csv"
    with path.open(encoding="utf-8") as fh:
        annex = {(r["tag"], r["value_code"]) for r in csv.DictReader(fh)}
    for v in vocab.VOCABULARIES.values():
        if not v.iccs_tag:
            continue
        for token in v.tokens():
            assert (v.iccs_tag, v.iccs_code(token)) in annex, (v.name, token)


def test_conform_adds_nullable_drops_extra_and_requires_required() -> None:
    t = pa.table({"external_id": ["a"], "incident_ref": ["i"], "national_code": ["X"], "junk": [1]})
    out = schema.conform(t, "offence")
    assert out.schema == schema.OFFENCE
    assert out.column("iccs_code").null_count == 1
    with pytest.raises(KeyError, match="national_code"):
        schema.conform(pa.table({"external_id": ["a"], "incident_ref": ["i"]}), "offence")
