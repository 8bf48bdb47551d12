"""The demo agencies' crosswalks validate and classify every canonical demo record as the
generator's ground truth says (offence.iccs_code / custody.iccs_code hold the true code)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from talaia.classification.classify import classify, offence_inputs
from talaia.classification.crosswalk import read_crosswalk
from talaia.classification.validation import validate, validate_file
from talaia.demo import catalogue, generator


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    generator.generate(out, scale=0.02, years=(2023,))
    return out


def _concat(out, source, table):
    files = sorted((out / "canonical" / source).glob(f"*/{table}.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files]) if files else None


@pytest.mark.slow
@pytest.mark.parametrize("source", ["policia_nacional", "policia_metropolitana", "medicina_legal"])
def test_demo_offences_classify_as_truth(demo_out, source):
    report = validate_file(demo_out / "crosswalks" / f"{source}.csv")
    assert report.ok, report.errors
    cw = report.crosswalk
    offence = _concat(demo_out, source, "offence")
    x = offence_inputs(
        offence,
        _concat(demo_out, source, "incident"),
        _concat(demo_out, source, "victim"),
        cw.fields(),
    )
    res = classify(x, cw, 1)
    assert res.table["iccs_code"].to_pylist() == offence["iccs_code"].to_pylist()
    assert res.reason_counts() == {}
    # the codes the agency uses but the crosswalk leaves out are reported, not guessed
    unmapped = list(catalogue.CODE_LISTS[source].unmapped)
    extra = x.slice(0, len(unmapped)).set_column(0, "national_code", pa.array(unmapped))
    assert classify(extra, cw, 1).reason_counts() == {"unknown_code": len(unmapped)}
    counts = {c: 1 for c in (*cw.national_codes(), *unmapped)}
    missing = validate(
        read_crosswalk(demo_out / "crosswalks" / f"{source}.csv"), data_codes=counts
    ).errors
    assert sorted(i.message.split("'")[1] for i in missing) == sorted(unmapped)


@pytest.mark.slow
def test_demo_custody_classifies_as_truth(demo_out):
    report = validate_file(demo_out / "crosswalks" / "penitenciario.csv")
    assert report.ok, report.errors
    custody = _concat(demo_out, "penitenciario", "custody")
    x = pa.table(
        {
            "national_code": custody["national_code"],
            "date": pa.compute.cast(custody["admitted_at"], pa.date32()),
        }
    )
    res = classify(x, report.crosswalk, 1)
    assert res.table["iccs_code"].to_pylist() == custody["iccs_code"].to_pylist()
