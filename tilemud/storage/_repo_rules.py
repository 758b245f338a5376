"""Repository of rule-config versions and their activations: sync functions on a
Connection, each inside the caller's transaction.

A version is a number within its mode naming one content (a ``rule_configs`` row); it is
never changed or deleted. An activation puts a version in force for a mode in one region,
or in every region (``tables.EVERY_REGION``) that has none of its own; the one it replaces
gets its ``active_to``. Changes are audited by the storage face, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tilemud.game import RuleConfig, RuleConfigError
from tilemud.storage import tables as t
from tilemud.storage._errors import RecordConflict, RecordNotFound
from tilemud.storage._records_rules import RuleActivation, RuleSwitch, RuleVersion
from tilemud.storage._repo_world import load_rule_config, record_rule_config


def list_versions(conn: Connection, mode: str) -> list[RuleVersion]:
    """Every version of ``mode``, oldest first, each with its activations."""
    v = t.rule_versions
    rows = conn.execute(sa.select(v).where(v.c.mode == mode).order_by(v.c.number)).all()
    periods = _activations(conn, mode)
    return [_version(conn, row, periods.get(row.number, ())) for row in rows]


def load_version(conn: Connection, mode: str, number: int) -> RuleVersion:
    """Version ``number`` of ``mode``.

    Raises:
        RecordNotFound: there is no such version.
    """
    v = t.rule_versions
    row = conn.execute(sa.select(v).where(v.c.mode == mode, v.c.number == number)).first()
    if row is None:
        raise RecordNotFound(f"no version {number} of the {mode} rules")
    return _version(conn, row, _activations(conn, mode, number).get(number, ()))


def add_version(
    conn: Connection,
    *,
    mode: str,
    based_on: int,
    changes: Mapping[str, Any],
    author: str,
    reason: str,
    at: dt.datetime,
) -> RuleVersion:
    """Make the next version of ``mode`` from version ``based_on`` with ``changes``.

    Raises:
        RecordNotFound: ``based_on`` is not a version of ``mode``.
        RuleConfigError: the changed config is not valid (the rules' own message), or the
            changes touch ``mode``.
        RecordConflict: ``duplicate_rules``, the result is a version already.
    """
    base = load_version(conn, mode, based_on)
    if "mode" in changes:
        raise RuleConfigError("a version keeps its mode: make one of the other mode", field="mode")
    rules = RuleConfig.from_dict({**base.rules.to_dict(), **changes})
    v = t.rule_versions
    same = conn.execute(
        sa.select(v.c.number).where(v.c.mode == mode, v.c.content_hash == rules.content_hash)
    ).scalar_one_or_none()
    if same is not None:
        raise RecordConflict(
            f"these rules are version {same} of {mode} already", code="duplicate_rules"
        )
    number = 1 + (
        conn.execute(sa.select(sa.func.max(v.c.number)).where(v.c.mode == mode)).scalar() or 0
    )
    record_rule_config(conn, rules, at=at)
    conn.execute(
        sa.insert(v).values(
            mode=mode,
            number=number,
            content_hash=rules.content_hash,
            based_on=based_on,
            author=author,
            reason=reason,
            created=at,
        )
    )
    return load_version(conn, mode, number)


def activate(
    conn: Connection,
    *,
    mode: str,
    region: str | None,
    number: int,
    actor: str,
    reason: str,
    at: dt.datetime,
) -> RuleSwitch:
    """Put version ``number`` in force for ``mode`` in ``region`` (None: every region).

    Raises:
        RecordNotFound: no such version.
        RecordConflict: ``already_active``.
    """
    version = load_version(conn, mode, number)
    current = _in_force(conn, mode, region)
    if current is not None and current.number == number:
        raise RecordConflict(
            f"version {number} of {mode} is in force there already", code="already_active"
        )
    _switch(conn, mode, region, current, number, actor, reason, at)
    return RuleSwitch(
        mode=mode,
        region=region,
        number=number,
        content_hash=version.content_hash,
        previous=None if current is None else current.number,
    )


def roll_back(
    conn: Connection, *, mode: str, region: str | None, actor: str, reason: str, at: dt.datetime
) -> RuleSwitch:
    """Put back in force the version that was in force before the current activation.

    Raises:
        RecordConflict: ``nothing_to_roll_back`` (no activation in force, or none
            before it).
    """
    current = _in_force(conn, mode, region)
    a = t.rule_activations
    before = (
        None
        if current is None
        else conn.execute(
            sa.select(a.c.number)
            .where(
                a.c.mode == mode,
                a.c.region == _region_key(region),
                a.c.id < current.activation_id,
            )
            .order_by(a.c.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    )
    if current is None or before is None:
        where = "every region" if region is None else f"region {region!r}"
        raise RecordConflict(
            f"no earlier version of {mode} was in force for {where}", code="nothing_to_roll_back"
        )
    _switch(conn, mode, region, current, before, actor, reason, at)
    return RuleSwitch(
        mode=mode,
        region=region,
        number=before,
        content_hash=load_version(conn, mode, before).content_hash,
        previous=current.number,
    )


def active_rules(conn: Connection, mode: str, region: str) -> RuleConfig | None:
    """The rules in force for new arenas of ``mode`` in ``region``: its own activation's,
    else the every-region one's; None when neither exists (the built-in defaults apply)."""
    current = _in_force(conn, mode, region) or _in_force(conn, mode, None)
    if current is None:
        return None
    return load_version(conn, mode, current.number).rules


def version_numbers(conn: Connection, content_hashes: set[str]) -> dict[tuple[str, str], int]:
    """``(mode, content_hash) -> number`` for the given hashes (those that are versions)."""
    if not content_hashes:
        return {}
    v = t.rule_versions
    rows = conn.execute(
        sa.select(v.c.mode, v.c.content_hash, v.c.number).where(
            v.c.content_hash.in_(sorted(content_hashes))
        )
    )
    return {(row.mode, row.content_hash): row.number for row in rows}


def _switch(
    conn: Connection,
    mode: str,
    region: str | None,
    current: RuleActivation | None,
    number: int,
    actor: str,
    reason: str,
    at: dt.datetime,
) -> None:
    a = t.rule_activations
    if current is not None:
        conn.execute(sa.update(a).where(a.c.id == current.activation_id).values(active_to=at))
    conn.execute(
        sa.insert(a).values(
            mode=mode,
            region=_region_key(region),
            number=number,
            active_from=at,
            active_to=None,
            activated_by=actor,
            reason=reason,
        )
    )


def _in_force(conn: Connection, mode: str, region: str | None) -> RuleActivation | None:
    a = t.rule_activations
    row = conn.execute(
        sa.select(a).where(
            a.c.mode == mode, a.c.region == _region_key(region), a.c.active_to.is_(None)
        )
    ).first()
    return None if row is None else _activation(row)


def _activations(
    conn: Connection, mode: str, number: int | None = None
) -> dict[int, tuple[RuleActivation, ...]]:
    a = t.rule_activations
    statement = sa.select(a).where(a.c.mode == mode).order_by(a.c.id)
    if number is not None:
        statement = statement.where(a.c.number == number)
    found: dict[int, list[RuleActivation]] = {}
    for row in conn.execute(statement):
        found.setdefault(row.number, []).append(_activation(row))
    return {key: tuple(periods) for key, periods in found.items()}


def _region_key(region: str | None) -> str:
    return t.EVERY_REGION if region is None else region


def _activation(row: sa.Row[Any]) -> RuleActivation:
    return RuleActivation(
        activation_id=row.id,
        mode=row.mode,
        region=None if row.region == t.EVERY_REGION else row.region,
        number=row.number,
        active_from=row.active_from,
        active_to=row.active_to,
        activated_by=row.activated_by,
        reason=row.reason,
    )


def _version(
    conn: Connection, row: sa.Row[Any], activations: tuple[RuleActivation, ...]
) -> RuleVersion:
    return RuleVersion(
        mode=row.mode,
        number=row.number,
        rules=load_rule_config(conn, row.content_hash),
        based_on=row.based_on,
        author=row.author,
        reason=row.reason,
        created=row.created,
        activations=activations,
    )
