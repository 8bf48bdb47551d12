"""From the event list to each agency's records: canonical tables, raw-file tables and the
defects injected into the raw files.

A *frame* is a dict of NumPy arrays (object arrays for strings, ``None`` = NULL) holding one
source's records of one month in agency terms. Canonical tables are built from the clean frame;
defects are then injected into a copy of the frame, which is formatted as the agency's raw file.
So raw minus the listed defects is exactly the canonical content.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from talaia.demo import catalogue as cat
from talaia.demo.country import Country
from talaia.demo.events import MonthAdmissions, MonthEvents, People
from talaia.demo.formats import RAW_COLUMNS, RAW_LABELS
from talaia.records.schema import conform

#: Secret of the demo's pseudonymization: person_key = HMAC-SHA256(DEMO_SECRET, cédula) hex.
DEMO_SECRET = b"talaia-demo-secret"
ID_PREFIX = {
    "policia_nacional": "D",
    "policia_metropolitana": "PM-",
    "medicina_legal": "IML-",
    "penitenciario": "ING-",
}
_TYPE_CTX = np.array([t.context for t in cat.CRIME_TYPES], dtype=object)
_TYPE_MOTIVE = np.array([t.motive for t in cat.CRIME_TYPES], dtype=object)


def _tok(values: tuple[str, ...]) -> np.ndarray:
    return np.asarray((*values, None), dtype=object)


_LOC, _WEA, _REL, _OUT = (
    _tok(v) for v in (cat.LOCATIONS, cat.WEAPONS, cat.RELATIONSHIPS, cat.OUTCOMES)
)
_ATT = np.asarray(["attempted", "completed", "not_applicable"], dtype=object)
_SEX = np.asarray(["male", "female"], dtype=object)


def person_key(cedula: str) -> str:
    """Pseudonym of a national ID under the demo secret (HMAC-SHA256, hex)."""
    return hmac.new(DEMO_SECRET, cedula.encode(), hashlib.sha256).hexdigest()


class PersonIds:
    """Cédulas and person keys of the people pool, computed once per person on first use."""

    def __init__(self, people: People):
        self.people = people
        n = people.sex.shape[0]
        num = 100_000_000 + (np.arange(n, dtype=np.int64) * 48271 + 12345) % 899_999_999
        self._num = num
        self._ced = np.empty(n, dtype=object)
        self._key = np.empty(n, dtype=object)

    def _fill(self, idx: np.ndarray) -> None:
        todo = np.unique(idx[np.equal(self._ced[idx], None)])
        for i in todo:  # once per person, not per record
            s = str(self._num[i])
            ced = f"{s[0]}-{s[1:5]}-{s[5:]}"
            self._ced[i] = ced
            self._key[i] = person_key(ced)

    def cedula(self, idx: np.ndarray) -> np.ndarray:
        self._fill(idx)
        return self._ced[idx]

    def key(self, idx: np.ndarray) -> np.ndarray:
        self._fill(idx)
        return self._key[idx]


def make_ids(source: str, ym: str, seq: np.ndarray) -> np.ndarray:
    """Agency record numbers, e.g. ``D201901000123`` (PN), ``PM-2019-01-00123``."""
    width = 6 if source == "policia_nacional" else 5
    body = ym.replace("-", "") if source in ("policia_nacional", "penitenciario") else ym
    sep = "" if source == "policia_nacional" else "-"
    prefix = f"{ID_PREFIX[source]}{body}{sep}"
    num = pc.utf8_lpad(pa.array(seq.astype(np.int64)).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, num, "").to_numpy(zero_copy_only=False)


def _obj(a: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    out = a.astype(object)
    if mask is not None:
        out[~mask] = None
    return out


@dataclass(frozen=True)
class Context:
    """What building a source's month needs besides the events."""

    country: Country
    people: People
    ids: PersonIds
    year: int


