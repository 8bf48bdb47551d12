"""Patterns a criminologist expects are present in the canonical records."""

import numpy as np
import pyarrow.parquet as pq
import pytest

from .readers import POLICE, canonical


@pytest.fixture(scope="module")
def police(out):
    rows = {}
    for s in POLICE:
        inc = canonical(out, s, "incident")
        off = canonical(out, s, "offence")
        assert inc.column("external_id").to_pylist() == off.column("incident_ref").to_pylist()
        for name in (
            "occurred_from",
            "occurred_precision",
            "area_code",
            "lon",
            "lat",
            "weapon",
            "cyber_related",
            "situational_context",
            "month",
        ):
            rows.setdefault(name, []).append(inc.column(name).to_numpy(zero_copy_only=False))
        for name in ("iccs_code", "national_code"):
            rows.setdefault(name, []).append(off.column(name).to_numpy(zero_copy_only=False))
    out_ = {k: np.concatenate(v) for k, v in rows.items()}
    out_["t"] = out_["occurred_from"].astype("datetime64[s]")
    return out_


def test_all_offence_families_present(police):
    codes = set(police["iccs_code"])
    for c in (
        "0101",
        "0102",
        "020111",
        "020112",
        "02012",
        "02011",
        "020221",
        "02051",
        "03011",
        "03012",
        "04011",
        "040121",
        "05012",
        "05011",
        "050211",
        "050221",
        "060111",
        "060121",
        "07011",
        "09031",
        "090111",
    ):
        assert c in codes, c
    cyber = police["cyber_related"][np.isin(police["iccs_code"], ["07011", "09031"])]
    assert cyber.all()


def test_seasonality_july_december_peaks(police):
    month = police["t"].astype("datetime64[M]").astype(int) % 12
    n = np.bincount(month, minlength=12)
    peak = (n[6] + n[11]) / 2
    trough = n[1:4].mean()
    assert peak / trough > 1.04


def test_weekend_and_night_violence(police):
    viol = np.isin(police["iccs_code"], ["0101", "0102", "020111", "020112"])
    dow = (police["t"][viol].astype("datetime64[D]").astype(int) + 3) % 7  # Mon = 0
    assert np.isin(dow, [5, 6]).mean() > 0.33  # uniform would be 2/7 = 0.286
    rob = (police["iccs_code"] == "04011") & (police["occurred_precision"] == "minute")
    hour = police["t"][rob].astype("datetime64[h]").astype(int) % 24
    night = np.isin(hour, [19, 20, 21, 22, 23, 0, 1])
    assert night.mean() > 7 / 24 + 0.1


def test_spatial_concentration(police):
    cell = np.floor(police["lon"] / 0.005).astype(int) * 100_000 + np.floor(
        police["lat"] / 0.005
    ).astype(int)
    _, n = np.unique(cell, return_counts=True)
    n = np.sort(n)[::-1]
    top = n[: max(1, len(n) // 10)].sum() / n.sum()
    assert top > 0.4  # the busiest 10% of ~500 m cells hold over 40% of incidents


def test_near_repeat_burglary(police):
    b = police["iccs_code"] == "05012"
    x, y = police["lon"][b], police["lat"][b]
    t = police["t"][b].astype(np.int64) / 86400.0

    def close_pairs(times):
        dx = np.abs(x[:, None] - x[None, :]) < 0.002
        dy = np.abs(y[:, None] - y[None, :]) < 0.002
        dt = np.abs(times[:, None] - times[None, :]) < 7
        return (np.triu(dx & dy & dt, 1)).sum()

    observed = close_pairs(t)
    rng = np.random.default_rng(0)
    shuffled = np.mean([close_pairs(rng.permutation(t)) for _ in range(5)])
    assert observed > 2 * shuffled + 5


def test_homicide_weapons_and_femicide(police):
    hom = police["iccs_code"] == "0101"
    share = (police["weapon"][hom] == "firearm").mean()
    assert 0.45 < share < 0.8
    fem = np.isin(police["national_code"], ["FEM", "121-A"])
    assert fem.sum() > 0
    assert (police["situational_context"][fem] == "intimate_partner_family").all()


def test_victim_sex_by_offence(out):
    vic = pq.read_table(out / "truth" / "victims.parquet").to_pylist()

    def female_share(code):
        f = sum(v["count"] for v in vic if v["iccs_code"] == code and v["sex"] == "female")
        return f / sum(v["count"] for v in vic if v["iccs_code"] == code)

    assert female_share("03011") > 0.8
    assert female_share("0101") < 0.2
    assert female_share("02011") > 0.7  # intimate-partner violence


def test_police_and_forensic_disagree_by_region(out):
    deaths = pq.read_table(out / "truth" / "deaths.parquet").to_pylist()
    pol = sum(d["police_recorded"] for d in deaths)
    fo = sum(d["forensic_recorded"] for d in deaths)
    true = sum(d["true_deaths"] for d in deaths)
    assert pol < true and fo < true
    assert 0.02 < (fo - pol) / true < 0.2  # the police miss more deaths than forensics
    ratio = {}
    for d in deaths:
        r = ratio.setdefault(d["area_code"][:3], [0, 0])
        r[0] += d["police_recorded"]
        r[1] += d["forensic_recorded"]
    rel = [p / f for p, f in ratio.values() if f]
    assert max(rel) - min(rel) > 0.05
    # each service records deaths the other misses: police-only and forensic-only both occur
    assert sum(d["true_deaths"] - d["forensic_recorded"] for d in deaths) > 0
    assert sum(d["true_deaths"] - d["police_recorded"] for d in deaths) > 0


def test_prison_admissions(out):
    c = canonical(out, "penitenciario", "custody")
    status = np.asarray(c.column("custody_status").to_pylist())
    assert 0.35 < (status == "pretrial").mean() < 0.55
    keys = set(c.column("person_key").to_pylist())
    per = canonical(out, "policia_nacional", "perpetrator")
    assert len(keys & set(per.column("person_key").to_pylist())) > 10  # linkable across agencies
