"""The ground truth agrees with what was written: canonical and raw files, recounted here."""

from collections import Counter

import pyarrow.parquet as pq
import pytest

from .readers import EVENT_SOURCES, canonical, defects, raw_rows, row_offset

RAW_ID = {
    "policia_nacional": "numero_denuncia",
    "policia_metropolitana": "NRO_PARTE",
    "medicina_legal": "Protocolo",
    "penitenciario": "id_ingreso",
}
RAW_CODE = {
    "policia_nacional": "codigo_delito",
    "policia_metropolitana": "ARTICULO",
    "medicina_legal": "Manera de muerte",
    "penitenciario": "delito_codigo",
}
RAW_AREA = {
    "policia_nacional": "codigo_municipio",
    "policia_metropolitana": "DISTRITO",
    "medicina_legal": "Código municipio",
    "penitenciario": "codigo_municipio",
}


def _truth(out, name):
    return pq.read_table(out / "truth" / f"{name}.parquet").to_pylist()


def _sum(pairs) -> dict:
    """Sum the truth counts over the variables a comparison does not key on."""
    c: Counter = Counter()
    for key, n in pairs:
        c[key] += n
    return dict(c)


@pytest.mark.parametrize("source", EVENT_SOURCES)
def test_offence_and_victim_truth_equals_canonical(out, source):
    inc = canonical(out, source, "incident")
    off = canonical(out, source, "offence")
    vic = canonical(out, source, "victim")
    area = dict(
        zip(inc.column("external_id").to_pylist(), inc.column("area_code").to_pylist(), strict=True)
    )
    iccs = dict(
        zip(
            off.column("incident_ref").to_pylist(), off.column("iccs_code").to_pylist(), strict=True
        )
    )
    got = Counter(
        (area[r], m, iccs[r])
        for r, m in zip(
            off.column("incident_ref").to_pylist(), off.column("month").to_pylist(), strict=True
        )
    )
    exp = _sum(
        ((t["area_code"], t["month"], t["iccs_code"]), t["count"])
        for t in _truth(out, "offences")
        if t["source_code"] == source
    )
    assert dict(got) == exp
    got_v = Counter(
        (area[r], m, iccs[r], s)
        for r, m, s in zip(
            vic.column("incident_ref").to_pylist(),
            vic.column("month").to_pylist(),
            vic.column("sex").to_pylist(),
            strict=True,
        )
    )
    exp_v = _sum(
        ((t["area_code"], t["month"], t["iccs_code"], t["sex"]), t["count"])
        for t in _truth(out, "victims")
        if t["source_code"] == source
    )
    assert dict(got_v) == exp_v


EVENT_VARS = ("weapon", "location_type", "attempted", "cyber_related", "situational_context")


def _age_group(age):
    if age is None:
        return None
    return "80+" if age >= 80 else f"{age // 5 * 5:02d}-{age // 5 * 5 + 4:02d}"


@pytest.mark.parametrize("source", EVENT_SOURCES)
def test_event_and_victim_variables_truth_equals_canonical(out, source):
    """The truth's event variables (weapon, context, cyber flag...) and victim variables (age
    group, relationship, citizenship) agree with the canonical records, record by record."""
    inc = {r["external_id"]: r for r in canonical(out, source, "incident").to_pylist()}
    off = canonical(out, source, "offence").to_pylist()
    iccs = {o["incident_ref"]: o["iccs_code"] for o in off}

    def event(ref, month):
        i = inc[ref]
        return (i["area_code"], month, iccs[ref], *(i.get(c) for c in EVENT_VARS))

    got = Counter(event(o["incident_ref"], o["month"]) for o in off)
    exp = _sum(
        ((t["area_code"], t["month"], t["iccs_code"], *(t[c] for c in EVENT_VARS)), t["count"])
        for t in _truth(out, "offences")
        if t["source_code"] == source
    )
    assert dict(got) == exp
    assert any(k[-1] == "intimate_partner_family" for k in exp) == (source != "medicina_legal")
    got_v = Counter(
        (
            *event(v["incident_ref"], v["month"]),
            v["sex"],
            _age_group(v["age"]),
            v.get("relationship"),
            v["citizenship"],
        )
        for v in canonical(out, source, "victim").to_pylist()
    )
    exp_v = _sum(
        (
            (
                t["area_code"],
                t["month"],
                t["iccs_code"],
                *(t[c] for c in EVENT_VARS),
                t["sex"],
                t["age_group"],
                t["relationship"],
                t["citizenship"],
            ),
            t["count"],
        )
        for t in _truth(out, "victims")
        if t["source_code"] == source
    )
    assert dict(got_v) == exp_v


