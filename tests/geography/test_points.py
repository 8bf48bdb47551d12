import numpy as np
from shapely.geometry import MultiPolygon, Polygon, box

from talaia.geography import AreaIndex, assign_points, in_bounds, inside

# Two unit squares side by side and an L-shaped (non-convex) area above them.
LEFT = box(0, 0, 1, 1)
RIGHT = box(1, 0, 2, 1)
ELL = Polygon([(0, 1), (2, 1), (2, 3), (1.5, 3), (1.5, 1.5), (0, 1.5)])
CODES = ("L", "R", "E")


def test_assign_hand_computed():
    lon = np.array([0.5, 1.5, 1.0, 0.2, 1.7, 1.0, 5.0, np.nan, 0.0])
    lat = np.array([0.5, 0.5, 0.5, 1.2, 2.5, 2.0, 5.0, 0.5, 0.0])
    got = assign_points(lon, lat, CODES, [LEFT, RIGHT, ELL])
    # (1.0, 0.5) is on the shared edge: lowest index ("L"); (1.0, 2.0) is in the L's notch.
    # (0, 0) is a corner of LEFT: on the boundary, so assigned.
    assert list(got) == ["L", "R", "L", "E", "E", None, None, None, "L"]


def test_index_reuse_and_multipolygon():
    mp = MultiPolygon([box(10, 10, 11, 11), box(12, 10, 13, 11)])
    idx = AreaIndex.build(["M", "L"], [mp, LEFT])
    loc = idx.locate(np.array([10.5, 12.5, 11.5, 0.5]), np.array([10.5, 10.5, 10.5, 0.5]))
    assert list(loc) == [0, 0, -1, 1]


def test_many_points_match_bruteforce():
    rng = np.random.default_rng(0)
    lon = rng.uniform(-0.5, 2.5, 20_000)
    lat = rng.uniform(-0.5, 3.5, 20_000)
    got = assign_points(lon, lat, CODES, [LEFT, RIGHT, ELL])
    # brute force with plain inequalities (strict interiors; boundaries have measure zero)
    exp = np.full(lon.shape, None, dtype=object)
    exp[(lon > 0) & (lon < 1) & (lat > 0) & (lat < 1)] = "L"
    exp[(lon > 1) & (lon < 2) & (lat > 0) & (lat < 1)] = "R"
    in_ell = ((lat > 1) & (lat < 1.5) & (lon > 0) & (lon < 2)) | (
        (lat >= 1.5) & (lat < 3) & (lon > 1.5) & (lon < 2)
    )
    exp[in_ell] = "E"
    assert (got == exp).all()


def test_inside_country_and_bounds():
    country = Polygon([(0, 0), (4, 0), (4, 4), (2, 2), (0, 4)])  # notch at the top
    lon = np.array([1.0, 2.0, 2.0, -1.0, np.nan])
    lat = np.array([1.0, 3.0, 1.0, 1.0, 1.0])
    assert list(inside(country, lon, lat)) == [True, False, True, False, False]
    assert list(in_bounds(country.bounds, lon, lat)) == [True, True, True, False, False]


def test_index_from_geojson_texts():
    import pytest
    import shapely

    idx = AreaIndex.from_geojson(CODES, [shapely.to_geojson(g) for g in (LEFT, RIGHT, ELL)])
    assert list(idx.assign(np.array([1.5, 0.5]), np.array([0.5, 1.25]))) == ["R", "E"]
    with pytest.raises(ValueError, match="area R"):
        AreaIndex.from_geojson(["L", "R"], [shapely.to_geojson(LEFT), "{bad"])
