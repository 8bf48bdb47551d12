"""``talaia.demo.generate``: write the demo country's output folder (contracts §3).

The run is deterministic: every random draw comes from ``numpy.random.default_rng`` seeded with
``[seed, stream, month, ...]``, outputs are sorted, and file metadata (XLSX document times, ZIP
entry times) is pinned, so the same seed gives the same bytes in every file.

Ground truth (``truth/``) is aggregated directly from the generator's event arrays, not from the
written files: ``offences.parquet`` (source_code, area_code, month, iccs_code, weapon,
location_type, attempted, cyber_related, situational_context, count), ``victims.parquet`` (+ sex,
age_group, relationship, citizenship), ``custody.parquet`` (area_code, month, iccs_code,
custody_status, sex, age_group, citizenship, count) -- group-by counts, see ``_Truth`` for what
each variable means --, ``deaths.parquet`` (true intentional-homicide deaths per area, month
and sex, and how many each service recorded), ``defects.csv`` (source_code, file, row, kind,
external_id, field, action, original_row; ``row`` is the line of a CSV/JSONL file or the Excel
row, header = line 1 for CSV/XLSX; ``action`` = ``drop`` for rows that are not real records,
``blank`` for a real record with a field left empty) and ``summary.json``. Records of a month
an agency never delivered are in no file and not in the truth of that source.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from talaia.demo import catalogue as cat
from talaia.demo import formats as fmt
from talaia.demo import sources as src
from talaia.demo.country import COUNTRY_NAME, Country, build_country, population_table
from talaia.demo.events import EventModel, MonthEvents, make_people
from talaia.geography import areas_to_feature_collection, geometry_to_geojson
from talaia.records.vocab import age_group

GENERATOR_VERSION = "1"
DEFAULT_SEED = 20240101
DEFAULT_YEARS = (2019, 2020, 2021, 2022, 2023, 2024)


@dataclass(frozen=True)
class SourceInfo:
    code: str
    agency_code: str
    kind: str
    agency: str
    name: str
    raw_format: str


SOURCES: tuple[SourceInfo, ...] = (
    SourceInfo(
        "policia_nacional",
        "PN",
        "police",
        "Policía Nacional",
        "Denuncias de la Policía Nacional",
        "csv;encoding=utf-8;delimiter=,",
    ),
    SourceInfo(
        "policia_metropolitana",
        "PM",
        "police",
        "Policía Metropolitana",
        "Partes de la Policía Metropolitana (región capital)",
        "csv;encoding=latin-1;delimiter=;;decimal=,;dates=day-first",
    ),
    SourceInfo(
        "medicina_legal",
        "IML",
        "forensic",
        "Instituto de Medicina Legal",
        "Defunciones por causa externa",
        "xlsx;sheet=Defunciones",
    ),
    SourceInfo(
        "penitenciario",
        "SPN",
        "prison",
        "Servicio Penitenciario Nacional",
        "Ingresos a centros penitenciarios",
        "jsonl;encoding=utf-8",
    ),
)
MISSING_MONTH = ("policia_metropolitana", "2021-07")  # never delivered (moved if out of range)
_OUT_ENTRIES = ("manifest.json", "reference", "crosswalks", "raw", "canonical", "truth")


@dataclass(frozen=True)
class SourceSummary:
    """What was written for one source."""

    code: str
    months_delivered: int
    missing_months: tuple[str, ...]
    records: int  # canonical incidents (custody records for the prison source)
    raw_rows: int
    defects: int


@dataclass(frozen=True)
class GenerationResult:
    """Outcome of :func:`generate`."""

    out_dir: Path
    seed: int
    scale: float
    years: tuple[int, ...]
    sources: tuple[SourceSummary, ...]
    files: int
    areas: int
    population: int  # total population of the last year

    @property
    def incidents(self) -> int:
        return sum(s.records for s in self.sources if s.code != "penitenciario")


def _months(years: tuple[int, ...]) -> list[str]:
    return [f"{y}-{m:02d}" for y in years for m in range(1, 13)]


def _missing(years: tuple[int, ...]) -> tuple[str, str]:
    months = _months(years)
    if MISSING_MONTH[1] in months:
        return MISSING_MONTH
    return (MISSING_MONTH[0], months[len(months) // 2])


def _write_reference(out: Path, country: Country, years: tuple[int, ...], facility_muni):
    ref = out / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    areas = country.areas
    pq.write_table(
        pa.table(
            {
                "code": [a.code for a in areas],
                "name": [a.name for a in areas],
                "level": pa.array([a.level for a in areas], pa.int16()),
                "parent_code": pa.array([a.parent_code for a in areas], pa.string()),
                "geometry": [geometry_to_geojson(a.geometry) for a in areas],
                "valid_from": pa.array([date(2000, 1, 1)] * len(areas), pa.date32()),
                "valid_to": pa.array([None] * len(areas), pa.date32()),
            }
        ),
        ref / "areas.parquet",
    )
    fc = areas_to_feature_collection(
        [
            type(a)(a.code, a.name, a.level, a.parent_code, a.geometry, date(2000, 1, 1), None)
            for a in areas
        ]
    )
    fc["name"] = COUNTRY_NAME
    (ref / "areas.geojson").write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    pop = population_table(country, years)
    pq.write_table(pop, ref / "population.parquet")
    first, last = _months(years)[0], _months(years)[-1]
    agencies = {
        "agencies": [{"code": s.agency_code, "name": s.agency, "kind": s.kind} for s in SOURCES],
        "sources": [
            {
                "code": s.code,
                "agency_code": s.agency_code,
                "kind": s.kind,
                "name": s.name,
                "expected_from": first,
                "expected_to": last,
                "crosswalk": s.code,
                "raw_format": s.raw_format,
            }
            for s in SOURCES
        ],
        "facilities": [
            {
                "code": f"CP{i + 1:02d}",
                "name": f"Centro Penitenciario {i + 1}",
                "area_code": country.muni_codes[m],
            }
            for i, m in enumerate(facility_muni)
        ],
    }
    (ref / "agencies.json").write_text(
        json.dumps(agencies, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return int(_population_total(pop, years[-1]))


def _population_total(pop: pa.Table, year: int) -> int:
    years = pop.column("year").to_numpy()
    return int(pop.column("population").to_numpy()[years == year].sum())


def _write_crosswalks(out: Path) -> None:
    d = out / "crosswalks"
    d.mkdir(parents=True, exist_ok=True)
    for code, cl in cat.CODE_LISTS.items():
        with open(d / f"{code}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(
                [
                    "national_code",
                    "national_label",
                    "iccs_code",
                    "mapping_type",
                    "condition",
                    "sets",
                    "valid_from",
                    "valid_to",
                    "notes",
                ]
            )
            for row in sorted(cl.crosswalk, key=lambda r: (r[0], r[2])):
                w.writerow([*row, "", "", ""])


_WEAPON = np.asarray((*cat.WEAPONS, None), dtype=object)
_LOCATION = np.asarray((*cat.LOCATIONS, None), dtype=object)
_RELATIONSHIP = np.asarray((*cat.RELATIONSHIPS, None), dtype=object)
_ATTEMPTED = np.asarray(("attempted", "completed", "not_applicable"), dtype=object)
_AGE_GROUP = np.asarray([age_group(a) for a in range(150)], dtype=object)
_TYPE_KEY = tuple(t.key for t in cat.CRIME_TYPES)
_TYPE_CONTEXT = np.asarray([t.context for t in cat.CRIME_TYPES], dtype=object)
#: Police services that record the situational context themselves (the metropolitan police
#: does not; the forensic service records neither context, relationship nor the cyber flag).
_RECORDS_CONTEXT = frozenset({"policia_nacional"})
_POLICE = frozenset({"policia_nacional", "policia_metropolitana"})


def _crosswalk_sets(source: str, var: str) -> np.ndarray:
    """Per crime type, the value the source's crosswalk ``sets`` for ``var`` (None if none)."""
    cl = cat.CODE_LISTS[source]
    by_code: dict[str, str] = {}
    for code, _label, _iccs, _mtype, _cond, sets in cl.crosswalk:
        for item in filter(None, (x.strip() for x in sets.split(";"))):
            name, _, value = item.partition("=")
            if name.strip() == var:
                by_code[code] = value.strip()
    return np.asarray([by_code.get(cl.by_type.get(k, "")) for k in _TYPE_KEY], dtype=object)


