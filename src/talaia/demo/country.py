"""The demo country: an irregular national outline, three nested levels of Voronoi areas,
population by sex and five-year age group, and the micro-places where crime concentrates.

Geometry method: the outline is a star-shaped polygon whose radius is a sum of sinusoids with
random phases. Level 1 (regions) is a small capital disc plus the Voronoi cells
(``shapely.voronoi_polygons``) of well-spread seeds (farthest-point sampling) clipped to the rest
of the outline; level 2 (provinces) are Voronoi cells of seeds inside each region clipped to it,
and level 3 (municipalities) the same inside each province. Nesting and tiling therefore hold by
construction (up to floating-point rounding of the clipping).

Area codes: ``R01`` (region), ``R01P02`` (province 2 of region 1), ``R01P02M03``
(municipality 3 of that province). ``R01`` is always the capital region.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import shapely
from shapely.geometry import MultiPoint, Point, Polygon
from shapely.geometry.base import BaseGeometry

from talaia.geography import Area
from talaia.records.vocab import AGE_GROUPS

COUNTRY_NAME = "República de Talaia"
CENTER = (-83.0, 9.6)
RADII = (2.3, 1.45)
CAPITAL_RADIUS = 0.32
N_PROVINCES = (5, 6, 6, 6, 6, 6, 5)  # per region; R01 is the capital region
MUNIS_PER_PROVINCE_CAPITAL = 8
MUNIS_PER_PROVINCE = (4, 6)  # min, max elsewhere
PLACES_PER_MUNI = 40
BASE_POPULATION = 6_000_000

REGION_NAMES = ("Capital", "Norte", "Pacífico Sur", "Oriente", "Occidente", "Cordillera", "Caribe")
_BASE_NAMES = (
    "San Miguel",
    "Santa Rosa",
    "San José",
    "Santa Ana",
    "San Pedro",
    "San Juan",
    "Santa Cruz",
    "San Rafael",
    "San Isidro",
    "Santa Lucía",
    "San Antonio",
    "Santo Domingo",
    "San Carlos",
    "Santa María",
    "San Francisco",
    "San Lorenzo",
    "San Pablo",
    "Santa Bárbara",
    "San Marcos",
    "Santiago",
    "La Esperanza",
    "La Libertad",
    "La Unión",
    "El Carmen",
    "El Rosario",
    "Los Ángeles",
    "Las Flores",
    "La Paz",
    "El Progreso",
    "Villa Nueva",
    "Puerto Viejo",
    "Valle Hermoso",
    "Río Claro",
    "Piedras Blancas",
    "Agua Caliente",
    "Monte Verde",
    "Cerro Azul",
    "Palmares",
    "Naranjo",
    "Los Robles",
    "Las Palmas",
    "El Guayabo",
    "Tres Ríos",
    "Buenavista",
    "Miramar",
    "Llano Grande",
    "Concepción",
    "Candelaria",
    "Guadalupe",
    "Dolores",
)
_SUFFIXES = (
    "",
    " de Oriente",
    " del Norte",
    " de la Montaña",
    " del Valle",
    " del Mar",
    " Arriba",
    " Abajo",
    " de los Llanos",
    " del Río",
    " de la Costa",
)

# Population pyramid (share of each five-year group, AGE_GROUPS order) and male share per group:
# a young population with a slowly narrowing base, as in Central American censuses ~2020.
_AGE_SHARE = np.array(
    [7.6, 7.9, 8.2, 8.4, 8.6, 8.3, 7.8, 7.2, 6.6, 6.0, 5.4, 4.7, 3.9, 3.1, 2.4, 1.7, 2.2]
)
_AGE_SHARE = _AGE_SHARE / _AGE_SHARE.sum()
_MALE_SHARE = np.array(
    [
        0.511,
        0.511,
        0.510,
        0.508,
        0.503,
        0.497,
        0.492,
        0.489,
        0.487,
        0.485,
        0.483,
        0.480,
        0.475,
        0.468,
        0.458,
        0.440,
        0.410,
    ]
)


@dataclass(frozen=True)
class Country:
    """The generated country (geometry, areas, population model and places).

    Arrays indexed by municipality follow ``muni_codes`` (sorted level-3 codes).
    """

    outline: BaseGeometry
    capital: tuple[float, float]
    areas: tuple[Area, ...]
    muni_codes: tuple[str, ...]
    muni_geoms: np.ndarray
    muni_region: np.ndarray  # index into region_codes
    region_codes: tuple[str, ...]
    pop_base: np.ndarray  # total population of each municipality in the first year
    growth: np.ndarray  # annual growth rate of each municipality
    urban: np.ndarray  # standardized log density (z-score)
    place_x: np.ndarray  # (n_muni, PLACES_PER_MUNI)
    place_y: np.ndarray
    place_cum: np.ndarray  # cumulative normalized place weights per municipality

    def population_total(self, year_offset: int) -> np.ndarray:
        """Total population per municipality, ``year_offset`` years after the first year."""
        return self.pop_base * (1.0 + self.growth) ** year_offset


def _outline(rng: np.random.Generator) -> Polygon:
    theta = np.linspace(0.0, 2.0 * np.pi, 240, endpoint=False)
    r = np.ones_like(theta)
    for k, amp in ((2, 0.10), (3, 0.08), (5, 0.05), (7, 0.03), (11, 0.015)):
        r += amp * np.sin(k * theta + rng.uniform(0, 2 * np.pi))
    x = CENTER[0] + RADII[0] * r * np.cos(theta)
    y = CENTER[1] + RADII[1] * r * np.sin(theta)
    return Polygon(np.column_stack([np.round(x, 6), np.round(y, 6)]))


def sample_in(geom: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside ``geom`` (rejection sampling, vectorized)."""
    minx, miny, maxx, maxy = geom.bounds
    shapely.prepare(geom)
    out = np.empty((0, 2))
    while out.shape[0] < n:
        m = max(4 * n, 64)
        xs = rng.uniform(minx, maxx, m)
        ys = rng.uniform(miny, maxy, m)
        ok = shapely.contains_xy(geom, xs, ys)
        out = np.vstack([out, np.column_stack([xs[ok], ys[ok]])])
    return out[:n]


