"""Upload through the portal: the ingestion pipeline runs in the background, the steward sees
the quarantined row with its reason, corrects it inline and re-submits; the correction loads as
a revision that supersedes the batch (SQLite store, real files)."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import insert, select
from tests.ingest.conftest import GOOD, country, write_csv  # noqa: F401 - fixture
from tests.web.conftest import ACCOUNTS, PASSWORD, _password_hash, csrf_of, login

from talaia.store.models import AppUser, Batch, QuarantineRow


@pytest.fixture
def upload_client(country, sqlite_url, tmp_path, monkeypatch):  # noqa: F811
    from fastapi.testclient import TestClient

    from talaia.ingest.service import ingest_file
    from talaia.settings import get_settings
    from talaia.store.database import get_engine, upgrade
    from talaia.web.app import create_app

    tmp, profile = country
    monkeypatch.chdir(tmp)  # the stored profile names its areas and crosswalk files relatively
    engine = get_engine(sqlite_url)
    upgrade(engine)
    # register the source (and agency TP) with one good delivery for February
    feb = [[r[0] + "f", r[1].replace("/03/", "/02/"), *r[2:]] for r in GOOD]
    r = ingest_file(
        engine, write_csv(tmp / "feb.csv", feb), "test_police", profile(), "setup", period="2024-02"
    )
    assert r.outcome == "loaded"
    with engine.begin() as conn:
        conn.execute(
            insert(AppUser),
            [
                {
                    "username": "tp_steward",
                    "role_code": "steward",
                    "agency_code": "TP",
                    "active": True,
                    "password_hash": _password_hash(),
                },
                {
                    "username": "other_steward",
                    "role_code": "steward",
                    "agency_code": None,
                    "active": True,
                    "password_hash": _password_hash(),
                },
                {
                    "username": "tp_analyst",
                    "role_code": "analyst",
                    "agency_code": None,
                    "active": True,
                    "password_hash": _password_hash(),
                },
            ],
        )
    assert "tp_steward" not in ACCOUNTS
    app = create_app(get_settings(), engine=engine)
    with TestClient(app, base_url="https://testserver") as c:
        yield c, engine, tmp
    engine.dispose()


def _wait(client, job_id: str) -> dict:  # type: ignore[no-untyped-def]
    for _ in range(600):  # bounded wait for the background job, not a timing assertion
        job = client.get(f"/api/v1/uploads/{job_id}").json()
        if job["state"] != "running":
            return job
        time.sleep(0.1)
    raise AssertionError("upload did not finish")


def test_upload_quarantine_correct_resubmit(upload_client):
    client, engine, tmp = upload_client
    assert login(client, "tp_steward").status_code == 303
    assert "test_police" in client.get("/data/upload").text
    bad = [*GOOD, ["B1", "31/02/2024", "N1", "-69.5", "10.5", "HOM", "M", "30", "333"]]
    data = write_csv(tmp / "mar.csv", bad).read_bytes()
    r = client.post(
        "/data/upload",
        data={"csrf_token": csrf_of(client), "source": "test_police", "period": "2024-03"},
        files={"file": ("policia 2024-03.csv", data, "text/csv")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    job_id = r.headers["location"].rsplit("/", 1)[1]
    job = _wait(client, job_id)
    assert (job["state"], job["outcome"]) == ("done", "loaded"), job
    assert (job["rows_read"], job["rows_accepted"], job["rows_quarantined"]) == (4, 3, 1)
    page = client.get(f"/data/upload/{job_id}").text
    assert f'href="/data/batches/{job["batch_id"]}#quarantine"' in page
    batch_id = job["batch_id"]

    # the quarantine: the bad date, with its reason, on row 5 (line 5 of the file)
    html = client.get(f"/data/batches/{batch_id}").text
    assert "31/02/2024" in html and "fecha" in html
    assert "<caption>Reasons</caption>" in html  # the batch's ingestion report
    q = client.get(f"/api/v1/batches/{batch_id}/quarantine").json()["items"]
    assert [(x["row_number"], x["raw"]["fecha"]) for x in q] == [(5, "31/02/2024")]
    assert "333" not in str(q)  # the personal identifier never reaches the quarantine
    row_id = q[0]["id"]

    # inline correction, then re-submission
    r = client.post(
        f"/data/quarantine/{row_id}",
        data={"csrf_token": csrf_of(client), "field:fecha": "29/03/2024", "action": "correct"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Re-submit corrections" in client.get(f"/data/batches/{batch_id}").text
    r = client.post(
        f"/data/batches/{batch_id}/resubmit",
        data={"csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    new_id = int(re.search(r"/data/batches/(\d+)", r.headers["location"]).group(1))
    assert new_id != batch_id
    with engine.connect() as conn:
        batches = dict(conn.execute(select(Batch.id, Batch.status)).all())
        new = conn.execute(
            select(Batch.rows_accepted, Batch.rows_quarantined, Batch.supersedes_id).where(
                Batch.id == new_id
            )
        ).one()
        old_row = conn.execute(
            select(QuarantineRow.status).where(QuarantineRow.id == row_id)
        ).scalar_one()
    assert batches[batch_id] == "superseded"
    assert tuple(new) == (4, 0, batch_id)
    assert old_row == "fixed"


def test_steward_cannot_upload_to_another_agency(upload_client):
    client, _, tmp = upload_client
    assert login(client, "other_steward").status_code == 303
    data = write_csv(tmp / "x.csv", GOOD).read_bytes()
    r = client.post(
        "/api/v1/uploads",
        data={"source": "test_police"},
        files={"file": ("x.csv", data, "text/csv")},
        headers={"X-CSRF-Token": csrf_of(client)},
    )
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert PASSWORD  # accounts share the fixture password


def test_accept_mapping_adds_a_crosswalk_version(upload_client):
    from talaia.store.crosswalks import get_version

    client, engine, _ = upload_client
    v1 = get_version(engine, "test_police")
    form = {
        "source_code": "test_police",
        "national_code": "EXT",
        "national_label": "Extorsión",
        "choice": "0302",
        "other": "",
        "mapping_type": "exact",
    }
    assert login(client, "tp_steward").status_code == 303
    r = client.post(
        "/classification/mappings",
        data={**form, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert r.status_code == 403  # stewards do not change crosswalks
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert login(client, "tp_analyst").status_code == 303
    r = client.post(
        "/classification/mappings",
        data={**form, "other": "020811", "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    v2 = get_version(engine, "test_police")
    assert v2.version == v1.version + 1
    assert get_version(engine, "test_police", v1.version).info.rows == v1.info.rows
    new = [row for row in v2.crosswalk.rows if row.national_code == "EXT"]
    assert [(x.iccs_code, x.mapping_type) for x in new] == [("020811", "exact")]
    r = client.post(
        "/classification/mappings",
        data={**form, "other": "99999", "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert r.status_code == 422  # not an ICCS code
    assert (
        "Mapping saved as crosswalk version"
        in client.get(f"/classification?saved={v2.version}").text
    )
