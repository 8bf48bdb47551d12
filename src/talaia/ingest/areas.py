"""The areas a source's records are resolved against: by code, by name, or by point.

An :class:`AreaLookup` is built once per batch from the store's ``area`` table (or from the
GeoJSON file a profile names) and used by the normalization step, columnar: codes and folded
names go to DuckDB as a small table to join; points go to :class:`talaia.geography.points.
AreaIndex` (STR-tree + vectorized point-in-polygon). Names are folded (lower case, accents
stripped, spaces collapsed) so that "SAO PAULO", "São Paulo" and "sao  paulo" match.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import shapely

from talaia.errors import DataError
from talaia.geography.points import AreaIndex


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a name (NFKD, combining marks removed)."""
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c))
    return " ".join(t.lower().split())


@dataclass(frozen=True)
class AreaLookup:
    """Areas of one country (see the module docstring).

    Attributes
    ----------
    table
        Arrow table ``code, name, level, name_folded`` of every area.
    bounds
        ``(min lon, min lat, max lon, max lat)`` of all geometries, or ``None`` without them.
    """

    table: pa.Table
    bounds: tuple[float, float, float, float] | None
    _index: dict[int | None, AreaIndex] = field(default_factory=dict, repr=False)
    _geoms: tuple[tuple[str, int, object], ...] = field(default=(), repr=False)

    @classmethod
    def from_rows(
        cls,
        codes: list[str],
        names: list[str | None],
        levels: list[int | None],
        geometries: list[str | None],
    ) -> AreaLookup:
        """Build from parallel lists; geometries as GeoJSON text (WGS84) or ``None``."""
        folded = [fold(n) if n else None for n in names]
        table = pa.table(
            {
                "code": pa.array(codes, pa.string()),
                "name": pa.array(names, pa.string()),
                "level": pa.array(levels, pa.int32()),
                "name_folded": pa.array(folded, pa.string()),
            }
        )
        geoms = []
        for c, lv, g in zip(codes, levels, geometries, strict=True):
            if g:
                geoms.append((c, lv, shapely.from_geojson(g)))
        bounds = None
        if geoms:
            b = shapely.bounds(np.array([g for _, _, g in geoms], dtype=object))
            bounds = (
                float(b[:, 0].min()),
                float(b[:, 1].min()),
                float(b[:, 2].max()),
                float(b[:, 3].max()),
            )
        return cls(table, bounds, {}, tuple(geoms))

    def index(self, level: int | None) -> AreaIndex:
        """Point-in-polygon index of the areas at ``level`` (all levels when ``None``)."""
        if level not in self._index:
            sel = [(c, g) for c, lv, g in self._geoms if level is None or lv == level]
            if not sel:
                raise DataError(
                    f"no area geometries at level {level} for point-in-polygon / "
                    f"no hay geometrías de áreas de nivel {level}"
                )
            self._index[level] = AreaIndex.build([c for c, _ in sel], [g for _, g in sel])
        return self._index[level]

    def locate(self, lon: np.ndarray, lat: np.ndarray, level: int | None) -> np.ndarray:
        """Area code (object array) of each point, ``None`` outside every area."""
        return self.index(level).assign(lon, lat)


def read_area_geojson(
    path: Path, code_property: str, name_property: str, level: int | None, code_prefix: str = ""
) -> tuple[AreaLookup, list[dict]]:
    """Read areas from a GeoJSON FeatureCollection, reprojected to WGS84 when it says so.

    Returns the lookup and the rows for the store's ``area`` table (``code, name, level,
    parent_code, geometry``). Codes written as integral numbers (``3502754.0``) become
    ``"3502754"``.
    """
    try:
        doc = json.loads(path.read_bytes())
        feats = doc["features"]
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{path}: cannot read area GeoJSON / GeoJSON ilegible: {exc}") from None
    crs = ((doc.get("crs") or {}).get("properties") or {}).get("name")
    codes, names, geoms = [], [], []
    for i, f in enumerate(feats):
        props = f.get("properties") or {}
        if code_property not in props:
            raise DataError(f"{path}: feature {i + 1}: no property {code_property!r}")
        c = props[code_property]
        if isinstance(c, float) and c.is_integer():
            c = int(c)
        codes.append(code_prefix + str(c))
        names.append(props.get(name_property))
        geoms.append(shapely.from_geojson(json.dumps(f["geometry"])))
    garr = np.array(geoms, dtype=object)
    if crs and not any(k in crs for k in ("CRS84", "EPSG::4326", "EPSG:4326")):
        from pyproj import CRS, Transformer

        src = CRS.from_user_input(crs)
        if not _same_datum_degrees(src):
            tr = Transformer.from_crs(src, "EPSG:4326", always_xy=True)
            garr = shapely.transform(
                garr, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))
            )
    texts = [shapely.to_geojson(g) for g in garr]
    lookup = AreaLookup.from_rows(codes, names, [level] * len(codes), texts)
    rows = [
        {"code": c, "name": n or c, "level": level or 1, "parent_code": None, "geometry": t}
        for c, n, t in zip(codes, names, texts, strict=True)
    ]
    return lookup, rows


def _same_datum_degrees(crs: object) -> bool:
    """True for geographic CRSs whose difference from WGS84 is below a metre (e.g. SIRGAS 2000,
    EPSG:4674): no transformation is needed at the scale of area boundaries."""
    try:
        return crs.to_epsg() in (4674, 4326, 4258, 4283, 4617, 4686)  # type: ignore[attr-defined]
    except Exception:
        return False
