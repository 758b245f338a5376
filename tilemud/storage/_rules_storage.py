"""The storage face of rule-config versions (see :mod:`tilemud.storage._link`): what the
admin API changes and reads, and what the arena directory asks before it opens an arena.

Every change writes its audit record in the same transaction
(:func:`tilemud.storage._repo_admin.append_audit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from tilemud.game import RuleConfig
from tilemud.storage import _repo_rules as repo
from tilemud.storage._link import StorageLink
from tilemud.storage._records_admin import AuditEntry
from tilemud.storage._records_rules import RuleSwitch, RuleVersion
from tilemud.storage._repo_admin import append_audit


class RuleStorage(StorageLink):
    """Rule-config versions per mode and which one is in force where."""

    async def list_versions(self, mode: str) -> list[RuleVersion]:
        """Every version of ``mode``, oldest first."""
        return await self.transact(lambda c: repo.list_versions(c, mode))

    async def load_version(self, mode: str, number: int) -> RuleVersion:
        """One version; :class:`RecordNotFound` when there is none."""
        return await self.transact(lambda c: repo.load_version(c, mode, number))

    async def active_rules(self, mode: str, region: str) -> RuleConfig | None:
        """The rules in force for a new arena of ``mode`` in ``region``; None: defaults."""
        return await self.transact(lambda c: repo.active_rules(c, mode, region))

    async def add_version(
        self,
        *,
        mode: str,
        based_on: int,
        changes: Mapping[str, Any],
        author: str,
        reason: str,
    ) -> RuleVersion:
        """Make and store the next version (audited ``rules_created``).

        Raises:
            RecordNotFound: no version ``based_on``.
            RuleConfigError: the changed rules are invalid.
            RecordConflict: ``duplicate_rules``.
        """
        at = self._clock()

        def write(conn: Connection) -> RuleVersion:
            made = repo.add_version(
                conn,
                mode=mode,
                based_on=based_on,
                changes=changes,
                author=author,
                reason=reason,
                at=at,
            )
            entry = AuditEntry(
                actor=author,
                action="rules_created",
                target=f"rules:{mode}:{made.number}",
                reason=reason,
                detail={
                    "based_on": based_on,
                    "content_hash": made.content_hash,
                    "changes": sorted(changes),
                },
            )
            append_audit(conn, entry, at=at)
            return made

        return await self.transact(write)

    async def activate(
        self, *, mode: str, region: str | None, number: int, actor: str, reason: str
    ) -> RuleSwitch:
        """Put a version in force (audited ``rules_activated``).

        Raises:
            RecordNotFound: no such version.
            RecordConflict: ``already_active``.
        """
        at = self._clock()

        def write(conn: Connection) -> RuleSwitch:
            switch = repo.activate(
                conn, mode=mode, region=region, number=number, actor=actor, reason=reason, at=at
            )
            append_audit(conn, _switch_entry("rules_activated", switch, actor, reason), at=at)
            return switch

        return await self.transact(write)

    async def roll_back(
        self, *, mode: str, region: str | None, actor: str, reason: str
    ) -> RuleSwitch:
        """Put back the version in force before the current one (audited
        ``rules_rolled_back``).

        Raises:
            RecordConflict: ``nothing_to_roll_back``.
        """
        at = self._clock()

        def write(conn: Connection) -> RuleSwitch:
            switch = repo.roll_back(
                conn, mode=mode, region=region, actor=actor, reason=reason, at=at
            )
            append_audit(conn, _switch_entry("rules_rolled_back", switch, actor, reason), at=at)
            return switch

        return await self.transact(write)


def _switch_entry(action: str, switch: RuleSwitch, actor: str, reason: str) -> AuditEntry:
    return AuditEntry(
        actor=actor,
        action=action,
        target=f"rules:{switch.mode}:{switch.number}",
        reason=reason,
        detail={
            "region": switch.region,
            "content_hash": switch.content_hash,
            "previous": switch.previous,
        },
    )
