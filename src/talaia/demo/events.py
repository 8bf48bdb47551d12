"""The generator's event list: what really happened in the demo country, month by month.

Everything is vectorized with NumPy per month (no Python loop per event):

- counts per crime type and municipality are Poisson with mean
  ``rate × population × season(month) × trend(year) × urbanity^elasticity`` (types × areas);
- a municipality's events concentrate on a few micro-places whose weights are Pareto
  distributed (a few places hold much of the crime; cf. Weisburd 2015, "law of crime
  concentration");
- residential burglary is a self-exciting (Hawkes) process: each burglary triggers on average
  ``BURGLARY_BRANCHING`` more nearby within days (exponential delay, Gaussian distance), which
  yields the near-repeat pattern (Johnson & Bowers 2004; Mohler et al. 2011);
- day of week and hour of day follow per-type profiles; seasonality peaks in July and December;
- homicides: a firearm share that varies by region (~45-75%), female victims of whom a share are
  femicides by a partner; police and forensic services each record a death with their own
  probability, which differs by region, so that their counts disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from talaia.demo import catalogue as cat
from talaia.demo.country import Country

BURGLARY_BRANCHING = 0.4
BURGLARY_DELAY_DAYS = 4.0
BURGLARY_DISTANCE_DEG = 0.0012  # ~130 m
PLACE_JITTER_DEG = 0.0008
N_TYPES = len(cat.CRIME_TYPES)
_T = cat.TYPE_INDEX
_DAY_PRECISION = np.full(N_TYPES, 0.04)
for _k, _p in (
    ("burglary_residence", 0.3),
    ("burglary_business", 0.2),
    ("vehicle_theft", 0.2),
    ("cyber_fraud", 0.15),
    ("computer_access", 0.15),
    ("homicide", 0.02),
    ("femicide", 0.02),
):
    _DAY_PRECISION[_T[_k]] = _p
_REPORT_DELAY_H = np.full(N_TYPES, 8.0)
for _k, _h in (
    ("rape", 96.0),
    ("sexual_assault", 72.0),
    ("cyber_fraud", 120.0),
    ("computer_access", 120.0),
    ("extortion", 48.0),
):
    _REPORT_DELAY_H[_T[_k]] = _h
_MALE_PERP = np.full(N_TYPES, 0.9)
for _k in ("femicide", "rape", "sexual_assault", "ipv"):
    _MALE_PERP[_T[_k]] = 0.97
_MALE_PERP[_T["femicide"]] = 1.0
_ICCS = np.array([t.iccs for t in cat.CRIME_TYPES], dtype=object)


def _draw(rng: np.random.Generator, cdf: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Categorical draws: for each row, an index into the columns of ``cdf[rows]``."""
    u = rng.random(rows.shape[0])
    return (cdf[rows] < u[:, None]).sum(axis=1).astype(np.int16)