class _Truth:
    """Accumulates ground-truth counts straight from the event arrays.

    The truth tables are group-by counts. ``offences`` is keyed by source_code, area_code,
    month, iccs_code and the event's variables: ``weapon``, ``location_type``, ``attempted``,
    ``cyber_related`` and ``situational_context``; ``victims`` adds the victim's ``sex``,
    ``age_group`` (:func:`talaia.records.vocab.age_group` of the true age), ``relationship``
    (victim to perpetrator) and ``citizenship``; ``custody`` is keyed by area_code, month,
    iccs_code, custody_status, sex, age_group and citizenship. Each variable is the true value
    of the event where the source records that variable, and NULL where the source does not
    record it (the forensic service records no relationship, context or cyber flag, and
    ``attempted`` = completed for every death).

    ``situational_context`` is the value a source's records carry *after* ingestion applies
    the crosswalk: the context the source itself records (the national police records the
    true context of the event's crime type; the metropolitan police and the forensic service
    record none), else the value the source's crosswalk ``sets`` for the event's national code
    (``situational_context=intimate_partner_family`` on the femicide and domestic-violence
    codes) -- the rule ``COALESCE(recorded, sets)`` of the ingestion pipeline.
    """

    def __init__(self) -> None:
        self.parts: dict[str, list[pa.Table]] = {
            k: [] for k in ("offences", "victims", "custody", "deaths")
        }
        self._sets = {s: _crosswalk_sets(s, "situational_context") for s in cat.CODE_LISTS}

    def _add(self, name: str, cols: dict, keys: list[str]) -> None:
        t = pa.table(cols)
        if t.num_rows:
            self.parts[name].append(
                t.group_by(keys).aggregate([([], "count_all")]).rename_columns([*keys, "count"])
            )

    def events(self, source: str, ym: str, ev: MonthEvents, sel: np.ndarray, munis) -> None:
        n = int(sel.sum())
        types = ev.type[sel]
        police = source in _POLICE
        none = np.full(n, None, dtype=object)
        recorded = _TYPE_CONTEXT[types] if source in _RECORDS_CONTEXT else none
        context = np.where(np.equal(recorded, None), self._sets[source][types], recorded)
        string = pa.string()
        base = {
            "source_code": pa.array([source] * n, string),
            "area_code": pa.array(munis[ev.muni[sel]], string),
            "month": pa.array([ym] * n, string),
            "iccs_code": pa.array(ev.iccs[sel], string),
            "weapon": pa.array(_WEAPON[ev.weapon[sel]], string),
            "location_type": pa.array(_LOCATION[ev.location[sel]], string),
            "attempted": pa.array(
                _ATTEMPTED[ev.attempted[sel]] if police else np.full(n, "completed", object),
                string,
            ),
            "cyber_related": pa.array(ev.cyber[sel] if police else none, pa.bool_()),
            "situational_context": pa.array(context, string),
        }
        self._add("offences", base, list(base))
        hv = ev.has_victim[sel]
        mask = pa.array(hv)
        vic = {k: v.filter(mask) for k, v in base.items()}
        vic["sex"] = pa.array(np.where(ev.v_sex[sel][hv] == 1, "female", "male"), string)
        vic["age_group"] = pa.array(_AGE_GROUP[ev.v_age[sel][hv]], string)
        vic["relationship"] = pa.array(
            _RELATIONSHIP[ev.v_rel[sel][hv]] if police else none[hv], string
        )
        vic["citizenship"] = pa.array(
            np.where(ev.v_foreign[sel][hv], "foreign", "national"), string
        )
        self._add("victims", vic, list(vic))

    def deaths(self, ym: str, ev: MonthEvents, munis, police_delivered: np.ndarray) -> None:
        hom = np.isin(ev.type, [cat.TYPE_INDEX[k] for k in cat.HOMICIDE_TYPES])
        t = pa.table(
            {
                "area_code": munis[ev.muni[hom]],
                "month": [ym] * int(hom.sum()),
                "sex": np.where(ev.v_sex[hom] == 1, "female", "male"),
                "police": (ev.police & police_delivered)[hom].astype(np.int64),
                "forensic": ev.forensic[hom].astype(np.int64),
            }
        )
        if t.num_rows:
            g = t.group_by(["area_code", "month", "sex"]).aggregate(
                [([], "count_all"), ("police", "sum"), ("forensic", "sum")]
            )
            self.parts["deaths"].append(
                g.rename_columns(
                    [
                        "area_code",
                        "month",
                        "sex",
                        "true_deaths",
                        "police_recorded",
                        "forensic_recorded",
                    ]
                )
            )

    def custody(self, ym: str, frame: dict) -> None:
        n = frame["id"].shape[0]
        cols = {
            "area_code": frame["muni"],
            "month": [ym] * n,
            "iccs_code": frame["iccs"],
            "custody_status": frame["status"],
            "sex": frame["v_sex"],
            "age_group": pa.array(_AGE_GROUP[frame["v_age"].astype(np.int64)], pa.string()),
            "citizenship": pa.array(frame["v_cit"], pa.string()),
        }
        self._add("custody", cols, list(cols))

    def write(self, d: Path) -> None:
        for name, parts in self.parts.items():
            if not parts:
                continue
            t = pa.concat_tables(parts)
            keys = [
                c
                for c in t.column_names
                if c not in ("count", "true_deaths", "police_recorded", "forensic_recorded")
            ]
            t = t.group_by(keys).aggregate([(c, "sum") for c in t.column_names if c not in keys])
            t = t.rename_columns([c.removesuffix("_sum") for c in t.column_names])
            t = t.sort_by([(k, "ascending") for k in keys])
            pq.write_table(t, d / f"{name}.parquet")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_raw(source: str, table: pa.Table, path: Path) -> None:
    if source == "policia_nacional":
        fmt.write_csv(table, path)
    elif source == "policia_metropolitana":
        fmt.write_csv(table, path, delimiter=";", encoding="latin-1")
    elif source == "medicina_legal":
        fmt.write_xlsx(
            table,
            path,
            "Defunciones",
            date_columns=("Fecha del hecho",),
            datetime_columns=("Fecha de ingreso",),
            int_columns=("Edad",),
            title=f"Defunciones {path.stem.rsplit('_', 1)[-1]}",
        )
    else:
        fmt.write_jsonl(table, path, int_columns=("edad",))