def test_custody_truth_equals_canonical(out):
    c = canonical(out, "penitenciario", "custody").to_pylist()
    got = Counter(
        (
            r["area_code"],
            r["month"],
            r["iccs_code"],
            r["custody_status"],
            r["sex"],
            _age_group(r["age"]),
            r["citizenship"],
        )
        for r in c
    )
    exp = _sum(
        (
            (
                t["area_code"],
                t["month"],
                t["iccs_code"],
                t["custody_status"],
                t["sex"],
                t["age_group"],
                t["citizenship"],
            ),
            t["count"],
        )
        for t in _truth(out, "custody")
    )
    assert dict(got) == exp


def test_deaths_truth_bounds_the_recorded_homicides(out):
    deaths = _truth(out, "deaths")
    off = _truth(out, "offences")
    police = sum(
        t["count"]
        for t in off
        if t["iccs_code"] == "0101"
        and t["source_code"] in ("policia_nacional", "policia_metropolitana")
    )
    forensic = sum(
        t["count"] for t in off if t["iccs_code"] == "0101" and t["source_code"] == "medicina_legal"
    )
    assert sum(d["police_recorded"] for d in deaths) == police
    assert sum(d["forensic_recorded"] for d in deaths) == forensic
    assert all(d["police_recorded"] <= d["true_deaths"] >= d["forensic_recorded"] for d in deaths)


@pytest.mark.parametrize("source", (*EVENT_SOURCES, "penitenciario"))
def test_raw_minus_defects_equals_canonical(out, source):
    drops = {}
    for d in defects(out):
        if d["source_code"] == source and d["action"] == "drop":
            drops.setdefault(d["file"], set()).add(int(d["row"]))
    table = "custody" if source == "penitenciario" else "offence"
    canon = canonical(out, source, table).to_pylist()
    key = "external_id" if source == "penitenciario" else "incident_ref"
    canon_ids = [r[key] for r in canon]
    raw_ids, raw_codes, canon_codes = [], Counter(), Counter()
    area_by_id = {}
    if source != "penitenciario":
        inc = canonical(out, source, "incident")
        area_by_id = dict(
            zip(
                inc.column("external_id").to_pylist(),
                inc.column("area_code").to_pylist(),
                strict=True,
            )
        )
    for path in sorted((out / "raw" / source).iterdir()):
        rel = f"raw/{source}/{path.name}"
        off = row_offset(path)
        for i, row in enumerate(raw_rows(path)):
            if i + off in drops.get(rel, ()):
                continue
            raw_ids.append(row[RAW_ID[source]])
            raw_codes[(row[RAW_AREA[source]], row[RAW_CODE[source]])] += 1
    for r in canon:
        area = r["area_code"] if source == "penitenciario" else area_by_id[r[key]]
        canon_codes[(area, r["national_code"])] += 1
    assert raw_ids == canon_ids
    assert raw_codes == canon_codes


def test_raw_police_file_classified_by_crosswalk_equals_truth(out):
    """Independent path: raw PN rows minus dropped defects, classified with the crosswalk file
    (conditions evaluated on the raw injury label), recounted against the truth."""
    import csv

    with open(out / "crosswalks" / "policia_nacional.csv", encoding="utf-8") as fh:
        cw = list(csv.DictReader(fh))
    outcome = {
        "FALLECIDO": "killed",
        "LESION GRAVE": "serious_injury",
        "LESION LEVE": "minor_injury",
        "ILESO": "unharmed",
    }

    def classify(code, estado):
        for r in cw:
            if r["national_code"] != code:
                continue
            cond = r["condition"]
            if not cond:
                return r["iccs_code"]
            field, op, value = cond.split(" ")
            assert field == "victim.outcome"
            got = outcome.get(estado)
            if (op == "=" and got == value) or (op == "!=" and got != value):
                return r["iccs_code"]
        raise AssertionError(f"unmapped {code}")

    drops = {
        (d["file"], int(d["row"]))
        for d in defects(out)
        if d["source_code"] == "policia_nacional" and d["action"] == "drop"
    }
    got = Counter()
    for path in sorted((out / "raw" / "policia_nacional").iterdir()):
        rel = f"raw/policia_nacional/{path.name}"
        month = path.stem.split("_")[1]
        for i, row in enumerate(raw_rows(path)):
            if (rel, i + 2) not in drops:
                got[
                    (
                        row["codigo_municipio"],
                        month,
                        classify(row["codigo_delito"], row["victima_estado"]),
                    )
                ] += 1
    exp = _sum(
        ((t["area_code"], t["month"], t["iccs_code"]), t["count"])
        for t in _truth(out, "offences")
        if t["source_code"] == "policia_nacional"
    )
    assert dict(got) == exp