def police_frame(ev: MonthEvents, idx: np.ndarray, source: str, ym: str, ctx: Context) -> dict:
    """Frame of a police source's records (events ``idx``)."""
    cl = cat.CODE_LISTS[source]
    types = ev.type[idx]
    code_by_type = np.array([cl.by_type.get(t.key) for t in cat.CRIME_TYPES], dtype=object)
    codes = code_by_type[types]
    labels = np.array([cl.codes[c] for c in code_by_type], dtype=object)[types]
    n = idx.shape[0]
    hv = ev.has_victim[idx]
    hp = ev.has_perp[idx]
    person = ev.p_person[idx]
    ced = np.full(n, None, dtype=object)
    pkey = np.full(n, None, dtype=object)
    if hp.any():
        ced[hp] = ctx.ids.cedula(person[hp])
        pkey[hp] = ctx.ids.key(person[hp])
    ctxt = _TYPE_CTX[types]
    motive = _TYPE_MOTIVE[types]
    if source == "policia_metropolitana":  # PM records no context or motive; the crosswalk sets it
        ctxt = np.where(np.isin(codes, ["121-A", "149-B"]), "intimate_partner_family", None)
        motive = np.full(n, None, dtype=object)
    return {
        "id": make_ids(source, ym, np.arange(1, n + 1)),
        "t": ev.t[idx],
        "day_prec": ev.day_precision[idx],
        "reported": ev.reported[idx],
        "bad_date": np.full(n, None, dtype=object),
        "muni": np.asarray(ctx.country.muni_codes, dtype=object)[ev.muni[idx]],
        "x": ev.x[idx].copy(),
        "y": ev.y[idx].copy(),
        "code": codes,
        "label": labels,
        "iccs": ev.iccs[idx],
        "location": _LOC[ev.location[idx]],
        "weapon": _WEA[ev.weapon[idx]],
        "attempted": _ATT[ev.attempted[idx]],
        "context": ctxt.astype(object),
        "motive": motive.astype(object),
        "cyber": ev.cyber[idx],
        "v_sex": _obj(_SEX[ev.v_sex[idx]], hv),
        "v_age": _obj(ev.v_age[idx], hv),
        "v_cit": _obj(np.where(ev.v_foreign[idx], "foreign", "national"), hv),
        "v_rel": _obj(_REL[ev.v_rel[idx]], hv),
        "v_outcome": _obj(_OUT[ev.v_outcome[idx]], hv),
        "p_ced": ced,
        "p_key": pkey,
        "p_sex": _obj(_SEX[ctx.people.sex[person]], hp),
        "p_age": _obj((ctx.year - ctx.people.birth_year[person]).astype(np.int64), hp),
        "p_cit": _obj(np.where(ctx.people.foreign[person], "foreign", "national"), hp),
        "p_recid": _obj(ctx.people.recidivist(person), hp),
    }


def forensic_frame(
    ev: MonthEvents, idx: np.ndarray, ym: str, ctx: Context, rng: np.random.Generator
) -> dict:
    """Frame of the forensic service's death records (events ``idx``)."""
    types = ev.type[idx]
    n = idx.shape[0]
    traffic = types == cat.TYPE_INDEX["traffic_death"]
    codes = np.where(traffic, "MM-TRA", "MM-HOM").astype(object)
    labels = np.array([cat.IML_CODES.codes[c] for c in ("MM-HOM", "MM-TRA")], dtype=object)[
        traffic.astype(int)
    ]
    day_prec = ev.day_precision[idx] | (rng.random(n) < 0.3)
    t = np.where(day_prec, ev.t[idx].astype("datetime64[D]").astype("datetime64[s]"), ev.t[idx])
    admitted = t + (rng.exponential(10.0, n) * 3600 + 1800).astype("timedelta64[s]")
    return {
        "id": make_ids("medicina_legal", ym, np.arange(1, n + 1)),
        "t": t,
        "day_prec": day_prec,
        "reported": admitted,
        "bad_date": np.full(n, None, dtype=object),
        "muni": np.asarray(ctx.country.muni_codes, dtype=object)[ev.muni[idx]],
        "code": codes,
        "label": labels,
        "iccs": ev.iccs[idx],
        "location": _LOC[ev.location[idx]],
        "weapon": _WEA[ev.weapon[idx]],
        "v_sex": _SEX[ev.v_sex[idx]].astype(object),
        "v_age": ev.v_age[idx].astype(object),
        "v_cit": np.where(ev.v_foreign[idx], "foreign", "national").astype(object),
    }