def _spread(geom: BaseGeometry, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` well-spread seeds in ``geom`` by farthest-point sampling of random candidates."""
    cand = sample_in(geom, 60 * k, rng)
    chosen = [0]
    d = np.hypot(cand[:, 0] - cand[0, 0], cand[:, 1] - cand[0, 1])
    for _ in range(k - 1):
        i = int(np.argmax(d))
        chosen.append(i)
        d = np.minimum(d, np.hypot(cand[:, 0] - cand[i, 0], cand[:, 1] - cand[i, 1]))
    return cand[chosen]


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    parts = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]
    if len(parts) == 1:
        return parts[0]
    return shapely.multipolygons(parts)


def _voronoi(parent: BaseGeometry, seeds: np.ndarray) -> list[BaseGeometry]:
    """Voronoi cells of ``seeds`` clipped to ``parent``, in seed order."""
    if len(seeds) == 1:
        return [parent]
    cells = shapely.get_parts(
        shapely.voronoi_polygons(MultiPoint(seeds), extend_to=parent, ordered=True)
    )
    # match cells to seeds explicitly (robust to GEOS ordering)
    out = []
    for sx, sy in seeds:
        cell = next(c for c in cells if shapely.intersects_xy(c, sx, sy))
        out.append(_polygonal(shapely.intersection(cell, parent)))
    return out


def _names(rng: np.random.Generator) -> list[str]:
    combos = [b + s for s in _SUFFIXES for b in _BASE_NAMES]
    order = rng.permutation(len(combos))
    return [combos[i] for i in order]


def build_country(seed: int, scale: float = 1.0) -> Country:
    """Build the demo country deterministically from ``seed``.

    ``scale`` multiplies the population (so that rates per 100,000 stay realistic when the
    number of records is scaled); the geometry does not depend on it.
    """
    rng = np.random.default_rng([seed, 1])
    outline = _outline(rng)
    cx = CENTER[0] + rng.uniform(-0.4, 0.4)
    cy = CENTER[1] + rng.uniform(-0.3, 0.3)
    capital_disc = _polygonal(
        shapely.intersection(Point(cx, cy).buffer(CAPITAL_RADIUS, 32), outline)
    )
    rest = _polygonal(shapely.difference(outline, capital_disc))
    region_geoms = [capital_disc, *_voronoi(rest, _spread(rest, len(N_PROVINCES) - 1, rng))]
    names = iter(_names(rng))

    areas: list[Area] = []
    muni_codes: list[str] = []
    muni_geoms: list[BaseGeometry] = []
    muni_region: list[int] = []
    for r, rgeom in enumerate(region_geoms):
        rcode = f"R{r + 1:02d}"
        areas.append(Area(rcode, f"Región {REGION_NAMES[r]}", 1, None, rgeom))
        pgeoms = _voronoi(rgeom, _spread(rgeom, N_PROVINCES[r], rng))
        for p, pgeom in enumerate(pgeoms):
            pcode = f"{rcode}P{p + 1:02d}"
            areas.append(Area(pcode, f"Provincia de {next(names)}", 2, rcode, pgeom))
            k = (
                MUNIS_PER_PROVINCE_CAPITAL
                if r == 0
                else int(rng.integers(MUNIS_PER_PROVINCE[0], MUNIS_PER_PROVINCE[1] + 1))
            )
            for m, mgeom in enumerate(_voronoi(pgeom, _spread(pgeom, k, rng))):
                mcode = f"{pcode}M{m + 1:02d}"
                areas.append(Area(mcode, next(names), 3, pcode, mgeom))
                muni_codes.append(mcode)
                muni_geoms.append(mgeom)
                muni_region.append(r)

    geoms = np.asarray(muni_geoms, dtype=object)
    cent = shapely.centroid(geoms)
    dx = shapely.get_x(cent) - cx
    dy = shapely.get_y(cent) - cy
    dist = np.hypot(dx, dy)
    weight = rng.lognormal(0.0, 0.7, len(geoms)) * (1.0 + 12.0 * np.exp(-dist / 0.25))
    weight *= shapely.area(geoms) ** 0.3
    pop_base = BASE_POPULATION * scale * weight / weight.sum()
    growth = rng.uniform(0.006, 0.016, len(geoms)) + 0.006 * np.exp(-dist / 0.3)
    dens = np.log(pop_base / shapely.area(geoms))
    urban = (dens - dens.mean()) / dens.std()

    px = np.empty((len(geoms), PLACES_PER_MUNI))
    py = np.empty_like(px)
    for i, g in enumerate(geoms):
        pts = sample_in(g, PLACES_PER_MUNI, rng)
        px[i], py[i] = pts[:, 0], pts[:, 1]
    w = rng.pareto(1.2, px.shape) + 0.05
    cum = np.cumsum(w, axis=1)
    cum /= cum[:, -1:]
    cum[:, -1] = 1.0
    return Country(
        outline=outline,
        capital=(cx, cy),
        areas=tuple(sorted(areas, key=lambda a: a.code)),
        muni_codes=tuple(muni_codes),
        muni_geoms=geoms,
        muni_region=np.asarray(muni_region),
        region_codes=tuple(f"R{r + 1:02d}" for r in range(len(region_geoms))),
        pop_base=pop_base,
        growth=growth,
        urban=urban,
        place_x=px,
        place_y=py,
        place_cum=cum,
    )


def population_table(country: Country, years: tuple[int, ...]) -> pa.Table:
    """Population by municipality, year, sex and age group (int64, rounded expected values)."""
    n = len(country.muni_codes)
    rows_area, rows_year, rows_sex, rows_age, rows_pop = [], [], [], [], []
    for k, year in enumerate(years):
        tot = country.population_total(k)
        for sex, share in (("male", _MALE_SHARE), ("female", 1.0 - _MALE_SHARE)):
            pop = np.rint(tot[:, None] * (_AGE_SHARE * share)[None, :]).astype(np.int64)
            rows_area.append(
                np.repeat(np.asarray(country.muni_codes, dtype=object), len(AGE_GROUPS))
            )
            rows_year.append(np.full(n * len(AGE_GROUPS), year, dtype=np.int32))
            rows_sex.append(np.full(n * len(AGE_GROUPS), sex, dtype=object))
            rows_age.append(np.tile(np.asarray(AGE_GROUPS, dtype=object), n))
            rows_pop.append(pop.ravel())
    t = pa.table(
        {
            "area_code": pa.array(np.concatenate(rows_area), pa.string()),
            "year": pa.array(np.concatenate(rows_year), pa.int32()),
            "sex": pa.array(np.concatenate(rows_sex), pa.string()),
            "age_group": pa.array(np.concatenate(rows_age), pa.string()),
            "population": pa.array(np.concatenate(rows_pop), pa.int64()),
        }
    )
    return t.sort_by(
        [
            ("area_code", "ascending"),
            ("year", "ascending"),
            ("sex", "ascending"),
            ("age_group", "ascending"),
        ]
    )
