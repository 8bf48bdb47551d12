"""Log in, log out, language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from talaia.web.i18n import LANGUAGES
from talaia.web.pages.render import redirect, render, safe_next
from talaia.web.portal import Portal, PortalDep, PrincipalDep, TranslatorDep
from talaia.web.security import CSRF_COOKIE, LANG_COOKIE, SESSION_COOKIE
from talaia.web.services import users

router = APIRouter()


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_form(
    request: Request, portal: PortalDep, principal: PrincipalDep, t: TranslatorDep, next: str = "/"
) -> Response:
    return render(
        request,
        portal,
        principal,
        t,
        "login.html",
        active="login",
        title=t.gettext("Log in"),
        next=safe_next(next),
    )


@router.post("/login")
def login(
    request: Request,
    portal: PortalDep,
    principal: PrincipalDep,
    t: TranslatorDep,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    ip = client_ip(request)
    wait, ticket = portal.limiter.reserve(username, ip)
    if wait:
        response = render(
            request,
            portal,
            principal,
            t,
            "login.html",
            active="login",
            title=t.gettext("Log in"),
            status_code=429,
            next=safe_next(next),
            username=username,
            error=t.gettext(
                "Too many failed attempts. Try again in {minutes} minutes.",
                minutes=max(1, (wait + 59) // 60),
            ),
        )
        response.headers["Retry-After"] = str(wait)
        return response
    assert ticket is not None
    try:
        check = users.check_login(portal.engine, username, password)
        typed = portal.signer.keyed_digest("login.username", username.strip())
        users.record_login(portal.engine, check, ip, typed)
    except BaseException:
        portal.limiter.release(username, ip, ticket)  # not checked: not a failure
        raise
    user = check.user
    if user is None:  # the reserved attempt stays counted as a failure
        return render(
            request,
            portal,
            principal,
            t,
            "login.html",
            active="login",
            title=t.gettext("Log in"),
            status_code=401,
            next=safe_next(next),
            username=username,
            error=t.gettext("Wrong username or password."),
        )
    portal.limiter.succeeded(username, ip)
    response = redirect(safe_next(next))
    response.set_cookie(
        SESSION_COOKIE,
        portal.signer.issue(user.id),
        max_age=portal.web.session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=portal.web.cookie_secure,
        path="/",
    )
    _new_csrf_cookie(response, portal)
    return response


def _new_csrf_cookie(response: Response, portal: Portal) -> None:
    """A new CSRF cookie at login and logout: tokens issued before it stop working."""
    response.set_cookie(
        CSRF_COOKIE,
        portal.signer.new_csrf_cookie(),
        httponly=True,
        samesite="lax",
        secure=portal.web.cookie_secure,
        path="/",
    )


@router.post("/logout")
def logout(request: Request, portal: PortalDep, principal: PrincipalDep) -> Response:
    sid = getattr(request.state, "session_id", None)
    if sid:
        portal.revoke(sid)
        users.record(portal.engine, principal, "logout", "app_user", principal.user_id)
    response = redirect("/")
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=portal.web.cookie_secure
    )
    _new_csrf_cookie(response, portal)
    return response


@router.get("/lang/{code}")
def switch_language(code: str, portal: PortalDep, next: str = "/") -> Response:
    """Remember the chosen language (a preference cookie, one year) and go back."""
    response = redirect(safe_next(next))
    if code in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            code,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=portal.web.cookie_secure,
            path="/",
        )
    return response
