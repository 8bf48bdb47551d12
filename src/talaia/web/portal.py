"""The portal's per-application state and the Annotated dependencies routes use."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from sqlalchemy import Engine

from talaia.settings import Settings
from talaia.web.config import WebSettings
from talaia.web.i18n import LANGUAGE_NAMES, LANGUAGES, Translator, translator
from talaia.web.maps import sparkline
from talaia.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    LoginRateLimiter,
    SessionSigner,
    request_cookies,
)
from talaia.web.services import tokens, users
from talaia.web.services.common import ANONYMOUS, ROLE_DESCRIPTIONS, ROLE_NAMES, Principal

DISCLOSURE_NOTES = {
    "unpublished": "Withheld: not yet published.",
    "suppressed": "Withheld: a small count, or a figure that would give one away by subtraction.",
    "ok": "",
}
UNIT_NAMES = {
    "rate_per_100k": "per 100,000",
    "count": "cases",
    "percent": "%",
    "ratio": "ratio",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class Portal:
    """Everything a request handler needs from the application."""

    settings: Settings
    web: WebSettings
    engine: Engine
    signer: SessionSigner
    limiter: LoginRateLimiter
    templates: Jinja2Templates
    revoked: dict[str, float] = field(default_factory=dict)

    def revoke(self, session_id: str) -> None:
        """Forget a session at logout (kept until it would have expired anyway)."""
        now = time.time()
        for sid, until in list(self.revoked.items()):
            if until < now:
                self.revoked.pop(sid, None)
        self.revoked[session_id] = now + self.web.session_max_age_s


def make_templates(asset_url: Any = None) -> Jinja2Templates:
    """The Jinja2 templates. ``url_for`` gives relative links (never built from the request's
    ``Host``); ``url_for('static', path=...)`` is ``asset_url(path)`` (a versioned URL)."""
    folder = resources.files("talaia.web").joinpath("templates")
    templates = Jinja2Templates(directory=str(folder))
    templates.env.autoescape = True
    templates.env.filters["pager_query"] = _pager_query

    @pass_context
    def url_for(context: dict, name: str, /, **params: Any) -> str:
        if name == "static" and asset_url is not None:
            return str(asset_url(str(params.get("path", ""))))
        request: Request = context["request"]
        return str(request.url_for(name, **params).path)

    templates.env.globals["url_for"] = url_for
    return templates


def _pager_query(params: object, offset: int) -> str:
    from urllib.parse import urlencode

    items = [(k, v) for k, v in params.multi_items() if k != "offset"]  # type: ignore[attr-defined]
    return urlencode([*items, ("offset", str(max(offset, 0)))])


def get_portal(request: Request) -> Portal:
    return request.app.state.portal


PortalDep = Annotated[Portal, Depends(get_portal)]


class InvalidCredentialsError(Exception):
    """An ``Authorization`` header that names no valid API token (HTTP 401, never the public
    view)."""


def _authorization(scope: Mapping[str, Any]) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return value.decode("latin-1")
    return None


def resolve_principal(scope: Mapping[str, Any], portal: Portal) -> tuple[Principal, str | None]:
    """``(principal, session id)`` of a request: the bearer token's API client, else the
    session's user, else the anonymous public. Raises :class:`InvalidCredentialsError` for an
    ``Authorization`` header that is not a valid bearer token (unknown, revoked, expired,
    another scheme). Reads the store (a thread, not the event loop)."""
    auth = _authorization(scope)
    if auth is not None:
        user = None
        if auth[:7].lower() == "bearer ":
            user = tokens.resolve_token(portal.engine, auth[7:])
        if user is None or not user.active:
            raise InvalidCredentialsError()
        return user.principal("token"), None
    session = portal.signer.read(request_cookies(scope).get(SESSION_COOKIE))
    if session is not None and session.session_id not in portal.revoked:
        user = users.get_user(portal.engine, session.user_id)
        if user is not None and user.active and not user.is_api_client:
            return user.principal("session"), session.session_id
    return ANONYMOUS, None


def get_principal(request: Request, portal: PortalDep) -> Principal:
    """The bearer token's API client, else the session's user, else the anonymous public."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    if _authorization(request.scope) is not None:
        request.state.bearer = True
    principal, session_id = resolve_principal(request.scope, portal)
    if session_id is not None:
        request.state.session_id = session_id
    request.state.principal = principal
    return principal


