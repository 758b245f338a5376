"""Repository of guilds, their members and pending invites: sync functions on a Connection.

Each runs inside the caller's transaction (the storage actor opens one per request). The
guilds actor decides every change by the rules first, so these only write it; the
database's own constraints (a unique ``name_key``, one membership row per player) are the
last line: a change that breaks one raises ``IntegrityError``, which the storage actor
turns into :class:`~tilemud.storage.RecordRejected`. Writes are idempotent where a retry
after an unclear failure could repeat them: invites are upserts, removals delete what is
there.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tilemud.storage import tables as t
from tilemud.storage._records_guilds import (
    GuildInviteRecord,
    GuildMemberRecord,
    GuildRecord,
    StoredRole,
)
from tilemud.storage._sql import insert


def load_guilds(conn: Connection) -> list[GuildRecord]:
    """Every guild with its members and invites, in guild id order."""
    return _load(conn, None)


def load_guilds_about(
    conn: Connection, *, guild_ids: Collection[str], player_ids: Collection[str]
) -> list[GuildRecord]:
    """The guilds named, and those that ``player_ids`` are members of or invited to, as
    they are now (one node's view of a few guilds, refreshed after another node changed
    them); guilds named that no longer exist are simply absent."""
    wanted = set(guild_ids)
    if player_ids:
        players = list(player_ids)
        wanted.update(
            conn.scalars(
                sa.select(t.guild_members.c.guild_id).where(
                    t.guild_members.c.player_id.in_(players)
                )
            )
        )
        wanted.update(
            conn.scalars(
                sa.select(t.guild_invites.c.guild_id).where(
                    t.guild_invites.c.player_id.in_(players)
                )
            )
        )
    return _load(conn, wanted) if wanted else []


def _load(conn: Connection, guild_ids: set[str] | None) -> list[GuildRecord]:
    """The guilds of ``guild_ids`` (every guild when None) with members and invites."""
    member_rows = sa.select(t.guild_members).order_by(t.guild_members.c.player_id)
    invite_rows = sa.select(t.guild_invites).order_by(t.guild_invites.c.player_id)
    guild_rows = sa.select(t.guilds).order_by(t.guilds.c.id)
    if guild_ids is not None:
        ids = sorted(guild_ids)
        member_rows = member_rows.where(t.guild_members.c.guild_id.in_(ids))
        invite_rows = invite_rows.where(t.guild_invites.c.guild_id.in_(ids))
        guild_rows = guild_rows.where(t.guilds.c.id.in_(ids))
    members: dict[str, list[GuildMemberRecord]] = defaultdict(list)
    for row in conn.execute(member_rows):
        members[row.guild_id].append(
            GuildMemberRecord(player_id=row.player_id, role=row.role, joined=row.joined)
        )
    invites: dict[str, list[GuildInviteRecord]] = defaultdict(list)
    for row in conn.execute(invite_rows):
        invites[row.guild_id].append(
            GuildInviteRecord(
                player_id=row.player_id, invited_by=row.invited_by, created=row.created
            )
        )
    return [
        GuildRecord(
            guild_id=row.id,
            name=row.name,
            name_key=row.name_key,
            created=row.created,
            members=tuple(members[row.id]),
            invites=tuple(invites[row.id]),
        )
        for row in conn.execute(guild_rows)
    ]


def create_guild(
    conn: Connection,
    *,
    guild_id: str,
    name: str,
    name_key: str,
    leader_id: str,
    at: dt.datetime,
) -> None:
    """Found a guild with its leader; the leader's pending invites are dropped."""
    conn.execute(sa.insert(t.guilds).values(id=guild_id, name=name, name_key=name_key, created=at))
    conn.execute(
        sa.insert(t.guild_members).values(
            player_id=leader_id, guild_id=guild_id, role="leader", joined=at
        )
    )
    _drop_invites_of(conn, leader_id)


def invite_to_guild(
    conn: Connection, *, guild_id: str, player_id: str, invited_by: str, at: dt.datetime
) -> None:
    """Record (or renew) an invite."""
    stmt = insert(conn, t.guild_invites).values(
        guild_id=guild_id, player_id=player_id, invited_by=invited_by, created=at
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.guild_invites.c.guild_id, t.guild_invites.c.player_id],
            set_={"invited_by": stmt.excluded.invited_by, "created": stmt.excluded.created},
        )
    )


def drop_guild_invite(conn: Connection, *, guild_id: str, player_id: str) -> None:
    """Forget an invite (declined)."""
    conn.execute(
        sa.delete(t.guild_invites).where(
            t.guild_invites.c.guild_id == guild_id, t.guild_invites.c.player_id == player_id
        )
    )


def join_guild(conn: Connection, *, guild_id: str, player_id: str, at: dt.datetime) -> None:
    """Make an invited player a member; every pending invite of theirs is dropped."""
    conn.execute(
        sa.insert(t.guild_members).values(
            player_id=player_id, guild_id=guild_id, role="member", joined=at
        )
    )
    _drop_invites_of(conn, player_id)


def remove_guild_member(conn: Connection, *, guild_id: str, player_id: str) -> None:
    """Take a member out (left or kicked)."""
    conn.execute(
        sa.delete(t.guild_members).where(
            t.guild_members.c.guild_id == guild_id, t.guild_members.c.player_id == player_id
        )
    )


def set_guild_roles(conn: Connection, *, guild_id: str, roles: dict[str, StoredRole]) -> None:
    """Give members new roles (a promotion, a demotion, or both sides of a hand-over).

    The hand-over demotes the old leader before promoting the new one, in one transaction.
    """
    for player_id, role in sorted(roles.items(), key=lambda item: item[1] == "leader"):
        conn.execute(
            sa.update(t.guild_members)
            .where(
                t.guild_members.c.guild_id == guild_id,
                t.guild_members.c.player_id == player_id,
            )
            .values(role=role)
        )


def disband_guild(conn: Connection, *, guild_id: str) -> None:
    """Delete a guild with its members and invites."""
    conn.execute(sa.delete(t.guild_invites).where(t.guild_invites.c.guild_id == guild_id))
    conn.execute(sa.delete(t.guild_members).where(t.guild_members.c.guild_id == guild_id))
    conn.execute(sa.delete(t.guilds).where(t.guilds.c.id == guild_id))


def _drop_invites_of(conn: Connection, player_id: str) -> None:
    conn.execute(sa.delete(t.guild_invites).where(t.guild_invites.c.player_id == player_id))
