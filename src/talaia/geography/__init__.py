"""Geography core (pure): area hierarchy, point-in-polygon assignment, GeoJSON.

Public API
----------
- :class:`AreaHierarchy` — paths to the root, children, vectorized roll-up of codes.
- :class:`AreaIndex`, :func:`assign_points` — assign many points to areas (STRtree + GEOS).
- :func:`inside`, :func:`in_bounds` — is a point inside the country (or a box).
- :class:`Area`, :func:`areas_to_feature_collection`, :func:`areas_from_feature_collection`,
  :func:`geometry_to_geojson`, :func:`geometry_from_geojson` — GeoJSON (de)serialization.
"""

from talaia.geography.geojson import (
    Area,
    areas_from_feature_collection,
    areas_to_feature_collection,
    geometry_from_geojson,
    geometry_to_geojson,
)
from talaia.geography.hierarchy import AreaHierarchy
from talaia.geography.points import AreaIndex, assign_points, in_bounds, inside

__all__ = [
    "Area",
    "AreaHierarchy",
    "AreaIndex",
    "areas_from_feature_collection",
    "areas_to_feature_collection",
    "assign_points",
    "geometry_from_geojson",
    "geometry_to_geojson",
    "in_bounds",
    "inside",
]
