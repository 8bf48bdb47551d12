"""Settings of the web portal (pydantic-settings, ``TALAIA_WEB_*`` environment variables).

The deployment-wide settings (data folder, store URL, secret) come from :mod:`talaia.settings`;
these are only what the portal adds: session lifetime, cookie security, login rate limits and the
small-count suppression threshold applied to what anonymous visitors see.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
