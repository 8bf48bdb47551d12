import json
from datetime import date

import pytest
from shapely.geometry import MultiPolygon, box

from talaia.geography import (
    Area,
    areas_from_feature_collection,
    areas_to_feature_collection,
    geometry_from_geojson,
    geometry_to_geojson,
)


def test_roundtrip_feature_collection():
    areas = [
        Area("R01", "Región Capital", 1, None, box(0, 0, 2, 1), date(2000, 1, 1)),
        Area(
            "R01P01",
            "Provincia Ñandú",
            2,
            "R01",
            MultiPolygon([box(0, 0, 1, 1), box(1.5, 0, 2, 1)]),
            None,
            date(2030, 12, 31),
        ),
    ]
    fc = json.loads(json.dumps(areas_to_feature_collection(areas), ensure_ascii=False))
    assert fc["type"] == "FeatureCollection"
    assert fc["features"][1]["properties"]["parent_code"] == "R01"
    assert fc["features"][0]["geometry"] == {
        "type": "Polygon",
        "coordinates": [[[2.0, 0.0], [2.0, 1.0], [0.0, 1.0], [0.0, 0.0], [2.0, 0.0]]],
    }
    back = areas_from_feature_collection(fc)
    assert [(a.code, a.name, a.level, a.parent_code, a.valid_from, a.valid_to) for a in back] == [
        (a.code, a.name, a.level, a.parent_code, a.valid_from, a.valid_to) for a in areas
    ]
    assert back[1].geometry.equals(areas[1].geometry)
    assert back[1].geometry.area == pytest.approx(1.5)


def test_geometry_text_precision():
    g = box(0.12345678, 0, 1, 1)
    assert "0.123457" in geometry_to_geojson(g, precision=6)
    assert geometry_from_geojson(geometry_to_geojson(g)).equals(g)


def test_errors_name_the_feature():
    with pytest.raises(ValueError, match="not a GeoJSON FeatureCollection"):
        areas_from_feature_collection({"type": "Feature"})
    fc = {
        "type": "FeatureCollection",
        "features": [{"properties": {"name": "x"}, "geometry": None}],
    }
    with pytest.raises(ValueError, match="feature 0"):
        areas_from_feature_collection(fc)
    with pytest.raises(ValueError, match="invalid GeoJSON"):
        geometry_from_geojson("{not json")
