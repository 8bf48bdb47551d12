"""The JSON API under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``).

Errors are RFC 9457 ``application/problem+json``. Lists are paginated with ``offset`` and
``limit`` and answer ``{items, total, offset, limit, next}``. Machine clients authenticate with
``Authorization: Bearer <token>``; browsers with their session cookie (plus the CSRF header on
writes).
"""

from fastapi import APIRouter

from talaia.web.api import admin, analysis, areas, data, iccs, indicators, meta, uploads
from talaia.web.api.schemas import PROBLEM_RESPONSES

router = APIRouter(responses=PROBLEM_RESPONSES)
for _module in (meta, indicators, areas, iccs, data, uploads, analysis, admin):
    router.include_router(_module.router)
