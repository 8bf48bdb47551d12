"""Fixtures: a tiny country (two square areas), a police CSV profile, a fresh SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

AREAS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"code": "N1", "name": "Norte Álto"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-70, 10], [-69, 10], [-69, 11], [-70, 11], [-70, 10]]],
            },
        },
        {
            "type": "Feature",
            "properties": {"code": "S1", "name": "Sur"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-70, 9], [-69, 9], [-69, 10], [-70, 10], [-70, 9]]],
            },
        },
    ],
}

CROSSWALK = """national_code,national_label,iccs_code,mapping_type,condition,sets,valid_from,\
valid_to,notes
HOM,Homicidio,0101,exact,,,,,
ROB,Robo,0401,exact,,,,,
"""

PROFILE = """
source: test_police
profile_version: 1
format: csv
delimiter: "{delimiter}"
decimal: "{decimal}"
encoding: {encoding}
source_info: {{agency_code: TP, agency_name: Test Police, kind: police, name: Test police}}
fields:
  incident.external_id: {{column: id}}
  incident.occurred_from: {{column: fecha, formats: ["%d/%m/%Y %H:%M", "%d/%m/%Y"]}}
  incident.lon: {{column: lon}}
  incident.lat: {{column: lat}}
  offence.national_code: {{column: delito}}
  victim.sex: {{column: sexo, values: {{M: male, Masculino: male, HOMBRE: male, "1": male,
                                        F: female, "2": female}}}}
  victim.age: {{column: edad}}
  victim.person_key: {{column: cedula}}
area: {{method: {area_method}, column: area, level: 1, file: areas.geojson}}
crs: "{crs}"
crosswalk: crosswalk.csv
personal_identifiers: [cedula]
near_duplicates: {{metres: 100, minutes: 30}}
max_quarantined_share: 0.9
"""

HEADER = ["id", "fecha", "area", "lon", "lat", "delito", "sexo", "edad", "cedula"]
GOOD = [
    ["A1", "05/03/2024 10:30", "N1", "-69.5", "10.5", "HOM", "M", "30", "111"],
    ["A2", "06/03/2024", "S1", "-69.5", "9.5", "ROB", "F", "41", "222"],
    ["A3", "07/03/2024 23:59", "N1", "-69.4", "10.2", "ROB", "HOMBRE", "", ""],
]


@pytest.fixture
def country(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write areas + crosswalk + a profile factory; point the settings at tmp_path."""
    from talaia.settings import get_settings

    monkeypatch.setenv("TALAIA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TALAIA_SECRET_KEY", "test-secret")
    get_settings.cache_clear()
    (tmp_path / "areas.geojson").write_text(json.dumps(AREAS))
    (tmp_path / "crosswalk.csv").write_text(CROSSWALK)

    def profile(
        delimiter=",",
        decimal=".",
        encoding="null",
        area_method="code",
        crs="EPSG:4326",
        name="profile.yaml",
    ) -> Path:
        p = tmp_path / name
        p.write_text(
            PROFILE.format(
                delimiter=delimiter,
                decimal=decimal,
                encoding=encoding,
                area_method=area_method,
                crs=crs,
            )
        )
        return p

    yield tmp_path, profile
    get_settings.cache_clear()


@pytest.fixture
def engine(tmp_path: Path):
    from talaia.store.database import get_engine, upgrade

    e = get_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    upgrade(e)
    yield e
    e.dispose()


def write_csv(path: Path, rows, header=HEADER, delimiter=",", encoding="utf-8") -> Path:
    text = "\n".join(delimiter.join(r) for r in [header, *rows]) + "\n"
    path.write_bytes(text.encode(encoding))
    return path
