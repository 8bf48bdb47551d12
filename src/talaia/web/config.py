"""Settings of the web portal (pydantic-settings, ``TALAIA_WEB_*`` environment variables).

The deployment-wide settings (data folder, store URL, secret) come from :mod:`talaia.settings`;
these are only what the portal adds: session lifetime, cookie security, login rate limits, the
small-count suppression threshold applied to what anonymous visitors see, the host names it
answers to and the request size limits.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Host names accepted by default: the loopback names (and ``testserver``, the test client's).
DEFAULT_ALLOWED_HOSTS = "localhost,127.0.0.1,[::1],testserver"


class WebSettings(BaseSettings):
    """The portal's settings.

    Attributes
    ----------
    session_max_age_s
        A session cookie older than this is refused and the user logs in again (default 8 h).
    cookie_secure
        Send cookies with ``Secure`` (HTTPS only). Defaults to True; set
        ``TALAIA_WEB_COOKIE_SECURE=0`` only to serve plain HTTP on a trusted loopback
        (``talaia serve`` does it when bound to 127.0.0.1).
    login_max_failures, login_window_s
        Login rate limit: after ``login_max_failures`` failed attempts for one (username,
        client IP) pair within ``login_window_s`` seconds, further attempts are refused (HTTP 429)
        until the oldest failure leaves the window. Kept in the server process memory: it resets
        on restart and is per process (run one worker, or a shared limiter in front of several).
    suppression_threshold
        Counts below this (and the rates computed from them) are suppressed for the public.
    page_size_max
        Largest page the API returns.
    analysis_max_events
        Crime analysis in the portal and the API refuses a selection of more incidents than this
        (the message asks for a narrower filter); ``talaia analyze`` has no such limit.
    analysis_max_permutations
        Most Monte Carlo permutations a web request may ask for (Gi*, Knox).
    warm_cache
        At start-up, compute the public home page in a background thread so that the first
        visitor does not wait for it (``talaia serve`` turns it on).
    response_cache
        Keep whole public answers in memory (:mod:`talaia.web.cache`); on by default,
        ``TALAIA_WEB_RESPONSE_CACHE=0`` turns it off (the benchmark's "before").
    allowed_hosts
        Comma-separated host names (without port) the portal answers to; a request whose
        ``Host`` header names another gets HTTP 400. ``*`` accepts any host (only behind a proxy
        that checks it). Default: the loopback names; ``talaia serve --host X`` adds ``X``.
    base_url
        Public address of the portal (``https://observatorio.example.org``), used where an
        absolute link is needed (the API's ``next`` links); unset, links are relative.
    max_body_bytes
        Largest request body accepted outside the upload endpoints (HTTP 413 beyond it).
    max_upload_bytes
        Largest file accepted by the upload endpoints (``/data/upload``, ``/api/v1/uploads``).
    static_gzip
        Send the packaged assets gzip-compressed to clients that accept it (compressed once and
        kept in memory); ``TALAIA_WEB_STATIC_GZIP=0`` turns it off (the benchmark's "before").
    plotly_bundle
        ``cartesian`` (default): the official partial Plotly bundle vendored in the package
        (scatter, bar, heatmap and the other 2-D traces the portal draws); ``full``: the whole
        bundle of the installed ``plotly`` package.
    """

    model_config = SettingsConfigDict(env_prefix="TALAIA_WEB_", extra="ignore")

    session_max_age_s: int = Field(default=8 * 3600, ge=60)
    cookie_secure: bool = True
    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: int = Field(default=900, ge=1)
    suppression_threshold: int = Field(default=5, ge=0)
    page_size_max: int = Field(default=500, ge=1)
    default_language: str = "en"
    warm_cache: bool = False
    response_cache: bool = True
    analysis_max_events: int = Field(default=100_000, ge=10)
    analysis_max_permutations: int = Field(default=199, ge=9)
    allowed_hosts: str = DEFAULT_ALLOWED_HOSTS
    base_url: str | None = None
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    static_gzip: bool = True
    plotly_bundle: Literal["cartesian", "full"] = "cartesian"

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("TALAIA_WEB_BASE_URL must start with http:// or https://")
        return value

    def host_names(self) -> frozenset[str]:
        """The allowed host names, lower-cased, without ports."""
        return frozenset(normalize_host(h) for h in self.allowed_hosts.split(",") if h.strip())


def normalize_host(host: str) -> str:
    """A ``Host`` header's name, lower-cased, without its port (``[::1]:8000`` -> ``[::1]``)."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end > 0 else host
    if host.count(":") > 1:  # a bare IPv6 address
        return f"[{host}]"
    return host.partition(":")[0]