def prison_frame(ad: MonthAdmissions, ym: str, ctx: Context, facility_muni: np.ndarray) -> dict:
    """Frame of the prison service's admissions."""
    n = ad.t.shape[0]
    iccs_of = {r[0]: r[2] for r in cat.SPN_CODES.crosswalk}
    code = ad.code.astype(object)
    return {
        "id": make_ids("penitenciario", ym, np.arange(1, n + 1)),
        "t": ad.t,
        "bad_date": np.full(n, None, dtype=object),
        "facility": np.array([f"CP{i + 1:02d}" for i in ad.facility], dtype=object),
        "muni": np.asarray(ctx.country.muni_codes, dtype=object)[facility_muni[ad.facility]],
        "p_ced": ctx.ids.cedula(ad.person),
        "p_key": ctx.ids.key(ad.person),
        "status": np.where(ad.pretrial, "pretrial", "sentenced").astype(object),
        "v_sex": _SEX[ctx.people.sex[ad.person]].astype(object),
        "v_age": (ctx.year - ctx.people.birth_year[ad.person]).astype(object),
        "v_cit": np.where(ctx.people.foreign[ad.person], "foreign", "national").astype(object),
        "code": code,
        "label": np.array([cat.SPN_CODES.codes[c] for c in code], dtype=object),
        "iccs": np.array([iccs_of[c] for c in code], dtype=object),
    }


# -- canonical tables ---------------------------------------------------------------------------


def _mapping_types(source: str) -> dict[tuple[str, str], str]:
    return {(r[0], r[2]): r[3] for r in cat.CODE_LISTS[source].crosswalk}


def _arr(a, typ=None):
    return pa.array(a, type=typ, from_pandas=True)


def canonical_tables(source: str, f: dict) -> dict[str, pa.Table]:
    """Canonical tables (contracts §1/§3) of a clean frame."""
    ids = f["id"]
    if source == "penitenciario":
        t = pa.table(
            {
                "external_id": _arr(ids, pa.string()),
                "person_key": _arr(f["p_key"], pa.string()),
                "facility_code": _arr(f["facility"], pa.string()),
                "area_code": _arr(f["muni"], pa.string()),
                "admitted_at": _arr(f["t"]),
                "custody_status": _arr(f["status"], pa.string()),
                "sex": _arr(f["v_sex"], pa.string()),
                "age": _arr(f["v_age"], pa.int16()),
                "citizenship": _arr(f["v_cit"], pa.string()),
                "national_code": _arr(f["code"], pa.string()),
                "iccs_code": _arr(f["iccs"], pa.string()),
            }
        )
        return {"custody": conform(t, "custody")}
    n = ids.shape[0]
    has_xy = "x" in f
    inc = {
        "external_id": _arr(ids, pa.string()),
        "occurred_from": _arr(f["t"]),
        "occurred_precision": _arr(np.where(f["day_prec"], "day", "minute"), pa.string()),
        "reported_at": _arr(f["reported"]),
        "area_code": _arr(f["muni"], pa.string()),
        "location_type": _arr(f["location"], pa.string()),
        "weapon": _arr(f["weapon"], pa.string()),
    }
    if has_xy:
        inc.update(
            {
                "lon": _arr(f["x"]),
                "lat": _arr(f["y"]),
                "attempted": _arr(f["attempted"], pa.string()),
                "situational_context": _arr(f["context"], pa.string()),
                "motive": _arr(f["motive"], pa.string()),
                "cyber_related": _arr(f["cyber"], pa.bool_()),
            }
        )
    else:
        inc["attempted"] = pa.array(["completed"] * n, pa.string())
    off_ids = pc.binary_join_element_wise(_arr(ids, pa.string()), "-1", "")
    mt = _mapping_types(source)
    off = pa.table(
        {
            "external_id": off_ids,
            "incident_ref": _arr(ids, pa.string()),
            "national_code": _arr(f["code"], pa.string()),
            "national_label": _arr(f["label"], pa.string()),
            "iccs_code": _arr(f["iccs"], pa.string()),
            "crosswalk_version": pa.array(np.ones(n, np.int32)),
            "mapping_type": pa.array(
                [mt[(c, i)] for c, i in zip(f["code"], f["iccs"], strict=True)] if n else [],
                pa.string(),
            ),
        }
    )
    hv = ~np.equal(f["v_sex"], None)
    vids = _arr(ids[hv], pa.string())
    vic = pa.table(
        {
            "external_id": pc.binary_join_element_wise(vids, "-V1", ""),
            "incident_ref": vids,
            "offence_ref": pc.binary_join_element_wise(vids, "-1", ""),
            "sex": _arr(f["v_sex"][hv], pa.string()),
            "age": _arr(f["v_age"][hv], pa.int16()),
            "relationship": _arr(f["v_rel"][hv], pa.string()) if has_xy else None,
            "citizenship": _arr(f["v_cit"][hv], pa.string()),
            "outcome": (
                _arr(f["v_outcome"][hv], pa.string())
                if has_xy
                else pa.array(["killed"] * int(hv.sum()), pa.string())
            ),
        }
        if has_xy
        else {
            "external_id": pc.binary_join_element_wise(vids, "-V1", ""),
            "incident_ref": vids,
            "offence_ref": pc.binary_join_element_wise(vids, "-1", ""),
            "sex": _arr(f["v_sex"][hv], pa.string()),
            "age": _arr(f["v_age"][hv], pa.int16()),
            "citizenship": _arr(f["v_cit"][hv], pa.string()),
            "outcome": pa.array(["killed"] * int(hv.sum()), pa.string()),
        }
    )
    out = {
        "incident": conform(pa.table(inc), "incident"),
        "offence": conform(off, "offence"),
        "victim": conform(vic, "victim"),
    }
    if has_xy:
        hp = ~np.equal(f["p_key"], None)
        pids = _arr(ids[hp], pa.string())
        per = pa.table(
            {
                "external_id": pc.binary_join_element_wise(pids, "-P1", ""),
                "incident_ref": pids,
                "offence_ref": pc.binary_join_element_wise(pids, "-1", ""),
                "person_key": _arr(f["p_key"][hp], pa.string()),
                "sex": _arr(f["p_sex"][hp], pa.string()),
                "age": _arr(f["p_age"][hp], pa.int16()),
                "relationship": _arr(np.where(hv[hp], f["v_rel"][hp], None), pa.string()),
                "citizenship": _arr(f["p_cit"][hp], pa.string()),
                "recidivist": _arr(f["p_recid"][hp], pa.bool_()),
            }
        )
        out["perpetrator"] = conform(per, "perpetrator")
    else:
        out["perpetrator"] = conform(
            pa.table(
                {
                    "external_id": pa.array([], pa.string()),
                    "incident_ref": pa.array([], pa.string()),
                }
            ),
            "perpetrator",
        )
    return out


