"""The FastAPI application: pages, the JSON API under ``/api/v1`` and the packaged assets.

:func:`create_app` builds one application around one store. Everything the browser loads is
served from the installed package (CSS, the SVG maps drawn on the server, Plotly's JavaScript
from the installed ``plotly`` package); a Content-Security-Policy of ``'self'`` makes the browser
refuse anything else. The interactive Swagger/ReDoc pages are off because they load from a CDN;
the OpenAPI description is at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from talaia import __version__
from talaia.errors import DataError, NotFoundError, StoreBusyError, TalaiaError, UserInputError
from talaia.settings import Settings, get_settings
from talaia.web.cache import ResponseCacheMiddleware
from talaia.web.config import WebSettings
from talaia.web.i18n import translator
from talaia.web.portal import (
    CsrfError,
    Portal,
    csrf_protect,
    get_lang,
    get_principal,
    make_templates,
    page_context,
)
from talaia.web.security import CSRF_COOKIE, LoginRateLimiter, SessionSigner

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class PortalMiddleware:
    """Pure ASGI middleware: security headers on every response, and the CSRF cookie.

    A browser without a valid signed CSRF cookie gets a new one; the request sees it in
    ``scope["talaia_csrf_cookie"]`` so that the page it renders carries the matching token.
    """

    def __init__(self, app: ASGIApp, signer: SessionSigner, secure: bool) -> None:
        self.app = app
        self.signer = signer
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = None
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    k, _, v = part.strip().partition("=")
                    if k == CSRF_COOKIE:
                        cookie = v
        new_cookie = None
        if self.signer.csrf_seed(cookie) is None:
            cookie = new_cookie = self.signer.new_csrf_cookie()
        scope["talaia_csrf_cookie"] = cookie

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if new_cookie is not None:
                    attrs = f"{CSRF_COOKIE}={new_cookie}; Path=/; HttpOnly; SameSite=Lax"
                    if self.secure:
                        attrs += "; Secure"
                    headers.append((b"set-cookie", attrs.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)


def _problem(status: int, title: str, detail: str, request: Request, **extra: object) -> Response:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
}


def _error(request: Request, status: int, detail: str, **extra: object) -> Response:
    """problem+json for the API, an HTML page (in the user's language) for the portal."""
    title = _TITLES.get(status, "Error")
    if request.url.path.startswith("/api/"):
        return _problem(status, title, detail, request, **extra)
    portal: Portal = request.app.state.portal
    try:
        principal = get_principal(request, portal)
        lang = get_lang(request, portal)
    except Exception:  # pragma: no cover - the error page must render whatever happened
        from talaia.web.services.common import ANONYMOUS

        principal, lang = ANONYMOUS, "en"
    t = translator(lang)
    ctx = page_context(
        request, portal, principal, t, "", t.gettext(title), detail=t.gettext(detail)
    )
    if status == 401:
        from urllib.parse import quote

        return Response(
            status_code=303, headers={"Location": "/login?next=" + quote(request.url.path)}
        )
    return portal.templates.TemplateResponse(request, "error.html", ctx, status_code=status)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(CsrfError)
    async def _csrf(request: Request, exc: CsrfError) -> Response:
        return _error(
            request,
            403,
            "The form has expired or did not come from this site. Reload the page and try again.",
        )

    @app.exception_handler(PermissionError)
    async def _perm(request: Request, exc: PermissionError) -> Response:
        principal = getattr(request.state, "principal", None)
        if principal is None or not principal.authenticated:
            return _error(request, 401, "Log in to see this page.")
        return _error(request, 403, "Your role does not allow this.")

    @app.exception_handler(NotFoundError)
    async def _nf(request: Request, exc: NotFoundError) -> Response:
        return _error(request, 404, str(exc))

    @app.exception_handler(UserInputError)
    async def _ui(request: Request, exc: UserInputError) -> Response:
        return _error(request, 422, str(exc))

    @app.exception_handler(DataError)
    async def _de(request: Request, exc: DataError) -> Response:
        return _error(request, 422, str(exc))

    @app.exception_handler(StoreBusyError)
    async def _busy(request: Request, exc: StoreBusyError) -> Response:
        return _error(request, 503, str(exc))

    @app.exception_handler(TalaiaError)
    async def _te(request: Request, exc: TalaiaError) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _rv(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        if request.url.path.startswith("/api/"):
            return _problem(422, "Unprocessable content", detail, request, errors=errors)
        return _error(request, 422, detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(
            request,
            exc.status_code,
            str(exc.detail),
            **(
                {"retry_after": exc.headers["Retry-After"]}
                if exc.headers and "Retry-After" in exc.headers
                else {}
            ),
        )


def _warm(portal: Portal) -> None:
    """Compute the public home page in both languages (fills the headline cache)."""
    from talaia.web.services import indicators
    from talaia.web.services.common import ANONYMOUS

    for lang in ("en", "es"):
        try:
            indicators.headline(portal, ANONYMOUS, lang)
        except TalaiaError:
            return


def plotly_js_path() -> Path:
    """Plotly's JavaScript bundle from the installed ``plotly`` Python package."""
    return Path(str(resources.files("plotly").joinpath("package_data", "plotly.min.js")))


def create_app(
    settings: Settings | None = None,
    web: WebSettings | None = None,
    engine: Engine | None = None,
) -> FastAPI:
    """Build the portal.

    Parameters
    ----------
    settings
        Deployment settings (store URL, data folder, secret); default :func:`get_settings`.
    web
        Portal settings (sessions, rate limit, suppression); default from ``TALAIA_WEB_*``.
    engine
        An open store engine; default :func:`talaia.store.database.get_engine` on the settings'
        URL. The schema must be migrated (``talaia data init`` / ``upgrade``).
    """
    from talaia.store.database import get_engine

    settings = settings or get_settings()
    web = web or WebSettings()
    engine = engine or get_engine(settings.resolved_database_url())
    signer = SessionSigner(settings.resolved_secret_key(), web.session_max_age_s)
    portal = Portal(
        settings=settings,
        web=web,
        engine=engine,
        signer=signer,
        limiter=LoginRateLimiter(web.login_max_failures, web.login_window_s),
        templates=make_templates(),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if web.warm_cache:
            threading.Thread(target=_warm, args=(portal,), name="warm-cache", daemon=True).start()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="Talaia API",
        version=__version__,
        description="Crime and violence observatory: indicators, areas, ICCS, sources, batches.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(csrf_protect)],
    )
    app.state.portal = portal
    _install_errors(app)

    static = resources.files("talaia.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(
            plotly_js_path(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> HTMLResponse:
        return HTMLResponse("ok")

    from talaia.web.api import router as api_router
    from talaia.web.pages import router as pages_router

    app.include_router(api_router, prefix="/api/v1")
    app.include_router(pages_router)

    # the plotly route must win over the static mount: move the mount last
    app.router.routes.sort(key=lambda r: 1 if getattr(r, "name", "") == "static" else 0)
    # the response cache sits inside PortalMiddleware (added last = outermost), so cached
    # answers still get the security headers and the visitor's CSRF cookie
    if web.response_cache:
        app.add_middleware(ResponseCacheMiddleware, portal=portal)
    app.add_middleware(PortalMiddleware, signer=signer, secure=web.cookie_secure)
    return app
