"""This node's heartbeat in the cluster: the child ``shards`` of the play supervisor.

It comes right after the arena directory (rest_for_one: a restarted directory restarts
it) and owns nothing of the arenas: the directory owns them, the keeper sends it messages.
Every ``cluster.heartbeat_interval`` (and soon after the directory pokes it) it:

- renews the leases of this node's arenas (compare-and-renew); an arena whose lease was
  lost, or that could not be renewed before its fence time, is fenced: the directory stops
  it (``FenceArenas``), and this node no longer plays it;
- publishes this node's card (addresses, load, arenas by mode and region, draining);
- looks for orphans: arenas stored as live that nobody leases (their node died, or handed
  them over) and asks the directory to adopt them (``AdoptArena``: claim the lease, then
  restore from storage). Two nodes racing for one orphan: ``SET NX`` lets one win.

Every Redis call is bounded by ``redis.command_timeout`` and the whole round by the
earliest fence time, so fencing happens on time even when Redis hangs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

import trio

from tilemud.actors.arena._directory import (
    AdoptArena,
    ArenaListing,
    DirectoryMessage,
    FenceArenas,
    ListArenas,
)
from tilemud.actors.arena._shards import ClusterShards
from tilemud.cluster.link import ClusterUnavailable
from tilemud.mailbox import Ref
from tilemud.storage import ArenaStorage, StorageError
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.shards")

#: Seconds between a poke and the card it asks for (joins in a burst publish once).
_POKE_DELAY = 0.05
#: Seconds between two beats while this node's listeners are not bound yet.
_UNBOUND_RETRY = 0.1


class ShardKeeper:
    """This node's heartbeat (see the module's docstring).

    Args:
        shards: the directory's door to the cluster.
        directory: the arena directory's mailbox.
        storage: where orphans are found (None: no adoption; nothing is stored).
    """

    def __init__(
        self,
        shards: ClusterShards,
        directory: Ref[DirectoryMessage],
        storage: ArenaStorage | None,
    ) -> None:
        self._shards = shards
        self._directory = directory
        self._storage = storage

    async def run(self, ctx: ChildContext) -> None:
        """Beat until stopped; the card is withdrawn on the way out."""
        shards = self._shards
        ctx.started()
        try:
            while not ctx.stopping.is_set():
                next_beat = trio.current_time() + shards.settings.heartbeat_interval
                await self.beat()
                if shards.addresses() is None:
                    # The listeners are not bound yet, so there was no card to publish: look
                    # again soon, so that a new node is seen as soon as it can be reached,
                    # not a whole heartbeat later.
                    next_beat = trio.current_time() + _UNBOUND_RETRY
                with trio.move_on_at(min(next_beat, shards.leases.book.next_fence())):
                    await self._wait_for_poke(ctx)
                await self._fence_overdue()
        finally:
            with trio.move_on_after(shards.settings.heartbeat_interval, shield=True):
                # Redis unavailable: the card expires by itself.
                with contextlib.suppress(ClusterUnavailable):
                    await shards.board.withdraw(shards.cluster.link, shards.node_id)

    async def _wait_for_poke(self, ctx: ChildContext) -> None:
        shards = self._shards
        async with trio.open_nursery() as nursery:

            async def stop_on_stopping() -> None:
                await ctx.stopping.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(stop_on_stopping)
            await shards.poked.wait()
            shards.poked = trio.Event()
            await trio.sleep(_POKE_DELAY)
            nursery.cancel_scope.cancel()

    async def beat(self) -> None:
        """One heartbeat: renew, publish, adopt orphans; fence what could not be renewed."""
        shards = self._shards
        lost: list[str] = []
        with trio.move_on_at(shards.leases.book.next_fence()):
            try:
                link = shards.cluster.link
                lost = await shards.leases.renew(link, now=trio.current_time())
                # The directory may be busy (restoring an adopted arena): the renewals
                # above must not wait for it, so this beat then publishes nothing.
                listing = None
                with trio.move_on_after(shards.settings.heartbeat_interval):
                    listing = await self._listing()
                card = None if listing is None else shards.card(listing)
                if card is not None:
                    await shards.board.publish(link, card)
                if listing is not None and not shards.draining:
                    await self._adopt_orphans(listing)
            except ClusterUnavailable as exc:
                log.debug("heartbeat incomplete: %s", exc)
        # Outside the scope above: a fence is never cut short by the next fence time.
        if lost:
            await self._fence(lost, "lease lost")
        await self._fence_overdue()

    async def _listing(self) -> tuple[ArenaListing, ...]:
        return await self._directory.ask(lambda reply: ListArenas(reply=reply))

    async def _adopt_orphans(self, listing: Sequence[ArenaListing]) -> None:
        if self._storage is None:
            return
        try:
            live = await self._storage.list_live_arenas()
        except StorageError as exc:
            log.debug("no orphans looked for: %s", exc)
            return
        here = {entry.arena_id for entry in listing}
        candidates = {record.arena_id: record for record in live if record.arena_id not in here}
        holders = await self._shards.leases.holders(self._shards.cluster.link, candidates)
        for arena_id, holder in holders.items():
            # Never waits on a busy directory: the next beat asks again.
            if holder is None and not self._directory.try_send(
                AdoptArena(record=candidates[arena_id])
            ):
                return

    async def _fence_overdue(self) -> None:
        overdue = self._shards.leases.book.overdue(trio.current_time())
        if overdue:
            await self._fence(overdue, "lease not renewed in time")

    async def _fence(self, arena_ids: list[str], why: str) -> None:
        for arena_id in arena_ids:
            self._shards.leases.book.forget(arena_id)
        log.warning("arenas fenced: %s", why, extra={"arenas": arena_ids})
        await self._directory.send(FenceArenas(arena_ids=tuple(arena_ids)))
