"""The FastAPI application: pages, the JSON API under ``/api/v1`` and the packaged assets.

:func:`create_app` builds one application around one store. Everything the browser loads is
served from the installed package (CSS, the SVG maps drawn on the server, Plotly's official
cartesian bundle vendored under ``static/vendor``); a Content-Security-Policy of ``'self'`` makes
the browser refuse anything else. The interactive Swagger/ReDoc pages are off because they load
from a CDN; the OpenAPI description is at ``/api/v1/openapi.json``.

Around the application, two pure ASGI middlewares:

- :class:`PortalMiddleware` (outermost) refuses a ``Host`` that is not allowed (400), adds the
  security headers, ``Cache-Control: no-store`` to every answer to a request with credentials
  (and to every answer that sets a session), and gives a browser without one its CSRF cookie.
- :class:`RequestGuardMiddleware` enforces the body size limits before and while the body is
  read (413), and checks the caller of an upload (logged in, allowed, CSRF token) before its
  body is parsed.

Static assets (:class:`StaticAssets`) are kept in memory, gzip-compressed once, with versioned
URLs (``?v=<content hash>``) cached for a year and unversioned ones for an hour.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import mimetypes
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from talaia import __version__
from talaia.errors import DataError, NotFoundError, StoreBusyError, TalaiaError, UserInputError
from talaia.settings import Settings, get_settings
from talaia.web.cache import ResponseCacheMiddleware
from talaia.web.config import WebSettings, normalize_host
from talaia.web.i18n import translator
from talaia.web.portal import (
    CsrfError,
    InvalidCredentialsError,
    Portal,
    check_credentials,
    csrf_protect,
    csrf_token_valid,
    get_lang,
    get_principal,
    make_templates,
    page_context,
    resolve_principal,
)
from talaia.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    LoginRateLimiter,
    SessionSigner,
    request_cookies,
)


def _(message: str) -> str:
    """Marks ``message`` for the Spanish catalogue; it is translated where it is shown."""
    return message


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
#: Browser features the portal never uses, refused to every page (and anything it embeds).
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), display-capture=(), serial=(), hid=(), "
    "publickey-credentials-get=(), screen-wake-lock=(), xr-spatial-tracking=()"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", PERMISSIONS_POLICY.encode()),
]
#: Answers to requests with credentials (and answers that set a session) are never stored.
NO_STORE = b"no-store"
#: The endpoints that take a file: their body may be as large as ``max_upload_bytes``.
UPLOAD_PATHS = frozenset({"/data/upload", "/api/v1/uploads"})
#: Room for the upload form's other fields and the multipart framing around the file.
MULTIPART_OVERHEAD = 64 * 1024
#: How much of an upload's body is read to find the form's CSRF token (its first field).
CSRF_PEEK_BYTES = 64 * 1024


class PortalMiddleware:
    """Pure ASGI middleware, outermost: the ``Host`` check, security headers on every response,
    ``Cache-Control: no-store`` for requests with credentials, and the CSRF cookie.

    A request whose ``Host`` is not one of ``allowed_hosts`` gets 400 before anything else runs.
    A browser without a valid signed CSRF cookie gets a new one; the request sees it in
    ``scope["talaia_csrf_cookie"]`` so that the page it renders carries the matching token.
    """

    def __init__(
        self, app: ASGIApp, signer: SessionSigner, secure: bool, allowed_hosts: frozenset[str]
    ) -> None:
        self.app = app
        self.signer = signer
        self.secure = secure
        self.allowed_hosts = allowed_hosts
        self.any_host = "*" in allowed_hosts

    def host_allowed(self, scope: Scope) -> bool:
        if self.any_host:
            return True
        for name, value in scope.get("headers", ()):
            if name == b"host":
                return normalize_host(value.decode("latin-1")) in self.allowed_hosts
        return True  # HTTP/1.0 without Host: links are relative, nothing is built from it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.host_allowed(scope):
            body = b"Unknown host name. / Nombre de servidor desconocido.\n"
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                        (b"cache-control", NO_STORE),
                        *SECURITY_HEADERS,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        cookies = request_cookies(scope)
        cookie = cookies.get(CSRF_COOKIE)
        new_cookie = None
        if self.signer.csrf_seed(cookie) is None:
            cookie = new_cookie = self.signer.new_csrf_cookie()
        scope["talaia_csrf_cookie"] = cookie
        credentials = SESSION_COOKIE in cookies or any(
            k == b"authorization" for k, _v in scope.get("headers", ())
        )
        static = scope["path"].startswith("/static/")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                sets_session = any(
                    k == b"set-cookie" and v.startswith(SESSION_COOKIE.encode() + b"=")
                    for k, v in headers
                )
                if sets_session or (credentials and not static):
                    headers = [(k, v) for k, v in headers if k != b"cache-control"]
                    headers.append((b"cache-control", NO_STORE))
                if new_cookie is not None and not any(
                    k == b"set-cookie" and v.startswith(CSRF_COOKIE.encode() + b"=")
                    for k, v in headers
                ):
                    attrs = f"{CSRF_COOKIE}={new_cookie}; Path=/; HttpOnly; SameSite=Lax"
                    if self.secure:
                        attrs += "; Secure"
                    headers.append((b"set-cookie", attrs.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)


class BodyTooLargeError(Exception):
    """The request body went past its limit while it was read (answered 413)."""


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return value
    return None


class RequestGuardMiddleware:
    """Pure ASGI middleware: request body limits and the upload endpoints' early checks.

    - A ``Content-Length`` above the limit is answered 413 before any of the body is read; a
      body without one (chunked) is counted while the application reads it, and 413 is
      answered as soon as it goes past the limit.
    - The limit is ``max_upload_bytes`` (plus the form's framing) for ``POST`` to the upload
      endpoints and ``max_body_bytes`` for every other request.
    - ``POST`` to an upload endpoint: the caller must be logged in (or hold a valid bearer
      token) with a role that uploads, and a browser must send its CSRF token in the
      ``X-CSRF-Token`` header or as the form's first field; otherwise 401/403, after reading at
      most :data:`CSRF_PEEK_BYTES` of the body.
    """

    def __init__(self, app: ASGIApp, portal: Portal) -> None:
        self.app = app
        self.portal = portal

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, detail: str, **params: object
    ) -> None:
        request = Request(scope, receive)
        response = _error(request, status, detail, params=params)
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        web = self.portal.web
        upload = scope["method"] == "POST" and scope["path"].rstrip("/") in UPLOAD_PATHS
        limit = web.max_upload_bytes + MULTIPART_OVERHEAD if upload else web.max_body_bytes
        too_large = (
            (_("The file is too large: at most {mib} MiB."), {"mib": web.max_upload_bytes >> 20})
            if upload
            else (_("The request is too large: at most {kib} KiB."), {"kib": limit >> 10})
        )
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                await self._refuse(scope, receive, send, 400, _("Invalid Content-Length header."))
                return
            if int(length) > limit:
                await self._refuse(scope, receive, send, 413, too_large[0], **too_large[1])
                return
        if upload:
            checked = await self._check_upload(scope, receive, send)
            if checked is None:
                return
            receive = checked

        received = 0
        responded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, responded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started and not responded:
                        responded = True
                        await self._refuse(scope, receive, send, 413, too_large[0], **too_large[1])
                    raise BodyTooLargeError()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if responded:
                return  # the 413 has been sent: whatever the application says is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not responded:
                raise

    async def _check_upload(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """The receive callable to go on with, or None when the upload was refused."""
        portal = self.portal
        try:
            principal, session_id = await anyio.to_thread.run_sync(resolve_principal, scope, portal)
        except InvalidCredentialsError:
            await self._refuse(scope, receive, send, 401, INVALID_TOKEN)
            return None
        state = scope.setdefault("state", {})
        state["principal"] = principal
        if session_id is not None:
            state["session_id"] = session_id
        if principal.via == "token":
            state["bearer"] = True
        if not principal.authenticated:
            await self._refuse(scope, receive, send, 401, _("Log in to see this page."))
            return None
        if not principal.can_upload():
            await self._refuse(scope, receive, send, 403, _("Your role does not allow this."))
            return None
        if principal.via == "token":
            return receive  # bearer clients carry no cookies and need no CSRF token
        token_header = _header(scope, CSRF_HEADER.encode())
        buffered: list[Message] = []
        if token_header is not None:
            token: str | None = token_header.decode("latin-1")
        else:
            token, buffered = await _peek_csrf_field(scope, receive)
        if not csrf_token_valid(scope, portal, token):
            await self._refuse(scope, receive, send, 403, CSRF_EXPIRED)
            return None
        if not buffered:
            return receive

        async def replay() -> Message:
            if buffered:
                return buffered.pop(0)
            return await receive()

        return replay


async def _peek_csrf_field(scope: Scope, receive: Receive) -> tuple[str | None, list[Message]]:
    """The value of a multipart body's first field when it is ``csrf_token`` (else None), and
    the messages read to find it (to be replayed to the application)."""
    ctype = (_header(scope, b"content-type") or b"").decode("latin-1")
    boundary = None
    if ctype.lower().startswith("multipart/form-data"):
        for param in ctype.split(";")[1:]:
            key, _sep, value = param.strip().partition("=")
            if key.lower() == "boundary":
                boundary = value.strip('"')
    messages: list[Message] = []
    if not boundary:
        return None, messages
    delimiter = b"--" + boundary.encode("latin-1")
    data = b""
    more = True
    while more and len(data) < CSRF_PEEK_BYTES:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        data += message.get("body", b"")
        more = bool(message.get("more_body", False))
        start = data.find(delimiter + b"\r\n")
        if start < 0:
            continue
        head_end = data.find(b"\r\n\r\n", start)
        if head_end < 0:
            continue
        end = data.find(b"\r\n" + delimiter, head_end + 4)
        if end < 0:
            continue
        head = data[start + len(delimiter) + 2 : head_end].decode("latin-1").lower()
        disposition = next(
            (h for h in head.split("\r\n") if h.startswith("content-disposition:")), ""
        )
        params = {
            k.strip(): v.strip().strip('"')
            for k, _sep, v in (p.partition("=") for p in disposition.split(";")[1:])
        }
        if params.get("name") == CSRF_FIELD and "filename" not in params:
            return data[head_end + 4 : end].decode("latin-1").strip(), messages
        return None, messages
    return None, messages


#: The CSRF refusal's message (also used by the exception handler).
CSRF_EXPIRED = _(
    "The form has expired or did not come from this site. Reload the page and try again."
)
#: An ``Authorization`` header that is not a valid token.
INVALID_TOKEN = _("The API token is not valid: unknown, revoked or expired.")


def _problem(status: int, title: str, detail: str, request: Request, **extra: object) -> Response:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else {}
    if status == 401 and detail == INVALID_TOKEN:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
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


def _error(
    request: Request,
    status: int,
    detail: str,
    *,
    params: dict[str, object] | None = None,
    **extra: object,
) -> Response:
    """problem+json for the API, an HTML page (in the user's language) for the portal.

    ``detail`` is an English message of the catalogue, with ``{name}`` placeholders filled
    from ``params`` (after translation, for the pages)."""
    title = _TITLES.get(status, "Error")
    params = params or {}
    if request.url.path.startswith("/api/"):
        return _problem(status, title, detail.format(**params), request, **extra)
    portal: Portal = request.app.state.portal
    from talaia.web.services.common import ANONYMOUS

    try:
        principal = get_principal(request, portal)
    except Exception:  # an invalid token, no store: the error page renders for the public
        principal = ANONYMOUS
    try:
        lang = get_lang(request, portal)
    except Exception:  # pragma: no cover - the error page must render whatever happened
        lang = "en"
    t = translator(lang)
    ctx = page_context(
        request, portal, principal, t, "", t.gettext(title), detail=t.gettext(detail, **params)
    )
    if status == 401 and detail != INVALID_TOKEN:
        from urllib.parse import quote

        return Response(
            status_code=303, headers={"Location": "/login?next=" + quote(request.url.path)}
        )
    response = portal.templates.TemplateResponse(request, "error.html", ctx, status_code=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(CsrfError)
    async def _csrf(request: Request, exc: CsrfError) -> Response:
        return _error(request, 403, CSRF_EXPIRED)

    @app.exception_handler(InvalidCredentialsError)
    async def _token(request: Request, exc: InvalidCredentialsError) -> Response:
        return _error(request, 401, INVALID_TOKEN)

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
    """Compute the public home page in both languages (fills the headline cache), then the
    public release of every indicator without breakdown (what area pages and maps read)."""
    from talaia.web.services import indicators
    from talaia.web.services.common import ANONYMOUS

    for lang in ("en", "es"):
        try:
            indicators.headline(portal, ANONYMOUS, lang)
        except TalaiaError:
            return
    indicators.warm_release(portal, ANONYMOUS)


def plotly_js_path(bundle: str = "cartesian") -> Path:
    """Plotly's JavaScript: the official cartesian bundle vendored in the package (the traces
    the portal draws: scatter, heatmap, bar...), or the installed ``plotly`` package's full
    bundle."""
    if bundle == "full":
        return Path(str(resources.files("plotly").joinpath("package_data", "plotly.min.js")))
    return Path(str(resources.files("talaia.web").joinpath(*PLOTLY_VENDORED)))


#: Where the vendored Plotly bundle is, under the package (see ``static/vendor/SOURCES.md``).
PLOTLY_VENDORED = ("static", "vendor", "plotly-cartesian.min.js")
#: The URL path (under ``/static/``) the pages load Plotly from.
PLOTLY_URL_PATH = "vendor/plotly.min.js"
#: Cache-Control of a versioned asset URL (``?v=`` the current content hash) and of others.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=3600"
#: Asset suffixes worth compressing (text); images such as PNG are already compressed.
COMPRESSIBLE = frozenset({".css", ".js", ".svg", ".json", ".txt", ".html", ".map", ".md"})


@dataclass(frozen=True, slots=True)
class Asset:
    """One packaged file in memory: its bytes, their gzip, type, content hash, modification."""

    body: bytes
    gzipped: bytes | None
    media_type: str
    version: str
    last_modified: str
    stat_key: tuple[int, int]


def accepts_gzip(header: str | None) -> bool:
    """True when an ``Accept-Encoding`` value accepts gzip (``gzip`` or ``*``, ``q`` > 0)."""
    if not header:
        return False
    for item in header.split(","):
        coding, *params = (p.strip() for p in item.split(";"))
        if coding.lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = 1.0
        for param in params:
            key, _sep, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


class StaticAssets:
    """The files under ``static/`` (and aliases such as the Plotly bundle), read once, kept in
    memory with their gzip (compressed once, level 9) and a content hash that versions their
    URL; a file changed on disk is read again."""

    def __init__(self, root: Path, aliases: dict[str, Path], compress: bool) -> None:
        self._root = root.resolve()
        self._aliases = aliases
        self._compress = compress
        self._assets: dict[str, Asset] = {}
        self._lock = threading.Lock()

    def _file(self, path: str) -> Path | None:
        if path in self._aliases:
            return self._aliases[path]
        if not path or path.startswith("/") or "\\" in path or "\0" in path:
            return None
        candidate = (self._root / path).resolve()
        if self._root not in candidate.parents or not candidate.is_file():
            return None
        return candidate

    def get(self, path: str) -> Asset | None:
        """The asset at ``path`` (relative to ``/static/``), or None."""
        file = self._file(path)
        if file is None:
            return None
        try:
            st = file.stat()
        except OSError:
            return None
        key = (st.st_mtime_ns, st.st_size)
        hit = self._assets.get(path)
        if hit is not None and hit.stat_key == key:
            return hit
        with self._lock:
            hit = self._assets.get(path)
            if hit is not None and hit.stat_key == key:
                return hit
            body = file.read_bytes()
            gzipped = None
            if self._compress and file.suffix.lower() in COMPRESSIBLE and len(body) > 256:
                gzipped = gzip.compress(body, compresslevel=9, mtime=0)
                if len(gzipped) >= len(body):
                    gzipped = None
            media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            if file.suffix.lower() in (".js", ".mjs"):
                media_type = "text/javascript"
            asset = Asset(
                body,
                gzipped,
                media_type,
                hashlib.sha256(body).hexdigest()[:12],
                email.utils.formatdate(st.st_mtime, usegmt=True),
                key,
            )
            self._assets[path] = asset
            return asset

    def url(self, path: str) -> str:
        """The versioned URL of an asset (``/static/<path>?v=<content hash>``)."""
        asset = self.get(path)
        return f"/static/{path}?v={asset.version}" if asset else f"/static/{path}"

    def response(self, path: str, request: Request) -> Response:
        asset = self.get(path)
        if asset is None:
            raise NotFoundError(f"no file {path!r} / no existe el archivo {path!r}")
        use_gzip = asset.gzipped is not None and accepts_gzip(
            request.headers.get("accept-encoding")
        )
        etag = f'"{asset.version}-gz"' if use_gzip else f'"{asset.version}"'
        versioned = request.query_params.get("v") == asset.version
        headers = {
            "cache-control": IMMUTABLE if versioned else REVALIDATE,
            "etag": etag,
            "last-modified": asset.last_modified,
        }
        if asset.gzipped is not None:
            headers["vary"] = "Accept-Encoding"
        match = request.headers.get("if-none-match")
        if match and (match.strip() == "*" or etag in (m.strip() for m in match.split(","))):
            return Response(status_code=304, headers=headers)
        if use_gzip:
            headers["content-encoding"] = "gzip"
        body = asset.gzipped if use_gzip and asset.gzipped is not None else asset.body
        return Response(body, media_type=asset.media_type, headers=headers)


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
    static = Path(str(resources.files("talaia.web").joinpath("static")))
    assets = StaticAssets(
        static, {PLOTLY_URL_PATH: plotly_js_path(web.plotly_bundle)}, web.static_gzip
    )
    portal = Portal(
        settings=settings,
        web=web,
        engine=engine,
        signer=signer,
        limiter=LoginRateLimiter(web.login_max_failures, web.login_window_s),
        templates=make_templates(assets.url),
    )

    def _prepare_assets() -> None:
        for path in (PLOTLY_URL_PATH, "talaia.js", "talaia.css", "favicon.svg"):
            assets.get(path)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=_prepare_assets, name="assets", daemon=True).start()
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
        dependencies=[Depends(check_credentials), Depends(csrf_protect)],
    )
    app.state.portal = portal
    app.state.assets = assets
    _install_errors(app)

    @app.api_route(
        "/static/{path:path}", methods=["GET", "HEAD"], name="static", include_in_schema=False
    )
    def static_asset(path: str, request: Request) -> Response:
        return assets.response(path, request)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> HTMLResponse:
        return HTMLResponse("ok")

    from talaia.web.api import router as api_router
    from talaia.web.pages import router as pages_router

    app.include_router(api_router, prefix="/api/v1")
    app.include_router(pages_router)

    # inside out: the response cache, then the guard (limits, uploads), then PortalMiddleware
    # (added last = outermost), so every answer, cached or refused, gets the security headers
    if web.response_cache:
        app.add_middleware(ResponseCacheMiddleware, portal=portal)
    app.add_middleware(RequestGuardMiddleware, portal=portal)
    app.add_middleware(
        PortalMiddleware,
        signer=signer,
        secure=web.cookie_secure,
        allowed_hosts=web.host_names(),
    )
    return app
