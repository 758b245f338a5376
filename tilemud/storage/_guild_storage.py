"""The storage face of guilds: guilds, members, roles and invites (see
:mod:`tilemud.storage._link`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from tilemud.storage import _repo_guilds as guild_repo
from tilemud.storage._link import StorageLink
from tilemud.storage._records_guilds import GuildRecord, StoredRole


class GuildStorage(StorageLink):
    """What the guilds actor stores."""

    async def load_guilds(self) -> list[GuildRecord]:
        """Every guild with its members and pending invites."""
        return await self.transact(guild_repo.load_guilds)

    async def load_guilds_about(
        self, *, guild_ids: Collection[str], player_ids: Collection[str] = ()
    ) -> list[GuildRecord]:
        """The guilds named, and those the players are members of or invited to, as
        stored now (absent: no longer there)."""
        guilds, players = tuple(guild_ids), tuple(player_ids)
        return await self.transact(
            lambda c: guild_repo.load_guilds_about(c, guild_ids=guilds, player_ids=players)
        )

    async def create_guild(
        self, *, guild_id: str, name: str, name_key: str, leader_id: str
    ) -> None:
        """Found a guild led by ``leader_id`` (whose pending invites are dropped).

        Raises:
            RecordRejected: the name (``name_key``) is taken or the leader is in a guild.
        """
        at = self._clock()
        await self.transact(
            lambda c: guild_repo.create_guild(
                c, guild_id=guild_id, name=name, name_key=name_key, leader_id=leader_id, at=at
            )
        )

    async def invite_to_guild(self, *, guild_id: str, player_id: str, invited_by: str) -> None:
        """Record (or renew) an invite of ``player_id`` into the guild."""
        at = self._clock()
        await self.transact(
            lambda c: guild_repo.invite_to_guild(
                c, guild_id=guild_id, player_id=player_id, invited_by=invited_by, at=at
            )
        )

    async def drop_guild_invite(self, *, guild_id: str, player_id: str) -> None:
        """Forget a pending invite (declined)."""
        await self.transact(
            lambda c: guild_repo.drop_guild_invite(c, guild_id=guild_id, player_id=player_id)
        )

    async def join_guild(self, *, guild_id: str, player_id: str) -> None:
        """Make ``player_id`` a member; their pending invites are dropped.

        Raises:
            RecordRejected: the player is in a guild already.
        """
        at = self._clock()
        await self.transact(
            lambda c: guild_repo.join_guild(c, guild_id=guild_id, player_id=player_id, at=at)
        )

    async def remove_guild_member(self, *, guild_id: str, player_id: str) -> None:
        """Take a member out of the guild (left or kicked)."""
        await self.transact(
            lambda c: guild_repo.remove_guild_member(c, guild_id=guild_id, player_id=player_id)
        )

    async def set_guild_roles(self, *, guild_id: str, roles: Mapping[str, StoredRole]) -> None:
        """Give members new roles, in one transaction (a promotion, or a hand-over)."""
        wanted = dict(roles)
        await self.transact(
            lambda c: guild_repo.set_guild_roles(c, guild_id=guild_id, roles=wanted)
        )

    async def disband_guild(self, *, guild_id: str) -> None:
        """Delete the guild, its members and its invites."""
        await self.transact(lambda c: guild_repo.disband_guild(c, guild_id=guild_id))
