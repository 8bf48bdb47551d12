import csv
from pathlib import Path

import pytest
import sqlglot

from talaia.errors import DataError
from talaia.indicators import catalogue, compute, get_indicator
from talaia.indicators.definitions import iccs_codes, load_definition
from talaia.indicators.sql import Query, build_statement
from talaia.periods import parse_period

REQUIRED = {
    "homicide_rate",
    "femicide_rate",
    "female_homicide_rate",
    "firearm_homicide_share",
    "attempted_homicide_rate",
    "serious_assault_rate",
    "sexual_violence_rate",
    "rape_rate",
    "robbery_rate",
    "burglary_rate",
    "motor_vehicle_theft_rate",
    "kidnapping_rate",
    "extortion_rate",
    "intimate_partner_family_violence_rate",
    "trafficking_victims_rate",
    "drug_trafficking_rate",
    "cyber_related_share",
    "unsentenced_detainee_share",
    "prison_admission_rate",
}
IDS = [i.id for i in catalogue()]


def test_catalogue_has_the_issue_list():
    assert set(IDS) >= REQUIRED
    hom = get_indicator("homicide_rate")
    assert hom.reference.sdg_series == "VC_IHR_PSRC"
    assert {"sex", "age_group", "weapon", "situational_context", "relationship"} <= set(
        hom.disaggregations
    )


def test_sdg_series_codes_are_real():
    path = Path(__file__).parents[2] / "src/talaia/indicators/data/sdg_series.csv"
    with path.open(encoding="utf-8") as fh:
        known = {r["series_code"] for r in csv.DictReader(fh)}
    for ind in catalogue():
        if ind.reference.sdg_series:
            assert ind.reference.sdg_series in known, ind.id


@pytest.mark.parametrize("ind_id", IDS)
def test_every_definition_compiles_transpiles_and_runs(ind_id, wh):
    ind = get_indicator(ind_id)
    assert ind.method_note.en and ind.method_note.es and ind.name.es
    assert all(c in iccs_codes() for c in ind.numerator.iccs)
    by = ind.disaggregations[:1]
    q = Query(ind, (parse_period("2023"), parse_period("R12:2023-06")), "R1", 1, 3, by)
    sql = build_statement(q).sql(dialect="duckdb")
    for dialect in ("postgres", "spark"):
        out = sqlglot.transpile(sql, read="duckdb", write=dialect)
        assert len(out) == 1 and "fact_" in out[0]
    t = compute(ind_id, period="2023", level=3, by=by, warehouse=wh)
    assert t.num_rows > 0
    assert set(t.column("coverage").to_pylist()) <= {"ok", "partial", "no_data"}


def _write(tmp_path, text, name="x_rate.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


BASE = """id: x_rate
version: 1
name: {en: X, es: X}
definition: {en: X, es: X}
counting_unit: victims
numerator: {table: fact_victim, iccs: ["%s"]}
denominator: {kind: population}
unit: rate_per_100k
disaggregations: [%s]
method_note: {en: X, es: X}
"""


def test_definition_errors_name_file_and_field(tmp_path):
    assert load_definition(_write(tmp_path, BASE % ("0101", "sex"))).id == "x_rate"
    with pytest.raises(DataError, match=r"x_rate.yaml: field numerator.iccs.*0199"):
        load_definition(_write(tmp_path, BASE % ("0199", "sex")))
    with pytest.raises(DataError, match=r"x_rate.yaml.*custody_status"):
        load_definition(_write(tmp_path, BASE % ("0101", "custody_status")))
    with pytest.raises(DataError, match="unit"):
        load_definition(
            _write(tmp_path, (BASE % ("0101", "sex")).replace("kind: population", "kind: none"))
        )
    with pytest.raises(DataError, match="file name"):
        load_definition(_write(tmp_path, BASE % ("0101", "sex"), name="other.yaml"))