@dataclass(frozen=True)
class People:
    """The pool of people who may offend or be admitted to prison (index = person)."""

    n_male: int
    sex: np.ndarray  # 0 male, 1 female
    birth_year: np.ndarray
    foreign: np.ndarray

    def draw(self, rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
        """Person indices; low indices are drawn far more often (prolific offenders)."""
        n = male.shape[0]
        u = rng.random(n) ** 2.5
        n_f = self.sex.shape[0] - self.n_male
        return np.where(
            male, (u * self.n_male).astype(np.int64), self.n_male + (u * n_f).astype(np.int64)
        )

    def recidivist(self, idx: np.ndarray) -> np.ndarray:
        n_f = self.sex.shape[0] - self.n_male
        return np.where(idx < self.n_male, idx < 0.04 * self.n_male, idx - self.n_male < 0.04 * n_f)


def make_people(seed: int, scale: float, first_year: int) -> People:
    rng = np.random.default_rng([seed, 2])
    n = max(3000, int(60_000 * scale))
    n_male = int(n * 0.9)
    sex = (np.arange(n) >= n_male).astype(np.int8)
    age0 = 17 + np.minimum(rng.gamma(2.0, 6.5, n), 60).astype(np.int64)
    return People(n_male, sex, first_year - age0, rng.random(n) < 0.06)


@dataclass(frozen=True)
class MonthEvents:
    """Events of one month (arrays aligned by event), in a canonical order."""

    type: np.ndarray
    muni: np.ndarray
    t: np.ndarray  # datetime64[s]
    day_precision: np.ndarray
    reported: np.ndarray
    x: np.ndarray
    y: np.ndarray
    location: np.ndarray  # index into LOCATIONS (len = NULL)
    weapon: np.ndarray  # index into WEAPONS (len = NULL)
    attempted: np.ndarray  # 0 attempted, 1 completed, 2 not applicable
    cyber: np.ndarray
    has_victim: np.ndarray
    v_sex: np.ndarray  # 0 male 1 female
    v_age: np.ndarray
    v_rel: np.ndarray  # index into RELATIONSHIPS (len = NULL)
    v_outcome: np.ndarray  # index into OUTCOMES (len = NULL)
    v_foreign: np.ndarray
    has_perp: np.ndarray
    p_person: np.ndarray
    police: np.ndarray  # recorded by the police
    forensic: np.ndarray  # recorded by the forensic service
    iccs: np.ndarray  # true ICCS code (object)

    def __len__(self) -> int:
        return int(self.type.shape[0])


@dataclass(frozen=True)
class MonthAdmissions:
    """Prison admissions of one month."""

    t: np.ndarray
    facility: np.ndarray  # index into facilities
    person: np.ndarray
    code: np.ndarray  # SPN national code (object)
    pretrial: np.ndarray


class EventModel:
    """Stateful month-by-month generator (state: the burglary cascade spilling over months)."""

    def __init__(self, country: Country, people: People, seed: int, years: tuple[int, ...]):
        self.c = country
        self.people = people
        self.seed = seed
        self.years = years
        rng = np.random.default_rng([seed, 3])
        n_reg = len(country.region_codes)
        self.firearm_share = np.clip(rng.normal(0.66, 0.08, n_reg), 0.45, 0.8)
        self.police_p = rng.uniform(0.82, 0.95, n_reg)
        self.forensic_p = rng.uniform(0.92, 0.995, n_reg)
        hom_region = rng.lognormal(0.0, 0.4, n_reg)
        pop = country.pop_base
        mult = np.empty((N_TYPES, pop.shape[0]))
        for i, t in enumerate(cat.CRIME_TYPES):
            m = np.exp(0.3 * t.urban * country.urban)
            if t.key in ("homicide", "attempted_homicide", "extortion"):
                m = m * hom_region[country.muni_region]
            mult[i] = m / ((pop * m).sum() / pop.sum())
        self.mult = mult
        self.rates = np.array([t.rate for t in cat.CRIME_TYPES])
        self.season_amp = np.array([t.season for t in cat.CRIME_TYPES])
        self.trend = np.array([t.trend for t in cat.CRIME_TYPES])
        self.hour_cdf = cat.hour_cdf()
        self.dow_w = cat.dow_weights()
        self.cdfs = {a: cat.cdf(a) for a in ("location", "weapon", "relationship", "outcome")}
        self.place_grid = (np.arange(pop.shape[0])[:, None] + country.place_cum).ravel()
        shapely.prepare(country.muni_geoms)
        self.start = np.datetime64(f"{years[0]}-01-01T00:00:00", "s")
        self.end = np.datetime64(f"{years[-1] + 1}-01-01T00:00:00", "s")
        self.carry = _empty_burglaries()
        # prison facilities: the most populous municipality of each region (+1 in the capital)
        fac = [
            int(np.flatnonzero(country.muni_region == r)[np.argmax(pop[country.muni_region == r])])
            for r in range(n_reg)
        ]
        cap = np.flatnonzero(country.muni_region == 0)
        fac.append(int(cap[np.argsort(pop[cap])[-2]]))
        self.facility_muni = np.asarray(fac)
        w = np.array([pop[country.muni_region == r].sum() for r in range(n_reg)] + [0.0])
        w[-1], w[0] = w[0] * 0.4, w[0] * 0.6
        self.facility_cdf = np.cumsum(w / w.sum())

    # -- helpers -----------------------------------------------------------------------------
    def _points(self, rng, muni: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = rng.random(muni.shape[0])
        pos = np.searchsorted(self.place_grid, muni + u, side="right")
        pos = np.minimum(pos, self.place_grid.shape[0] - 1)
        px = self.c.place_x.ravel()[pos]
        py = self.c.place_y.ravel()[pos]
        x = px + rng.normal(0, PLACE_JITTER_DEG, muni.shape[0])
        y = py + rng.normal(0, PLACE_JITTER_DEG, muni.shape[0])
        ok = shapely.contains_xy(self.c.muni_geoms[muni], x, y)
        return np.where(ok, x, px), np.where(ok, y, py)

    def _times(self, rng, types: np.ndarray, month_start: np.datetime64, ndays: int):
        days = month_start + np.arange(ndays) * np.timedelta64(1, "D")
        dow = ((days.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(int)  # Mon=0
        w = self.dow_w[:, dow]
        dcdf = np.cumsum(w / w.sum(1, keepdims=True), axis=1)
        day = _draw(rng, dcdf, types).astype(np.int64)
        hour = _draw(rng, self.hour_cdf, types).astype(np.int64)
        minute = rng.integers(0, 60, types.shape[0])
        return month_start + (day * 86400 + hour * 3600 + minute * 60).astype("timedelta64[s]")

    def _cascade(self, rng, t, x, y, muni):
        """All descendants of burglaries (t, x, y, muni) in the Hawkes process."""
        out = [_empty_burglaries()]
        cur = (t, x, y, muni)
        while cur[0].shape[0]:
            k = rng.poisson(BURGLARY_BRANCHING, cur[0].shape[0])
            idx = np.repeat(np.arange(cur[0].shape[0]), k)
            dt = (rng.exponential(BURGLARY_DELAY_DAYS * 86400, idx.shape[0]) + 600).astype(np.int64)
            ct = cur[0][idx] + (dt // 60 * 60).astype("timedelta64[s]")
            cx = cur[1][idx] + rng.normal(0, BURGLARY_DISTANCE_DEG, idx.shape[0])
            cy = cur[2][idx] + rng.normal(0, BURGLARY_DISTANCE_DEG, idx.shape[0])
            cm = cur[3][idx]
            ok = shapely.contains_xy(self.c.muni_geoms[cm], cx, cy)
            cx = np.where(ok, cx, cur[1][idx])
            cy = np.where(ok, cy, cur[2][idx])
            keep = ct < self.end
            cur = (ct[keep], cx[keep], cy[keep], cm[keep])
            out.append(cur)
        return tuple(np.concatenate([o[i] for o in out]) for i in range(4))

    # -- one month ---------------------------------------------------------------------------
    def month(self, k: int) -> tuple[MonthEvents, MonthAdmissions]:
        """Events and prison admissions of the ``k``-th month (0 = January of the first year)."""
        rng = np.random.default_rng([self.seed, 100, k])
        year_off, mon = divmod(k, 12)
        month_start = np.datetime64(f"{self.years[0] + year_off}-{mon + 1:02d}-01", "s")
        month_end = (month_start.astype("datetime64[M]") + 1).astype("datetime64[s]")
        ndays = int((month_end - month_start) // np.timedelta64(1, "D"))
        pop = self.c.population_total(year_off)
        season = 1 + self.season_amp * (
            0.6 * np.cos(2 * np.pi * (mon - 6) / 12) + (0.8 if mon == 11 else 0.0)
        )
        lam = (self.rates * season * (1 + self.trend) ** year_off)[:, None] * self.mult
        lam = lam * pop[None, :] / 1e5 / 12 * ndays / (365.25 / 12)
        counts = rng.poisson(lam)
        types = np.repeat(np.repeat(np.arange(N_TYPES), counts.shape[1]), counts.ravel())
        muni = np.repeat(np.tile(np.arange(counts.shape[1]), N_TYPES), counts.ravel())
        # homicides: female victims, a share of them femicides
        hom = types == _T["homicide"]
        female_hom = hom & (rng.random(types.shape[0]) < cat.FEMALE_HOMICIDE_SHARE)
        fem = female_hom & (rng.random(types.shape[0]) < cat.FEMICIDE_SHARE_OF_FEMALE)
        types = np.where(fem, _T["femicide"], types)
        t = self._times(rng, types, month_start, ndays)
        x, y = self._points(rng, muni)
        # residential burglary: Hawkes cascade, children may fall in later months
        b = types == _T["burglary_residence"]
        desc = self._cascade(rng, t[b], x[b], y[b], muni[b])
        pool = tuple(np.concatenate([a, d]) for a, d in zip(self.carry, desc, strict=True))
        now = (pool[0] >= month_start) & (pool[0] < month_end)
        later = pool[0] >= month_end
        self.carry = tuple(a[later] for a in pool)
        n_extra = int(now.sum())
        types = np.concatenate([types, np.full(n_extra, _T["burglary_residence"])])
        muni = np.concatenate([muni, pool[3][now]])
        t = np.concatenate([t, pool[0][now]])
        x = np.concatenate([x, pool[1][now]])
        y = np.concatenate([y, pool[2][now]])
        female_hom = np.concatenate([female_hom, np.zeros(n_extra, bool)])
        # canonical order: by time, then municipality, then type
        order = np.lexsort((x, types, muni, t))
        types, muni, t, x, y, female_hom = (a[order] for a in (types, muni, t, x, y, female_hom))
        n = types.shape[0]
        ev = self._attributes(rng, types, muni, t, x, y, female_hom, n)
        return ev, self._admissions(rng, month_start, ndays, pop)

    def _attributes(self, rng, types, muni, t, x, y, female_hom, n) -> MonthEvents:
        day_prec = rng.random(n) < _DAY_PRECISION[types]
        t = np.where(day_prec, t.astype("datetime64[D]").astype("datetime64[s]"), t)
        delay = (rng.exponential(1.0, n) * _REPORT_DELAY_H[types] * 3600 + 900).astype(np.int64)
        reported = t + delay.astype("timedelta64[s]")
        location = _draw(rng, self.cdfs["location"], types)
        weapon = _draw(rng, self.cdfs["weapon"], types)
        region = self.c.muni_region[muni]
        hom = (types == _T["homicide"]) | (types == _T["femicide"])
        gun = rng.random(n) < np.where(types == _T["femicide"], 0.3, self.firearm_share[region])
        alt = np.array([1, 2, 3])[
            _draw(rng, np.tile(np.cumsum([0.6, 0.25, 0.15]), (n, 1)), np.arange(n))
        ]
        weapon = np.where(hom, np.where(gun, 0, alt), weapon).astype(np.int16)
        att_p = np.array([t_.attempted_p for t_ in cat.CRIME_TYPES])[types]
        attempted = np.where(att_p < 0, 2, (rng.random(n) >= att_p).astype(np.int16))
        attempted = np.where(types == _T["attempted_homicide"], 0, attempted)
        cyber = rng.random(n) < np.array([t_.cyber_p for t_ in cat.CRIME_TYPES])[types]
        victim_p = np.array([t_.victim_p for t_ in cat.CRIME_TYPES])[types]
        has_victim = rng.random(n) < victim_p
        male_p = np.array([t_.male_p for t_ in cat.CRIME_TYPES])[types]
        v_sex = (rng.random(n) >= male_p).astype(np.int8)
        v_sex = np.where(types == _T["homicide"], female_hom.astype(np.int8), v_sex)
        age = np.array([t_.age for t_ in cat.CRIME_TYPES], dtype=float)[types]
        v_age = np.clip(np.rint(age[:, 0] + age[:, 1] * rng.standard_normal(n)), age[:, 2], 95)
        v_rel = _draw(rng, self.cdfs["relationship"], types)
        v_outcome = _draw(rng, self.cdfs["outcome"], types)
        v_foreign = rng.random(n) < 0.05
        known = np.array([t_.known_p for t_ in cat.CRIME_TYPES])[types]
        has_perp = rng.random(n) < known
        p_male = rng.random(n) < _MALE_PERP[types]
        p_person = self.people.draw(rng, p_male)
        death = np.isin(types, [_T[k] for k in cat.DEATH_TYPES])
        traffic = types == _T["traffic_death"]
        pp = np.where(traffic, 0.85, self.police_p[region])
        pf = np.where(traffic, 0.97, self.forensic_p[region])
        police = ~death | (rng.random(n) < pp)
        forensic = death & (rng.random(n) < pf)
        iccs = _ICCS[types].copy()
        minor = (types == _T["lesiones"]) & (v_outcome != cat.OUTCOMES.index("serious_injury"))
        iccs[minor] = cat.LESIONES_MINOR_ICCS
        return MonthEvents(
            type=types.astype(np.int16),
            muni=muni.astype(np.int32),
            t=t,
            day_precision=day_prec,
            reported=reported,
            x=np.round(x, 6),
            y=np.round(y, 6),
            location=location,
            weapon=weapon,
            attempted=attempted.astype(np.int16),
            cyber=cyber,
            has_victim=has_victim,
            v_sex=v_sex,
            v_age=v_age.astype(np.int16),
            v_rel=v_rel,
            v_outcome=v_outcome,
            v_foreign=v_foreign,
            has_perp=has_perp,
            p_person=p_person,
            police=police,
            forensic=forensic,
            iccs=iccs,
        )

    def _admissions(self, rng, month_start, ndays, pop) -> MonthAdmissions:
        lam = cat.PRISON_RATE * pop.sum() / 1e5 / 12
        n = int(rng.poisson(lam))
        day = rng.integers(0, ndays, n)
        hour = rng.integers(7, 20, n)
        minute = rng.integers(0, 60, n)
        t = month_start + (day * 86400 + hour * 3600 + minute * 60).astype("timedelta64[s]")
        facility = np.searchsorted(self.facility_cdf, rng.random(n), side="right")
        facility = np.minimum(facility, self.facility_cdf.shape[0] - 1)
        person = self.people.draw(rng, rng.random(n) < 0.93)
        codes = np.array([c for c, _ in cat.PRISON_OFFENCES], dtype=object)
        ccdf = np.cumsum([p for _, p in cat.PRISON_OFFENCES])
        code = codes[
            np.minimum(
                np.searchsorted(ccdf / ccdf[-1], rng.random(n), side="right"), len(codes) - 1
            )
        ]
        pretrial = rng.random(n) < cat.PRETRIAL_SHARE
        order = np.lexsort((person, t))
        return MonthAdmissions(
            t[order], facility[order], person[order], code[order], pretrial[order]
        )


def _empty_burglaries():
    return (np.empty(0, "datetime64[s]"), np.empty(0), np.empty(0), np.empty(0, np.int64))
