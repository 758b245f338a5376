"""The storage face of the admin console: admin accounts, the audit log, sanctions,
reports and replay management (see :mod:`tilemud.storage._link`).

Every method that changes something an admin did writes its audit record in the same
transaction (:mod:`tilemud.storage._repo_admin`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection

from tilemud.storage import _repo_admin as repo
from tilemud.storage import _repo_replays as replays
from tilemud.storage._link import StorageLink
from tilemud.storage._records_admin import (
    AdminAccount,
    AuditEntry,
    AuditQuery,
    AuditRecord,
    ReportRecord,
    ReportState,
    SanctionKind,
    SanctionRecord,
)
from tilemud.storage._records_rules import ReplayQuery, ReplaySummary


class AdminStorage(StorageLink):
    """What the moderation actor and the admin API store."""

    async def load_admin(self, name: str) -> AdminAccount | None:
        """The admin account called ``name``, or None."""
        return await self.transact(lambda c: repo.load_admin(c, name))

    async def audit(self, entry: AuditEntry) -> int:
        """Append one audit record on its own (an act that changes nothing stored: a
        sign-in, a kick); returns its id."""
        at = self._clock()
        return await self.transact(lambda c: repo.append_audit(c, entry, at=at))

    async def query_audit(self, query: AuditQuery) -> list[AuditRecord]:
        """The audit records matching ``query``, newest first."""
        return await self.transact(lambda c: repo.query_audit(c, query))

    async def player_exists(self, player_id: str) -> bool:
        """Whether the player ever connected here."""
        return await self.transact(lambda c: repo.player_exists(c, player_id))

    async def load_sanctions(self) -> list[SanctionRecord]:
        """Every stored sanction (expired ones included)."""
        return await self.transact(repo.load_sanctions)

    async def impose(self, sanction: SanctionRecord, entry: AuditEntry) -> None:
        """Store a sanction and its audit record, in one transaction."""
        at = self._clock()

        def write(conn: Connection) -> None:
            repo.put_sanction(conn, sanction)
            repo.append_audit(conn, entry, at=at)

        await self.transact(write)

    async def lift(self, player_id: str, kind: SanctionKind, entry: AuditEntry) -> None:
        """Delete the player's sanction of ``kind`` and record who lifted it, in one
        transaction."""
        at = self._clock()

        def write(conn: Connection) -> None:
            repo.lift_sanction(conn, player_id, kind)
            repo.append_audit(conn, entry, at=at)

        await self.transact(write)

    async def add_report(self, report: ReportRecord) -> None:
        """Store a player's report."""
        await self.transact(lambda c: repo.add_report(c, report))

    async def load_report(self, report_id: str) -> ReportRecord:
        """One report.

        Raises:
            RecordNotFound: there is no such report.
        """
        return await self.transact(lambda c: repo.load_report(c, report_id))

    async def list_reports(
        self, *, state: ReportState | None, limit: int, offset: int
    ) -> list[ReportRecord]:
        """Reports, oldest first."""
        return await self.transact(
            lambda c: repo.list_reports(c, state=state, limit=limit, offset=offset)
        )

    async def decide_report(
        self,
        report_id: str,
        *,
        state: ReportState,
        decided_by: str,
        decision: str,
        entries: Sequence[AuditEntry],
        sanction: SanctionRecord | None = None,
    ) -> bool:
        """Close an open report, with the sanction it led to (if any) and the audit
        records, in one transaction. False (and nothing written) when it was not open.

        Raises:
            RecordNotFound: there is no such report.
        """
        at = self._clock()

        def write(conn: Connection) -> bool:
            repo.load_report(conn, report_id)
            if not repo.decide_report(
                conn, report_id, state=state, decided_by=decided_by, at=at, decision=decision
            ):
                return False
            if sanction is not None:
                repo.put_sanction(conn, sanction)
            for entry in entries:
                repo.append_audit(conn, entry, at=at)
            return True

        return await self.transact(write)

    async def search_replays(self, query: ReplayQuery) -> list[ReplaySummary]:
        """The stored replays matching ``query``, newest first."""
        return await self.transact(lambda c: replays.search_replays(c, query))

    async def delete_replay(self, arena_id: str, entry: AuditEntry) -> None:
        """Delete an ended arena's replay with its audit record, in one transaction.

        Raises:
            RecordNotFound: no such replay (or deleted already).
            RecordConflict: ``replay_live``.
        """
        at = self._clock()

        def write(conn: Connection) -> None:
            replays.delete_replay(conn, arena_id, at=at)
            repo.append_audit(conn, entry, at=at)

        await self.transact(write)
