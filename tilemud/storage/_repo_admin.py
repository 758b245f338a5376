"""Repository of admin accounts, the audit log, sanctions and reports: sync functions on a
Connection, each inside the caller's transaction.

The audit log is append-only: :func:`append_audit` is the only function that touches it
besides :func:`query_audit`, and every action that is audited calls it in the same
transaction as the change it records (the storage face's methods pair them), so an action
is never stored without its record, nor a record without its action.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tilemud.storage import tables as t
from tilemud.storage._errors import RecordNotFound, RecordRejected
from tilemud.storage._records_admin import (
    AdminAccount,
    AuditEntry,
    AuditQuery,
    AuditRecord,
    ReportRecord,
    SanctionKind,
    SanctionRecord,
)
from tilemud.storage._sql import insert


def add_admin(conn: Connection, account: AdminAccount) -> None:
    """Create an admin account.

    Raises:
        RecordRejected: the name is taken.
    """
    found = conn.execute(sa.select(t.admins.c.name).where(t.admins.c.name == account.name))
    if found.first() is not None:
        raise RecordRejected(f"an admin account named {account.name!r} exists already")
    conn.execute(
        sa.insert(t.admins).values(
            name=account.name,
            role=account.role,
            password_hash=account.password_hash,
            created=account.created,
        )
    )


def load_admin(conn: Connection, name: str) -> AdminAccount | None:
    """The admin account called ``name``, or None."""
    row = conn.execute(sa.select(t.admins).where(t.admins.c.name == name)).first()
    if row is None:
        return None
    return AdminAccount(
        name=row.name, role=row.role, password_hash=row.password_hash, created=row.created
    )


def append_audit(conn: Connection, entry: AuditEntry, *, at: dt.datetime) -> int:
    """Append one record to the audit log; returns its id."""
    result = conn.execute(
        sa.insert(t.audit_log).values(
            at=at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            reason=entry.reason,
            detail=None if entry.detail is None else dict(entry.detail),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def query_audit(conn: Connection, query: AuditQuery) -> list[AuditRecord]:
    """The audit records that match ``query``, newest first."""
    log = t.audit_log
    statement = sa.select(log).order_by(log.c.id.desc()).limit(query.limit)
    if query.actor is not None:
        statement = statement.where(log.c.actor == query.actor)
    if query.target is not None:
        statement = statement.where(log.c.target == query.target)
    if query.action is not None:
        statement = statement.where(log.c.action == query.action)
    if query.since is not None:
        statement = statement.where(log.c.at >= query.since)
    if query.until is not None:
        statement = statement.where(log.c.at < query.until)
    if query.before_id is not None:
        statement = statement.where(log.c.id < query.before_id)
    return [
        AuditRecord(
            audit_id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            target=row.target,
            reason=row.reason,
            detail=row.detail,
        )
        for row in conn.execute(statement)
    ]


def player_exists(conn: Connection, player_id: str) -> bool:
    """Whether ``player_id`` has ever connected here."""
    found = conn.execute(sa.select(t.players.c.id).where(t.players.c.id == player_id))
    return found.first() is not None


def load_sanctions(conn: Connection) -> list[SanctionRecord]:
    """Every stored sanction, expired ones included (the caller knows the time)."""
    return [
        _sanction(row)
        for row in conn.execute(
            sa.select(t.sanctions).order_by(t.sanctions.c.player_id, t.sanctions.c.kind)
        )
    ]


def put_sanction(conn: Connection, sanction: SanctionRecord) -> None:
    """Store ``sanction``, replacing an (expired) one of the same player and kind."""
    values = {
        "until": sanction.until,
        "reason": sanction.reason,
        "issued_by": sanction.issued_by,
        "created": sanction.created,
    }
    statement = insert(conn, t.sanctions).values(
        player_id=sanction.player_id, kind=sanction.kind, **values
    )
    conn.execute(statement.on_conflict_do_update(index_elements=["player_id", "kind"], set_=values))


def lift_sanction(conn: Connection, player_id: str, kind: SanctionKind) -> None:
    """Delete the player's sanction of ``kind`` (nothing when there is none)."""
    conn.execute(
        sa.delete(t.sanctions).where(
            t.sanctions.c.player_id == player_id, t.sanctions.c.kind == kind
        )
    )


def add_report(conn: Connection, report: ReportRecord) -> None:
    """Store a new report (idempotent: a retried one with the same id is kept once)."""
    conn.execute(
        insert(conn, t.reports)
        .values(
            id=report.report_id,
            reporter_id=report.reporter_id,
            target_id=report.target_id,
            reason=report.reason,
            created=report.created,
            state=report.state,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )


def load_report(conn: Connection, report_id: str) -> ReportRecord:
    """One report.

    Raises:
        RecordNotFound: there is no such report.
    """
    row = conn.execute(sa.select(t.reports).where(t.reports.c.id == report_id)).first()
    if row is None:
        raise RecordNotFound(f"no report {report_id!r}")
    return _report(row)


def list_reports(
    conn: Connection, *, state: str | None, limit: int, offset: int
) -> list[ReportRecord]:
    """Reports oldest first (the queue's order), in ``state`` when given."""
    statement = sa.select(t.reports).order_by(t.reports.c.created, t.reports.c.id)
    if state is not None:
        statement = statement.where(t.reports.c.state == state)
    statement = statement.limit(limit).offset(offset)
    return [_report(row) for row in conn.execute(statement)]


def decide_report(
    conn: Connection,
    report_id: str,
    *,
    state: str,
    decided_by: str,
    at: dt.datetime,
    decision: str,
) -> bool:
    """Close an open report; False when it was decided already (nothing changes)."""
    result = conn.execute(
        sa.update(t.reports)
        .where(t.reports.c.id == report_id, t.reports.c.state == "open")
        .values(state=state, decided_by=decided_by, decided_at=at, decision=decision)
    )
    return result.rowcount == 1


def _sanction(row: sa.Row[Any]) -> SanctionRecord:
    return SanctionRecord(
        player_id=row.player_id,
        kind=row.kind,
        until=row.until,
        reason=row.reason,
        issued_by=row.issued_by,
        created=row.created,
    )


def _report(row: sa.Row[Any]) -> ReportRecord:
    return ReportRecord(
        report_id=row.id,
        reporter_id=row.reporter_id,
        target_id=row.target_id,
        reason=row.reason,
        created=row.created,
        state=row.state,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision=row.decision,
    )
