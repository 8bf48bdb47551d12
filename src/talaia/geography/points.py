"""Vectorized assignment of points to areas and bounding checks.

Methods: candidate polygons are found with a Sort-Tile-Recursive R-tree (``shapely.STRtree``,
Leutenegger et al. 1997) over the polygons' envelopes, then the exact point-in-polygon test is
done for all candidate pairs at once with ``shapely.contains_xy`` (GEOS prepared geometries).
There is no Python loop per point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class AreaIndex:
    """A spatial index of area polygons for repeated point assignment.

    Attributes
    ----------
    codes
        Area codes, aligned with ``geometries``.
    geometries
        Polygons or multipolygons (WGS84 lon/lat).
    """

    codes: tuple[str, ...]
    geometries: np.ndarray
    tree: shapely.STRtree

    @classmethod
    def build(cls, codes: Sequence[str], geometries: Sequence[BaseGeometry]) -> AreaIndex:
        geoms = np.asarray(geometries, dtype=object)
        if len(codes) != len(geoms):
            raise ValueError("codes and geometries differ in length")
        shapely.prepare(geoms)
        return cls(tuple(codes), geoms, shapely.STRtree(geoms))

    @classmethod
    def from_geojson(cls, codes: Sequence[str], texts: Sequence[str]) -> AreaIndex:
        """Build from GeoJSON geometry texts (as in ``area.geometry`` of the store).

        Raises ``ValueError`` naming the first area whose geometry is not valid GeoJSON.
        """
        try:
            geoms = shapely.from_geojson(np.asarray(texts, dtype=object))
        except Exception:
            for code, text in zip(codes, texts, strict=True):
                try:
                    shapely.from_geojson(text)
                except Exception as exc:
                    raise ValueError(f"area {code}: invalid GeoJSON geometry: {exc}") from None
            raise
        return cls.build(codes, list(geoms))

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Index (into ``codes``) of the area containing each point, ``-1`` where none does.

        A point on a shared boundary goes to the area with the lowest index among those that
        contain or touch it (``shapely.intersects_xy``), so that every point of the tiled
        territory gets exactly one area. NaN coordinates give ``-1``.
        """
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        if lon.shape != lat.shape:
            raise ValueError("lon and lat differ in shape")
        out = np.full(lon.shape[0], -1, dtype=np.int64)
        ok = np.isfinite(lon) & np.isfinite(lat)
        if not ok.any():
            return out
        idx_ok = np.flatnonzero(ok)
        pts = shapely.points(lon[idx_ok], lat[idx_ok])
        pt_i, geom_i = self.tree.query(pts, predicate=None)
        hit = shapely.intersects_xy(self.geometries[geom_i], lon[idx_ok][pt_i], lat[idx_ok][pt_i])
        pt_i, geom_i = pt_i[hit], geom_i[hit]
        # lowest area index per point: sort by (point, area) and take the first of each point
        order = np.lexsort((geom_i, pt_i))
        pt_i, geom_i = pt_i[order], geom_i[order]
        first = np.ones(pt_i.shape[0], dtype=bool)
        first[1:] = pt_i[1:] != pt_i[:-1]
        out[idx_ok[pt_i[first]]] = geom_i[first]
        return out

    def assign(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Area code of each point (object array), ``None`` outside every area."""
        idx = self.locate(lon, lat)
        codes = np.asarray((*self.codes, None), dtype=object)
        return codes[idx]  # -1 picks the trailing None


def assign_points(
    lon: np.ndarray,
    lat: np.ndarray,
    codes: Sequence[str],
    geometries: Sequence[BaseGeometry],
) -> np.ndarray:
    """Assign many points to the areas that contain them (one-shot form of :class:`AreaIndex`).

    Returns an object array of area codes, ``None`` for points in no area.
    """
    return AreaIndex.build(codes, geometries).assign(lon, lat)


def inside(geometry: BaseGeometry, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Boolean array: is each point inside (or on the boundary of) ``geometry``?

    Used to check that coordinates fall in the country (e.g. to detect points outside it or
    swapped latitude/longitude). NaN coordinates give ``False``.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    shapely.prepare(geometry)
    res = shapely.intersects_xy(geometry, lon, lat)
    return np.asarray(res, dtype=bool) & np.isfinite(lon) & np.isfinite(lat)


def in_bounds(bounds: tuple[float, float, float, float], lon: np.ndarray, lat: np.ndarray):
    """Boolean array: is each point inside the box ``(minx, miny, maxx, maxy)``? (cheap check)"""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    minx, miny, maxx, maxy = bounds
    return (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)