# -- defects ------------------------------------------------------------------------------------

DEFECT_KINDS = (
    "exact_duplicate",
    "near_duplicate",
    "impossible_date",
    "unknown_code",
    "outside_country",
    "swapped_latlon",
    "missing_sex",
    "missing_age",
)
DEFECT_RATE = {
    "exact_duplicate": 0.003,
    "near_duplicate": 0.003,
    "impossible_date": 0.001,
    "unknown_code": 0.002,
    "outside_country": 0.001,
    "swapped_latlon": 0.001,
    "missing_sex": 0.006,
    "missing_age": 0.008,
}
BLANKING = ("missing_sex", "missing_age")
#: Raw column(s) a defect concerns, per source.
RAW_FIELDS = {
    "policia_nacional": {
        "v_sex": "victima_sexo",
        "v_age": "victima_edad",
        "date": "fecha_hecho",
        "code": "codigo_delito",
        "coordinates": "latitud,longitud",
    },
    "policia_metropolitana": {
        "v_sex": "SEXO_VICTIMA",
        "v_age": "EDAD_VICTIMA",
        "date": "FECHA_HORA",
        "code": "ARTICULO",
        "coordinates": "COORD_X,COORD_Y",
    },
    "medicina_legal": {
        "v_sex": "Sexo",
        "v_age": "Edad",
        "date": "Fecha del hecho",
        "code": "Manera de muerte",
    },
    "penitenciario": {
        "v_sex": "sexo",
        "v_age": "edad",
        "date": "fecha_ingreso",
        "code": "delito_codigo",
    },
}


@dataclass(frozen=True)
class Defect:
    """One defect injected into a raw file (``row`` = index into the final frame)."""

    row: int
    kind: str
    external_id: str
    field: str
    action: str  # "drop": the row is not a real record; "blank": a real record, a field blanked
    original_row: int | None


def _bad_date(source: str, t: np.datetime64) -> str:
    y, m = int(str(t)[:4]), int(str(t)[5:7])
    d = 30 if m == 2 else (31 if m in (4, 6, 9, 11) else 32)
    hm = str(t)[11:16]
    if source == "policia_nacional":
        return f"{y}-{m:02d}-{d:02d}"
    if source == "policia_metropolitana":
        return f"{d:02d}/{m:02d}/{y} {hm}"
    if source == "medicina_legal":
        return f"{d:02d}/{m:02d}/{y}"
    return f"{y}-{m:02d}-{d:02d}T{hm}:00"


