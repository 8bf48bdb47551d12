"""Shared shapes of the portal's services: the principal, pages of results, the audit log."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Connection, insert

from talaia.store.models import AuditEvent

T = TypeVar("T")

#: Roles, most to least privileged; ``public`` is the anonymous visitor (not a stored role).
ROLES: tuple[str, ...] = ("administrator", "analyst", "steward", "viewer")
PUBLIC = "public"
ROLE_NAMES = {
    "administrator": "Administrator",
    "analyst": "Analyst",
    "steward": "Data steward",
    "viewer": "Viewer",
    "public": "Public",
}

#: What each role may do (English; translated in the catalogue).
ROLE_DESCRIPTIONS = {
    "administrator": "Everything, including users, agencies and roles.",
    "analyst": "All data of every agency; publishes batches; sees unpublished indicators.",
    "steward": "Uploads, corrects and approves its own agency's data only.",
    "viewer": "Published indicators, areas and the classification.",
    "public": "Published indicators only, with small counts suppressed (no login).",
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request.

    Attributes
    ----------
    user_id, username, full_name
        The account; None for the anonymous public.
    role
        One of :data:`ROLES`, or ``"public"``.
    agency_code
        A steward's agency (stewards see only its sources, batches and rows).
    via
        ``"session"`` (browser cookie), ``"token"`` (API bearer token) or ``"anonymous"``.
    """

    user_id: int | None
    username: str | None
    full_name: str | None
    role: str
    agency_code: str | None
    via: str

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_admin(self) -> bool:
        return self.role == "administrator"

    def can_read_data(self) -> bool:
        """Sources, batches, quarantine (a steward: only its agency's)."""
        return self.role in ("administrator", "analyst", "steward")

    def can_upload(self) -> bool:
        return self.role in ("administrator", "analyst", "steward")

    def can_publish(self) -> bool:
        """Approve, publish or reject batches of any agency."""
        return self.role in ("administrator", "analyst")

    def sees_unpublished(self) -> bool:
        """Indicators from batches not yet published, and small counts unsuppressed."""
        return self.role in ("administrator", "analyst")

    def can_analyse(self) -> bool:
        """Crime analysis (hotspots, near-repeat...): incident-level data, every agency."""
        return self.role in ("administrator", "analyst")

    def agency_scope(self) -> str | None:
        """The agency this principal is restricted to; None means every agency.

        A steward without an agency gets ``""``, which matches no agency: it sees nothing."""
        if self.role != "steward":
            return None
        return self.agency_code or ""


ANONYMOUS = Principal(None, None, None, PUBLIC, None, "anonymous")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing."""

    items: Sequence[T]
    total: int
    offset: int
    limit: int


def now() -> dt.datetime:
    """Current UTC time, naive (the store keeps naive UTC timestamps)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def audit(
    conn: Connection,
    username: str | None,
    action: str,
    object_type: str | None = None,
    object_id: object = None,
    detail: dict | None = None,
) -> None:
    """Record a write in ``audit_event``, in the caller's transaction (who, when, what)."""
    conn.execute(
        insert(AuditEvent).values(
            at=now(),
            username=username,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
        )
    )