def generate(
    out_dir: str | Path,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    years: tuple[int, ...] = DEFAULT_YEARS,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationResult:
    """Generate the demo country into ``out_dir`` (layout of contracts §3).

    Parameters
    ----------
    out_dir
        Output folder; Talaia's own entries in it (``manifest.json``, ``reference``,
        ``crosswalks``, ``raw``, ``canonical``, ``truth``) are replaced.
    seed
        Random seed; the same seed gives byte-identical files.
    scale
        Multiplies the population and so the number of records (1.0 ≈ 450,000 incidents over
        six years; ~20 gives ~10 million).
    years
        Calendar years to cover (consecutive).
    progress
        Called as ``progress(months_done, months_total)``.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    years = tuple(int(y) for y in years)
    if list(years) != list(range(years[0], years[0] + len(years))):
        raise ValueError("years must be consecutive")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in _OUT_ENTRIES:
        p = out / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    country = build_country(seed, scale)
    people = make_people(seed, scale, years[0])
    model = EventModel(country, people, seed, years)
    population = _write_reference(out, country, years, model.facility_muni)
    _write_crosswalks(out)
    ids = src.PersonIds(people)
    truth = _Truth()
    munis = np.asarray(country.muni_codes, dtype=object)
    missing = _missing(years)
    months = _months(years)
    stats = {s.code: {"months": 0, "records": 0, "raw": 0, "defects": 0} for s in SOURCES}
    forced: set[str] = set()
    defect_rows: list[list] = []
    for k, ym in enumerate(months):
        ev, ad = model.month(k)
        ctx = src.Context(country, people, ids, years[0] + k // 12)
        is_pm = country.muni_region[ev.muni] == 0
        pm_delivered = (
            (ev.police & is_pm)
            if (missing != ("policia_metropolitana", ym))
            else np.zeros(len(ev), bool)
        )
        frames = {
            "policia_nacional": src.police_frame(
                ev, np.flatnonzero(ev.police & ~is_pm), "policia_nacional", ym, ctx
            ),
            "policia_metropolitana": src.police_frame(
                ev, np.flatnonzero(ev.police & is_pm), "policia_metropolitana", ym, ctx
            ),
            "medicina_legal": src.forensic_frame(
                ev, np.flatnonzero(ev.forensic), ym, ctx, np.random.default_rng([seed, 300, k])
            ),
            "penitenciario": src.prison_frame(ad, ym, ctx, model.facility_muni),
        }
        truth.deaths(ym, ev, munis, (ev.police & ~is_pm) | pm_delivered)
        for si, info in enumerate(SOURCES):
            s = info.code
            if (s, ym) == missing:
                continue
            f = frames[s]
            if s == "penitenciario":
                truth.custody(ym, f)
            else:
                sel = {
                    "policia_nacional": ev.police & ~is_pm,
                    "policia_metropolitana": ev.police & is_pm,
                    "medicina_legal": ev.forensic,
                }[s]
                truth.events(s, ym, ev, sel, munis)
            cdir = out / "canonical" / s / ym
            cdir.mkdir(parents=True, exist_ok=True)
            for name, table in src.canonical_tables(s, f).items():
                pq.write_table(table, cdir / f"{name}.parquet")
            rng = np.random.default_rng([seed, 400, k, si])
            force = s not in forced and f["id"].shape[0] >= 3
            if force:
                forced.add(s)
            g, defects = src.inject_defects(s, ym, f, rng, force, country)
            raw = src.raw_table(s, g)
            rdir = out / "raw" / s
            rdir.mkdir(parents=True, exist_ok=True)
            fname = fmt.RAW_FILE_NAMES[s].format(ym=ym)
            _write_raw(s, raw, rdir / fname)
            offset = 1 if s == "penitenciario" else 2
            for d in defects:
                defect_rows.append(
                    [
                        s,
                        f"raw/{s}/{fname}",
                        d.row + offset,
                        d.kind,
                        d.external_id,
                        d.field,
                        d.action,
                        "" if d.original_row is None else d.original_row + offset,
                    ]
                )
            st = stats[s]
            st["months"] += 1
            st["records"] += int(f["id"].shape[0])
            st["raw"] += raw.num_rows
            st["defects"] += len(defects)
        if progress is not None:
            progress(k + 1, len(months))

    tdir = out / "truth"
    tdir.mkdir(parents=True, exist_ok=True)
    truth.write(tdir)
    with open(tdir / "defects.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(
            ["source_code", "file", "row", "kind", "external_id", "field", "action", "original_row"]
        )
        w.writerows(sorted(defect_rows, key=lambda r: (r[1], r[2], r[3])))
    summaries = tuple(
        SourceSummary(
            s.code,
            stats[s.code]["months"],
            (missing[1],) if missing[0] == s.code else (),
            stats[s.code]["records"],
            stats[s.code]["raw"],
            stats[s.code]["defects"],
        )
        for s in SOURCES
    )
    (tdir / "summary.json").write_text(
        json.dumps(
            {
                "sources": [
                    {
                        "code": x.code,
                        "months_delivered": x.months_delivered,
                        "missing_months": list(x.missing_months),
                        "records": x.records,
                        "raw_rows": x.raw_rows,
                        "defects": x.defects,
                    }
                    for x in summaries
                ],
                "firearm_share_by_region": dict(
                    zip(
                        country.region_codes, np.round(model.firearm_share, 4).tolist(), strict=True
                    )
                ),
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    files = sorted(
        p
        for p in out.rglob("*")
        if p.is_file() and p.name != "manifest.json" and p.relative_to(out).parts[0] in _OUT_ENTRIES
    )
    manifest = {
        "generator": "talaia.demo",
        "generator_version": GENERATOR_VERSION,
        "country": COUNTRY_NAME,
        "seed": seed,
        "scale": scale,
        "years": list(years),
        "person_key": "HMAC-SHA256 (hex) of the cédula under the demo secret "
        f"'{src.DEMO_SECRET.decode()}'",
        "sources": [
            {
                "code": s.code,
                "agency_code": s.agency_code,
                "agency": s.agency,
                "kind": s.kind,
                "expected_from": months[0],
                "expected_to": months[-1],
                "missing_months": [missing[1]] if missing[0] == s.code else [],
            }
            for s in SOURCES
        ],
        "files": [
            {"path": p.relative_to(out).as_posix(), "bytes": p.stat().st_size, "sha256": _sha256(p)}
            for p in files
        ],
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return GenerationResult(
        out, seed, scale, years, summaries, len(files) + 1, len(country.areas), population
    )
