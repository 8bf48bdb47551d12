"""The steward's and the administrator's pages: uniform "not found" answers, quarantine reasons
as sentences, unknown codes from quarantine on the classification page, the new-user form's
default role, and the audit log filtered, paged and readable (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import re

from sqlalchemy import Engine, insert, select, update
from tests.web.conftest import csrf_of, login

from talaia.store.models import AuditEvent, Batch, QuarantineRow

MISSING = 999_999


def _row(engine: Engine, batch_id: int, n: int, raw: dict, reasons: list) -> int:
    with engine.begin() as conn:
        return conn.execute(
            insert(QuarantineRow)
            .values(
                batch_id=batch_id,
                row_number=n,
                raw=json.dumps(raw),
                reasons=json.dumps(reasons),
                status="open",
            )
            .returning(QuarantineRow.id)
        ).scalar_one()


def _unknown(code: str) -> dict:
    return {
        "field": "offence.national_code",
        "column": "codigo",
        "value": code,
        "rule": "unknown_code",
    }


def _main(html: str) -> str:
    m = re.search(r"<main[^>]*>(.*)</main>", html, re.S)
    assert m, html[:500]
    return m.group(1)


# --- uniform not-found answers ----------------------------------------------------------------


def test_other_agencys_objects_answer_exactly_as_missing_ones(client, seeded):
    _, seed = seeded
    other_batch, other_row = seed.pm_batches[0], seed.pm_rows[0]
    assert login(client, "pn_steward").status_code == 303
    h = {"X-CSRF-Token": csrf_of(client)}
    token = csrf_of(client)
    pairs = [
        ("get", "/api/v1/batches/{}", other_batch, {}),
        ("get", "/api/v1/batches/{}/quarantine", other_batch, {}),
        ("post", "/api/v1/batches/{}/status", other_batch, {"json": {"status": "validated"}}),
        ("patch", "/api/v1/quarantine/{}", other_row, {"json": {"fields": {"codigo": "X"}}}),
    ]
    for method, path, other, kw in pairs:
        a = getattr(client, method)(path.format(other), headers=h, **kw)
        b = getattr(client, method)(path.format(MISSING), headers=h, **kw)
        assert a.status_code == b.status_code == 404, path
        ja, jb = a.json(), b.json()
        ja.pop("instance"), jb.pop("instance")
        assert ja == jb, path
        assert ja["detail"] in ("Batch not found.", "Quarantined row not found.")
    # a quarantined row of another agency does not name its batch
    r = client.patch(f"/api/v1/quarantine/{other_row}", json={"fields": {"codigo": "X"}}, headers=h)
    assert r.json()["detail"] == "Quarantined row not found."
    # the portal's pages: the same page for both, in the user's language
    forms = [
        ("get", "/data/batches/{}", other_batch, {}),
        ("get", "/data/batches/{}/reject", other_batch, {}),
        (
            "post",
            "/data/batches/{}/status",
            other_batch,
            {"data": {"csrf_token": token, "status": "rejected", "confirm": "yes"}},
        ),
        (
            "post",
            "/data/quarantine/{}",
            other_row,
            {"data": {"csrf_token": token, "field:codigo": "X", "action": "correct"}},
        ),
    ]
    for method, path, other, kw in forms:
        a = getattr(client, method)(path.format(other) + "?lang=es", **kw)
        b = getattr(client, method)(path.format(MISSING) + "?lang=es", **kw)
        assert a.status_code == b.status_code == 404, path
        assert _main(a.text) == _main(b.text), path
    assert "Fila en cuarentena no encontrada." in _main(a.text)
    # sources: another agency's source is unknown, like a source that does not exist
    a = client.get("/classification?assist_source=policia_metropolitana&assist_code=X")
    b = client.get("/classification?assist_source=nope&assist_code=X")
    assert a.status_code == b.status_code == 404
    assert _main(a.text) == _main(b.text) and "Source not found." in a.text
    listed = client.get("/api/v1/batches", params={"source": "policia_metropolitana"}).json()
    assert listed["items"] == [] == client.get("/api/v1/batches?source=nope").json()["items"]
    # nothing was changed by any of those requests
    with seeded[0].connect() as conn:
        status = conn.execute(select(Batch.status).where(Batch.id == other_batch)).scalar_one()
        raw = conn.execute(select(QuarantineRow.raw).where(QuarantineRow.id == other_row)).scalar()
    assert status == "received" and json.loads(raw)["codigo"] == "HOM-01"


# --- quarantine reasons as sentences ----------------------------------------------------------


def test_quarantine_reasons_read_as_sentences(client, seeded):
    engine, seed = seeded
    batch = seed.pn_batches[1]
    _row(
        engine,
        batch,
        7,
        {"id": "x", "fecha": "2024-13-01", "codigo": "DRG-77"},
        [
            {"field": "incident.occurred_from", "column": "fecha", "value": "2024-13-01",
             "rule": "invalid_date"},
            _unknown("DRG-77"),
            {"field": "incident.area_code", "column": "municipio", "value": "NULL",
             "rule": "required"},
        ],
    )  # fmt: skip
    assert login(client, "pn_steward").status_code == 303
    html = client.get(f"/data/batches/{batch}").text
    assert '<mark class="field">fecha</mark>' in html
    assert "is not a valid date: <q>2024-13-01</q>." in html
    assert "holds an offence code that is not in the crosswalk: <q>DRG-77</q>." in html
    assert '<mark class="field">municipio</mark>' in html and "is required but empty." in html
    assert "{&#34;" not in html and '{"field"' not in html  # no raw JSON
    es = client.get(f"/data/batches/{batch}?lang=es").text
    assert "no es una fecha válida: <q>2024-13-01</q>." in es
    assert "es obligatorio pero está vacío." in es
    # plain-text reasons keep their words, with the field highlighted
    first = client.get(f"/data/batches/{seed.pn_batches[0]}").text
    assert '<mark class="field">fecha</mark>: invalid value &#39;2024-13-01&#39;' in first


def test_reason_markup_is_escaped(client, seeded):
    engine, seed = seeded
    batch = seed.pn_batches[1]
    _row(
        engine,
        batch,
        8,
        {"codigo": "<b>x</b>"},
        [{"field": "offence.national_code", "column": "<i>c</i>", "value": "<script>",
          "rule": "unknown_code"}],
    )  # fmt: skip
    assert login(client, "pn_steward").status_code == 303
    html = client.get(f"/data/batches/{batch}").text
    assert "<script>" not in html.split("<main", 1)[1] and "&lt;script&gt;" in html
    assert "<i>c</i>" not in html and "&lt;i&gt;c&lt;/i&gt;" in html


# --- unknown codes from quarantine on the classification page --------------------------------


def test_classification_lists_unknown_codes_from_quarantine(client, seeded):
    engine, seed = seeded
    for n in range(3):
        _row(engine, seed.pn_batches[1], 10 + n, {"codigo": "DRG-77"}, [_unknown("DRG-77")])
    _row(engine, seed.pn_batches[2], 20, {"codigo": "DRG-77"}, [_unknown("DRG-77")])
    _row(engine, seed.pm_batches[0], 30, {"codigo": "PM-55"}, [_unknown("PM-55")])
    # not listed: a dropped row, and a row of a batch that is no longer current
    dropped = _row(engine, seed.pn_batches[1], 40, {"codigo": "GONE-1"}, [_unknown("GONE-1")])
    with engine.begin() as conn:
        conn.execute(
            update(QuarantineRow).where(QuarantineRow.id == dropped).values(status="dropped")
        )
        old = conn.execute(
            insert(Batch)
            .values(
                source_code="policia_nacional",
                period_start=dt.date(2023, 12, 1),
                period_end=dt.date(2023, 12, 31),
                status="rejected",
                rows_read=1,
                rows_accepted=0,
                rows_quarantined=1,
                rows_duplicate=0,
            )
            .returning(Batch.id)
        ).scalar_one()
    _row(engine, old, 2, {"codigo": "OLD-9"}, [_unknown("OLD-9")])

    assert login(client, "pn_steward").status_code == 303
    html = client.get("/classification").text
    assert 'id="quarantined-codes"' in html
    section = html.split('id="quarantined-codes"', 1)[1].split("</table>", 1)[0]
    assert "<code>DRG-77</code></td><td>policia_nacional</td>" in section
    assert '<td class="num">4</td><td class="num">2</td>' in section  # 4 rows in 2 batches
    assert "PM-55" not in section and "GONE-1" not in section and "OLD-9" not in section
    link = "/classification?assist_source=policia_nacional&amp;assist_code=DRG-77#assist"
    assert link in section
    # the link opens the mapping assistant for that code
    page = client.get("/classification?assist_source=policia_nacional&assist_code=DRG-77")
    assert page.status_code == 200
    assist = page.text.split('id="assist"', 1)[1]
    assert "DRG-77" in assist and 'name="national_code" value="DRG-77"' in assist
    assert 'action="/classification/mappings"' in assist
    # a description gives suggestions
    page = client.get(
        "/classification",
        params={
            "assist_source": "policia_nacional",
            "assist_code": "DRG-77",
            "assist_label": "Homicidio",
        },
    )
    assert 'name="choice" value="0101' in page.text.split('id="assist"', 1)[1]
    # Spanish
    es = client.get("/classification?lang=es").text
    assert "Códigos desconocidos en cuarentena" in es and "Asignar con el asistente" in es
    # an analyst sees every agency's codes
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert login(client, "ana").status_code == 303
    section = client.get("/classification").text.split('id="quarantined-codes"', 1)[1]
    assert "PM-55" in section and "DRG-77" in section


# --- the administrator's page -----------------------------------------------------------------


def test_new_user_form_defaults_to_the_least_privileged_role(client, seeded):
    engine, _ = seeded
    assert login(client, "admin").status_code == 303
    html = client.get("/admin").text
    select_ = html.split('<select id="nr" name="role">', 1)[1].split("</select>", 1)[0]
    selected = re.findall(r'<option value="(\w+)" selected>', select_)
    assert selected == ["viewer"]
    # a form posted without a role creates a viewer
    r = client.post(
        "/admin/users",
        data={"csrf_token": csrf_of(client), "username": "quiet", "password": "p" * 12},
        follow_redirects=False,
    )
    assert r.status_code == 303
    from talaia.store.models import AppUser

    with engine.connect() as conn:
        role = conn.execute(select(AppUser.role_code).where(AppUser.username == "quiet"))
        assert role.scalar_one() == "viewer"


def _events(engine: Engine) -> None:
    rows = []
    for k in range(130):
        rows.append(
            {
                "at": dt.datetime(2024, 1, 1, 9, 30) + dt.timedelta(days=k),
                "username": "ana" if k % 2 else "pn_steward",
                "action": "batch.status" if k % 3 else "quarantine.correct",
                "object_type": "batch" if k % 3 else "quarantine_row",
                "object_id": str(k),
                "detail": json.dumps({"from": "validated", "to": "approved"})
                if k % 3
                else json.dumps({"codigo": {"from": "ZZZ", "to": "HOM-01"}, "note": ["a", "b"]}),
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(AuditEvent), rows)


def _audit_rows(html: str) -> list[str]:
    body = html.split('id="audit"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def test_audit_log_filtered_paged_and_readable(client, seeded):
    engine, _ = seeded
    _events(engine)
    assert login(client, "admin").status_code == 303
    html = client.get("/admin").text
    rows = _audit_rows(html)
    assert len(rows) == 50  # one page
    assert 'class="pager"' in html and "offset=50" in html
    # unambiguous UTC times, labelled
    assert '<time datetime="2024-04-01T09:30:00Z">2024-04-01 09:30:00 UTC</time>' in html
    assert "When (UTC)" in html
    # readable details: no JSON
    assert "validated → approved" in html and "ZZZ → HOM-01" in html and "a, b" in html
    assert "{&#34;" not in html
    # filters: user, action, object, date range
    r = client.get(
        "/admin",
        params={
            "user": "ana",
            "action": "batch.status",
            "object": "batch",
            "date_from": "2024-01-10",
            "date_to": "2024-01-20",
        },
    )
    rows = _audit_rows(r.text)
    # days 9..19 (Jan 10..20), odd (ana), not a multiple of 3 (batch.status)
    expected = [k for k in range(9, 20) if k % 2 and k % 3]
    assert [int(re.search(r"batch (\d+)</a>", x).group(1)) for x in rows] == expected[::-1]
    assert all("ana" in x for x in rows)
    assert '<option value="ana" selected>' in r.text
    r = client.get("/admin", params={"object": "quarantine_row", "object_id": "3"})
    assert len(_audit_rows(r.text)) == 1
    # the pages keep the filters: 65 events of ana, 50 then 15
    r = client.get("/admin", params={"user": "ana"})
    assert len(_audit_rows(r.text)) == 50 and "user=ana&amp;offset=50" in r.text
    r = client.get("/admin", params={"user": "ana", "offset": "50"})
    rows = _audit_rows(r.text)
    assert len(rows) == 15 and all("<td>ana</td>" in x for x in rows)
    assert "51–65 of 65" in r.text
    r = client.get("/admin", params={"user": "nobody"})
    assert "No audit events match." in r.text
    # Spanish: the same digits, labelled UTC
    es = client.get("/admin?lang=es").text
    assert "2024-05-09 09:30:00 UTC" in es and "Hasta (fecha UTC)" in es
    # a bad date is a clear error, not a traceback
    r = client.get("/admin", params={"date_from": "yesterday"})
    assert r.status_code == 422 and "YYYY-MM-DD" in r.text