def inject_defects(
    source: str, ym: str, f: dict, rng: np.random.Generator, force: bool, country: Country
) -> tuple[dict, list[Defect]]:
    """Copy of frame ``f`` with defects injected, and the list of defects.

    Injected rows are placed right after the row they copy; blanked fields stay in place.
    ``force`` adds one defect of every applicable kind (so each kind exists at any scale).
    """
    n = f["id"].shape[0]
    kinds = [k for k in DEFECT_KINDS if "x" in f or k not in ("outside_country", "swapped_latlon")]
    if n == 0:
        return f, []
    g = {k: v.copy() for k, v in f.items()}
    blanks: list[tuple[int, str, str]] = []
    copies: list[tuple[int, str]] = []
    for kind in kinds:
        k = int(rng.binomial(n, DEFECT_RATE[kind])) + (1 if force else 0)
        if kind in BLANKING:
            col = "v_sex" if kind == "missing_sex" else "v_age"
            cand = np.flatnonzero(~np.equal(g[col], None))
            rows = rng.choice(cand, size=min(k, cand.shape[0]), replace=False)
            g[col][rows] = None
            blanks += [(int(r), kind, col) for r in np.sort(rows)]
        else:
            copies += [(int(r), kind) for r in np.sort(rng.integers(0, n, k))]
    m = len(copies)
    src = np.array([c[0] for c in copies], dtype=np.int64)
    extra = {k: v[src].copy() for k, v in g.items()}
    new_ids = make_ids(source, ym, np.arange(n + 1, n + 1 + m))
    minx, miny, _maxx, maxy = country.outline.bounds
    fields = []
    for j, (_r, kind) in enumerate(copies):
        if kind != "exact_duplicate":
            extra["id"][j] = new_ids[j]
        if kind == "near_duplicate":
            shift = np.timedelta64(int(rng.integers(1, 10)) * 60, "s")
            t = extra["t"][j]
            # a few minutes later, or earlier when later would fall in the next month (a near
            # duplicate is delivered in the same monthly file as its original)
            later = t + shift
            same = later.astype("datetime64[M]") == t.astype("datetime64[M]")
            extra["t"][j] = later if same else t - shift
            if "x" in extra:
                extra["x"][j] = round(float(extra["x"][j]) + rng.normal(0, 1e-4), 6)
                extra["y"][j] = round(float(extra["y"][j]) + rng.normal(0, 1e-4), 6)
            fields.append("")
        elif kind == "impossible_date":
            extra["bad_date"][j] = _bad_date(source, extra["t"][j])
            fields.append("date")
        elif kind == "unknown_code":
            codes = sorted(cat.CODE_LISTS[source].unmapped)
            c = codes[int(rng.integers(0, len(codes)))]
            extra["code"][j] = c
            extra["label"][j] = cat.CODE_LISTS[source].unmapped[c]
            fields.append("code")
        elif kind == "outside_country":
            extra["x"][j] = round(minx - rng.uniform(0.2, 1.5), 6)
            extra["y"][j] = round(rng.uniform(miny, maxy), 6)
            fields.append("coordinates")
        elif kind == "swapped_latlon":
            extra["x"][j], extra["y"][j] = extra["y"][j], extra["x"][j]
            fields.append("coordinates")
        else:
            fields.append("")
    key = np.concatenate([np.arange(n) * 2, src * 2 + 1])
    order = np.argsort(key, kind="stable")
    out = {k: np.concatenate([g[k], extra[k]])[order] for k in g}
    pos = np.empty(n + m, dtype=np.int64)
    pos[order] = np.arange(n + m)
    names = RAW_FIELDS[source]
    defects = [
        Defect(int(pos[r]), kind, str(out["id"][pos[r]]), names[col], "blank", None)
        for r, kind, col in blanks
    ]
    for j, (r, kind) in enumerate(copies):
        defects.append(
            Defect(
                int(pos[n + j]),
                kind,
                str(out["id"][pos[n + j]]),
                names.get(fields[j], ""),
                "drop",
                int(pos[r]),
            )
        )
    defects.sort(key=lambda d: (d.row, d.kind))
    return out, defects


# -- raw formatting -----------------------------------------------------------------------------


def _labels(source: str, var: str, tokens: np.ndarray) -> pa.Array:
    m = RAW_LABELS[source][var]
    keys = pa.array(list(m.keys()), pa.string())
    vals = pa.array(list(m.values()), pa.string())
    return pc.take(vals, pc.index_in(_arr(tokens, pa.string()), value_set=keys))


