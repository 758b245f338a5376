"""Records of the admin console: admin accounts, audit entries, sanctions and reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

import attrs

#: An admin account's role: ``admin`` can do everything a ``moderator`` can, and more.
AdminRole: TypeAlias = Literal["admin", "moderator"]

#: The kinds of sanction that last (a kick is an act, not a state).
SanctionKind: TypeAlias = Literal["mute", "ban"]

#: Where a report stands.
ReportState: TypeAlias = Literal["open", "dismissed", "actioned"]


@attrs.frozen(kw_only=True)
class AdminAccount:
    """An admin account (its password hash included: only sign-in reads it)."""

    name: str
    role: AdminRole
    password_hash: str
    created: dt.datetime


@attrs.frozen(kw_only=True)
class AuditEntry:
    """One action to write into the audit log (``id`` and ``at`` are set on writing)."""

    actor: str
    action: str
    target: str | None = None
    reason: str | None = None
    detail: Mapping[str, Any] | None = None


@attrs.frozen(kw_only=True)
class AuditRecord:
    """One row of the audit log, as read back."""

    audit_id: int
    at: dt.datetime
    actor: str
    action: str
    target: str | None
    reason: str | None
    detail: Mapping[str, Any] | None


@attrs.frozen(kw_only=True)
class AuditQuery:
    """Which audit records to read: every filter given must match; newest first.

    Attributes:
        actor: who acted (``admin:<name>``, or a player id for a report).
        target: whom or what it was done to.
        action: e.g. ``ban``, ``sign_in``.
        since: at or after this time.
        until: before this time.
        before_id: only records older than this id (the next page's cursor).
        limit: at most this many records.
    """

    actor: str | None = None
    target: str | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    before_id: int | None = None
    limit: int = 50


@attrs.frozen(kw_only=True)
class SanctionRecord:
    """A mute or ban in force (or expired, when ``until`` has passed).

    Attributes:
        until: when it ends; None for a permanent ban.
    """

    player_id: str
    kind: SanctionKind
    until: dt.datetime | None
    reason: str
    issued_by: str
    created: dt.datetime


@attrs.frozen(kw_only=True)
class ReportRecord:
    """A player's report of another player, and what became of it."""

    report_id: str
    reporter_id: str
    target_id: str
    reason: str
    created: dt.datetime
    state: ReportState = "open"
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    decision: str | None = None
