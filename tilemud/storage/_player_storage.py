"""The storage face of players: who was seen, and when (see :mod:`tilemud.storage._link`)."""

from __future__ import annotations

from tilemud.storage import _repo_players as players_repo
from tilemud.storage import _repo_world as world_repo
from tilemud.storage._link import StorageLink
from tilemud.storage._records import PlayerRecord, PlayerSeen


class PlayerStorage(StorageLink):
    """What sessions store of their players."""

    async def upsert_player(self, *, player_id: str, name: str) -> None:
        """Remember that ``player_id`` (now called ``name``) was seen now."""
        at = self._clock()
        await self.transact(
            lambda c: world_repo.upsert_player(c, player_id=player_id, name=name, seen_at=at)
        )

    def record_player_seen(self, player_id: str, name: str) -> int | None:
        """Buffer that ``player_id`` (now called ``name``) was seen now; never blocks."""
        return self._buffer.offer(
            [PlayerSeen(player_id=player_id, name=name, seen_at=self._clock())]
        )

    async def find_players(self, text: str, *, limit: int = 50) -> list[PlayerRecord]:
        """Players whose id is ``text`` or whose name starts with it (any case): the one
        with that id first, then the most recently seen; at most ``limit``."""
        return await self.transact(lambda c: players_repo.find_players(c, text, limit=limit))
