"""Talaia's web portal and JSON API (FastAPI, server-rendered Jinja2 pages).

- :func:`talaia.web.app.create_app` builds the application; ``talaia serve`` runs it (uvicorn).
- ``pages/``: Home, Indicator explorer, Areas, Data (sources, batches, quarantine, upload),
  Classification (ICCS browser, crosswalk coverage, mapping suggestions), Administration.
- ``api/``: ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``; errors as RFC 9457
  ``application/problem+json``; ``offset``/``limit`` pagination).
- ``services/``: every SQL statement and every call into the services layer; routes stay thin.
- Access: Argon2id passwords, signed expiring HTTP-only SameSite session cookies, CSRF tokens
  on every unsafe request, per-(username, IP) login rate limit, roles administrator / analyst /
  steward (own agency) / viewer / public; every write goes to ``audit_event``.
- Disclosure control (:mod:`talaia.web.services.indicators`): only published batches for
  viewers, stewards and the public; small counts suppressed for the public.
- English and Spanish (Babel catalogue in ``locale/``); every asset is served from the
  package (Plotly from the installed ``plotly`` package; maps are SVG drawn on the server).
"""
