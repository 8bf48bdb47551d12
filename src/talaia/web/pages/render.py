"""Rendering helpers shared by the page modules."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from talaia.web.i18n import Translator
from talaia.web.portal import Portal, page_context
from talaia.web.services.common import Principal


def render(
    request: Request,
    portal: Portal,
    principal: Principal,
    t: Translator,
    template: str,
    *,
    active: str,
    title: str,
    status_code: int = 200,
    **extra: object,
) -> Response:
    ctx = page_context(request, portal, principal, t, active, title, **extra)
    return portal.templates.TemplateResponse(request, template, ctx, status_code=status_code)


def safe_next(target: str | None) -> str:
    """A local redirect target only (no open redirect to another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionError("role")