def check_credentials(request: Request, portal: PortalDep) -> None:
    """Every route: a request with an ``Authorization`` header is refused (401) unless it
    names a valid token, whether or not the route itself looks at the caller."""
    if _authorization(request.scope) is not None:
        get_principal(request, portal)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_lang(request: Request, portal: PortalDep) -> str:
    """The language: ``?lang=``, else the language cookie, else Accept-Language, else default."""
    from talaia.web.cache import resolve_lang

    return resolve_lang(request.scope, request_cookies(request.scope), portal.web.default_language)


LangDep = Annotated[str, Depends(get_lang)]


def get_translator(lang: LangDep) -> Translator:
    return translator(lang)


TranslatorDep = Annotated[Translator, Depends(get_translator)]


class CsrfError(Exception):
    """An unsafe request without a valid CSRF token."""


async def csrf_protect(request: Request, portal: PortalDep) -> None:
    """Refuse unsafe requests from browsers without the CSRF token (form field or header).

    Requests authenticated with a bearer token carry no ambient credentials and are exempt.
    """
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("authorization", "")[:7].lower() == "bearer ":
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
    if not csrf_token_valid(request.scope, portal, token):
        raise CsrfError()


def csrf_token_valid(scope: Mapping[str, Any], portal: Portal, token: str | None) -> bool:
    """``token`` is the CSRF token of this browser's CSRF cookie and of its session."""
    session_id = portal.signer.session_id(request_cookies(scope).get(SESSION_COOKIE))
    return portal.signer.csrf_valid(scope.get("talaia_csrf_cookie"), token, session_id)


def csrf_token_for(request: Request, portal: Portal) -> str:
    """The visitor's CSRF token; a placeholder while the public response cache renders a page
    it will store (:mod:`talaia.web.cache` puts each visitor's own token in its place)."""
    if request.scope.get("talaia_cache_fill"):
        from talaia.web.cache import CSRF_PLACEHOLDER

        return CSRF_PLACEHOLDER
    return csrf_token_for_scope(request.scope, portal)


def csrf_token_for_scope(scope: Mapping[str, Any], portal: Portal) -> str:
    """The token of the request's CSRF cookie, bound to its session (if any)."""
    seed = portal.signer.csrf_seed(scope.get("talaia_csrf_cookie"))
    if not seed:
        return ""
    session_id = portal.signer.session_id(request_cookies(scope).get(SESSION_COOKIE))
    return portal.signer.csrf_token(seed, session_id)


NAV = (
    ("/", "Home", "home", None),
    ("/indicators", "Indicators", "indicators", None),
    ("/areas", "Areas", "areas", None),
    ("/classification", "Classification", "classification", None),
    ("/analysis", "Crime analysis", "analysis", "analysis"),
    ("/data", "Data", "data", "data"),
    ("/admin", "Administration", "admin", "admin"),
)


def page_context(
    request: Request,
    portal: Portal,
    principal: Principal,
    t: Translator,
    active: str,
    title: str,
    **extra: object,
) -> dict[str, object]:
    nav = []
    for href, label, key, need in NAV:
        if need == "data" and not principal.can_read_data():
            continue
        if need == "analysis" and not principal.can_analyse():
            continue
        if need == "admin" and not principal.is_admin:
            continue
        nav.append((href, label, key))
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {
        "here": quote(here, safe=""),
        "request": request,
        "t": t,
        "_": t.gettext,
        "user": principal,
        "csrf_token": csrf_token_for(request, portal),
        "nav": nav,
        "active": active,
        "title": title,
        "languages": [(c, LANGUAGE_NAMES[c]) for c in LANGUAGES],
        "role_names": ROLE_NAMES,
        "role_descriptions": ROLE_DESCRIPTIONS,
        "disclosure_notes": DISCLOSURE_NOTES,
        "unit_names": UNIT_NAMES,
        "sparkline": sparkline,
        **extra,
    }