def _str(a, typ=None) -> pa.Array:
    return _arr(a, typ).cast(pa.string())


def _ts(a, fmt: str) -> pa.Array:
    return pc.strftime(_arr(a, pa.timestamp("s")), format=fmt)


def _bool(source: str, a: np.ndarray) -> pa.Array:
    tok = np.where(np.equal(a, None), None, np.where(a.astype(bool), "true", "false"))
    return _labels(source, "bool", tok.astype(object))


def raw_table(source: str, f: dict) -> pa.Table:
    """The agency's raw table (all strings) of a frame, columns as in ``RAW_COLUMNS``."""
    L = lambda var, col: _labels(source, var, f[col])  # noqa: E731
    bad = _arr(f["bad_date"], pa.string())
    if source == "policia_nacional":
        hora = pc.if_else(_arr(f["day_prec"]), pa.scalar(None, pa.string()), _ts(f["t"], "%H:%M"))
        cols = [
            f["id"],
            pc.coalesce(bad, _ts(f["t"], "%Y-%m-%d")),
            hora,
            _ts(f["reported"], "%Y-%m-%d %H:%M:%S"),
            f["muni"],
            _str(f["y"]),
            _str(f["x"]),
            f["code"],
            f["label"],
            L("attempted", "attempted"),
            L("location_type", "location"),
            L("weapon", "weapon"),
            L("situational_context", "context"),
            L("motive", "motive"),
            _bool(source, f["cyber"]),
            L("sex", "v_sex"),
            _str(f["v_age"], pa.int64()),
            L("citizenship", "v_cit"),
            L("relationship", "v_rel"),
            L("outcome", "v_outcome"),
            f["p_ced"],
            L("sex", "p_sex"),
            _str(f["p_age"], pa.int64()),
            L("citizenship", "p_cit"),
            _bool(source, f["p_recid"]),
        ]
    elif source == "policia_metropolitana":
        when = pc.if_else(
            _arr(f["day_prec"]), _ts(f["t"], "%d/%m/%Y"), _ts(f["t"], "%d/%m/%Y %H:%M")
        )
        comma = lambda a: pc.replace_substring(_str(a), ".", ",")  # noqa: E731
        cols = [
            f["id"],
            pc.coalesce(bad, when),
            _ts(f["reported"], "%d/%m/%Y %H:%M"),
            f["muni"],
            comma(f["x"]),
            comma(f["y"]),
            f["code"],
            f["label"],
            L("location_type", "location"),
            L("weapon", "weapon"),
            L("attempted", "attempted"),
            _bool(source, f["cyber"]),
            L("sex", "v_sex"),
            _str(f["v_age"], pa.int64()),
            L("citizenship", "v_cit"),
            L("relationship", "v_rel"),
            L("outcome", "v_outcome"),
            f["p_ced"],
            L("sex", "p_sex"),
            _str(f["p_age"], pa.int64()),
            L("citizenship", "p_cit"),
            _bool(source, f["p_recid"]),
        ]
    elif source == "medicina_legal":
        hora = pc.if_else(_arr(f["day_prec"]), pa.scalar(None, pa.string()), _ts(f["t"], "%H:%M"))
        cols = [
            f["id"],
            pc.coalesce(bad, _ts(f["t"], "%Y-%m-%d")),
            hora,
            _ts(f["reported"], "%Y-%m-%d %H:%M:%S"),
            f["muni"],
            f["code"],
            f["label"],
            L("weapon", "weapon"),
            L("location_type", "location"),
            L("sex", "v_sex"),
            _str(f["v_age"], pa.int64()),
            L("citizenship", "v_cit"),
        ]
    else:
        cols = [
            f["id"],
            f["p_ced"],
            pc.coalesce(bad, _ts(f["t"], "%Y-%m-%dT%H:%M:%S")),
            f["facility"],
            f["muni"],
            L("custody_status", "status"),
            L("sex", "v_sex"),
            _str(f["v_age"], pa.int64()),
            L("citizenship", "v_cit"),
            f["code"],
            f["label"],
        ]
    arrays = [
        c if isinstance(c, pa.Array | pa.ChunkedArray) else _arr(c, pa.string()) for c in cols
    ]
    return pa.table(dict(zip(RAW_COLUMNS[source], arrays, strict=True)))
