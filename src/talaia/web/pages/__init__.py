"""Server-rendered pages, one module per domain."""

from fastapi import APIRouter

from talaia.web.pages import admin, auth, classification, data, home, indicators

router = APIRouter(include_in_schema=False)
for _module in (auth, home, indicators, classification, data, admin):
    router.include_router(_module.router)
