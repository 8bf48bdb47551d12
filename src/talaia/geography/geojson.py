"""GeoJSON (RFC 7946) serialization of areas.

Geometries are WGS84 longitude/latitude. An area is carried as a :class:`Area` record; a set of
areas as a FeatureCollection whose features hold ``code, name, level, parent_code, valid_from,
valid_to`` as properties.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import shapely
from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class Area:
    """One area of the hierarchy."""

    code: str
    name: str
    level: int
    parent_code: str | None
    geometry: BaseGeometry
    valid_from: date | None = None
    valid_to: date | None = None


def geometry_to_geojson(geom: BaseGeometry, precision: int | None = None) -> str:
    """GeoJSON text of one geometry.

    With ``precision``, coordinates are snapped to a grid of ``10**-precision`` degrees
    (``shapely.set_precision``, which keeps the geometry valid); six decimals are ~0.1 m.
    """
    if precision is not None:
        geom = shapely.set_precision(geom, 10.0**-precision)
    return shapely.to_geojson(geom)


def geometry_from_geojson(text: str) -> BaseGeometry:
    """Geometry from GeoJSON text (raises ``ValueError`` on invalid input)."""
    try:
        geom = shapely.from_geojson(text)
    except Exception as exc:  # shapely raises GEOSException
        raise ValueError(f"invalid GeoJSON geometry: {exc}") from exc
    return geom


def areas_to_feature_collection(areas: Iterable[Area]) -> dict:
    """A GeoJSON FeatureCollection (as a dict) of ``areas``, in the order given."""
    features = []
    for a in areas:
        features.append(
            {
                "type": "Feature",
                "id": a.code,
                "properties": {
                    "code": a.code,
                    "name": a.name,
                    "level": a.level,
                    "parent_code": a.parent_code,
                    "valid_from": a.valid_from.isoformat() if a.valid_from else None,
                    "valid_to": a.valid_to.isoformat() if a.valid_to else None,
                },
                "geometry": json.loads(shapely.to_geojson(a.geometry)),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def areas_from_feature_collection(fc: dict) -> list[Area]:
    """Areas from a FeatureCollection dict; raises ``ValueError`` naming the bad feature."""
    if fc.get("type") != "FeatureCollection":
        raise ValueError("not a GeoJSON FeatureCollection")
    out = []
    for i, feat in enumerate(fc.get("features", [])):
        props = feat.get("properties") or {}
        try:
            code = str(props["code"])
            level = int(props["level"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"feature {i}: missing or bad code/level ({exc})") from exc
        geom = geometry_from_geojson(json.dumps(feat.get("geometry")))
        vf, vt = props.get("valid_from"), props.get("valid_to")
        out.append(
            Area(
                code=code,
                name=str(props.get("name") or code),
                level=level,
                parent_code=props.get("parent_code") or None,
                geometry=geom,
                valid_from=date.fromisoformat(vf) if vf else None,
                valid_to=date.fromisoformat(vt) if vt else None,
            )
        )
    return out
