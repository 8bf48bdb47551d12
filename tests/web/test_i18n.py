"""English and Spanish: every message has a Spanish translation, pages switch language, numbers
and dates follow the locale."""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources
from pathlib import Path

from talaia.web.i18n import DYNAMIC_MESSAGES, catalogue, negotiate, translator
from talaia.web.portal import NAV
from talaia.web.services.common import ROLE_DESCRIPTIONS, ROLE_NAMES

WEB = Path(str(resources.files("talaia.web")))
_CALL = re.compile(r"""(?:\b_|gettext)\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def _messages() -> set[str]:
    found: set[str] = set()
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        for m in _CALL.finditer(path.read_text(encoding="utf-8")):
            found.add(m.group(1) if m.group(1) is not None else m.group(2))
    found |= set(DYNAMIC_MESSAGES) | set(ROLE_NAMES.values()) | set(ROLE_DESCRIPTIONS.values())
    found |= {label for _, label, _, _ in NAV}
    return found


def test_every_message_has_a_spanish_translation():
    es = catalogue("es")
    messages = _messages()
    assert len(messages) > 100
    missing = sorted(m for m in messages if not es.get(m))
    assert missing == []
    # placeholders survive translation
    for m in messages:
        assert set(re.findall(r"{\w+}", m)) == set(re.findall(r"{\w+}", es[m])), m


def test_numbers_and_dates_follow_the_locale():
    en, es = translator("en"), translator("es")
    assert en.number(12345.678, 1) == "12,345.7"
    assert es.number(12345.678, 1) == "12.345,7"
    assert en.number(None) == "no data" and es.number(None) == "sin datos"
    assert es.percent(0.256) == "25,6 %" or es.percent(0.256) == "25,6\xa0%"
    assert en.date(dt.date(2024, 3, 5)) == "5 Mar 2024"
    assert es.date(dt.date(2024, 3, 5)) == "5 mar 2024"


def test_accept_language_negotiation():
    assert negotiate("es-CO,es;q=0.9,en;q=0.8") == "es"
    assert negotiate("fr-FR,en;q=0.5,es;q=0.7") == "es"
    assert negotiate("fr") == "en"
    assert negotiate(None, "es") == "es"


def test_language_switch_on_every_page(client):
    for path in ("/", "/areas", "/classification", "/login"):
        html = client.get(path).text
        assert f'href="/lang/es?next={path.replace("/", "%2F")}"' in html, path
        assert '<html lang="en">' in html
    r = client.get("/lang/es?next=/classification", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/classification"
    html = client.get("/classification").text
    assert '<html lang="es">' in html
    assert "Explorador de la ICCS" in html and "Saltar al contenido principal" in html
    # ICCS titles in both languages: Spanish first, English as the other language
    assert "Actos que causan la muerte o que tienen la intención de causar la muerte" in html
    # off-site redirect targets are ignored
    r = client.get("/lang/en?next=//evil.example/x", follow_redirects=False)
    assert r.headers["location"] == "/"


def test_accept_language_picks_spanish_without_cookie(client):
    html = client.get("/", headers={"Accept-Language": "es-CO,es;q=0.9"}).text
    assert '<html lang="es">' in html and "Indicadores principales" in html
