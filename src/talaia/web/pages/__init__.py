"""Server-rendered pages, one module per domain."""

from fastapi import APIRouter

from talaia.web.pages import admin, analysis, auth, classification, data, home, indicators

router = APIRouter(include_in_schema=False)
for _module in (auth, home, indicators, classification, data, analysis, admin):
    router.include_router(_module.router)
