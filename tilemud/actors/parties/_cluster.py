"""How a party reaches members connected to other nodes of a cluster (docs/social.md,
"Parties across nodes").

A party's actor lives on the node that created it and nowhere else. That node writes where
its parties are in Redis, with a time to live refreshed every heartbeat (like presence):

- ``party:<party_id>`` = the node that holds the party;
- ``party-of:<player_id>`` = the party the player is a member of.

So a node that died takes its parties with it: their keys expire within
``cluster.node_ttl``, and a member's request is then answered ``not_in_party`` (or
``no_invite`` for an invite of that party), as on one node when a party ended.

A member (or invitee) connected to another node asks through the bus: the request goes to
the topic ``party.<node>`` of the party's node, with an id and the asker's node, and the
answer comes back on ``party-answer.<asker>``. The asker waits at most ``ask_timeout``
seconds: no answer is ``unavailable`` with the link's ``retry_after`` (the party may or may
not have applied it: the client asks again with a new ``rid`` and is told what is true,
for example ``already_in_party``). A request to a node nobody listens for (the bus reached
no node: it died, its keys not expired yet) is answered ``unavailable`` at once.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import trio

from tilemud.cluster import ClusterBus, ClusterLink, ClusterUnavailable
from tilemud.config import ClusterSettings
from tilemud.social.party_rules import PartyState, Refusal

log = logging.getLogger("tilemud.parties")

#: Requests heard from other nodes and not yet served; more are dropped (the asker times
#: out and is told ``unavailable``).
INBOX_SIZE = 256

#: Delete a key only if it still says what this node wrote.
_DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

#: What a party's node answers a request with: the party after it, None when it ended, a
#: refusal, or :data:`GONE` (no such party there).
Answer = PartyState | Refusal | None | str
GONE = "gone"

#: Serves one request heard from another node: (request) -> answer.
Serve = Callable[[Mapping[str, Any]], Awaitable[Answer]]


class PartyRemoteFailed(Exception):
    """The party's node did not answer in time (or Redis did not take the request)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("the party's node did not answer")
        self.retry_after = retry_after


class PartyLinks:
    """This node's parties in Redis, and requests to and from the other nodes' parties.

    Args:
        cluster: the node's cluster link.
        bus: the node's bus (topics registered here, before it runs).
        settings: ``[cluster]`` (``heartbeat_interval``, ``node_ttl``).
        online: whether a player has a session on any node (cluster presence).
        ask_timeout: seconds a request to another node waits for its answer.
    """

    def __init__(
        self,
        cluster: ClusterLink,
        bus: ClusterBus,
        settings: ClusterSettings,
        *,
        online: Callable[[str], Awaitable[bool]],
        ask_timeout: float = 5.0,
    ) -> None:
        self.online = online
        self._cluster = cluster
        self._bus = bus
        self._settings = settings
        self._ask_timeout = ask_timeout
        self.node_id = bus.node_id
        self._pending: dict[str, tuple[trio.Event, list[Any]]] = {}
        self._inbox_in, self._inbox_out = trio.open_memory_channel[tuple[str, dict[str, Any]]](
            INBOX_SIZE
        )
        #: Keys this node wrote, with their value: ``party:<id>`` and ``party-of:<player>``.
        self._written: dict[str, str] = {}
        self._writing = trio.Lock()
        #: Requests dropped (inbox full) and bus messages that were not ours (ignored).
        self.dropped = 0
        self.garbage = 0
        bus.on(_request_topic(self.node_id), self._heard_request)
        bus.on(_answer_topic(self.node_id), self._heard_answer)

    # -- where parties are --------------------------------------------------------------------

    async def party_of(self, player_id: str) -> str | None:
        """The party ``player_id`` is a member of on any node, per Redis (None: none).

        Raises:
            ClusterUnavailable: Redis did not answer.
        """
        link = self._cluster.link
        return await link.run(lambda redis: redis.get(link.key("party-of", player_id)))

    async def node_of(self, party_id: str) -> str | None:
        """The node that holds ``party_id``, or None when no node does (any more).

        Raises:
            ClusterUnavailable: Redis did not answer.
        """
        link = self._cluster.link
        return await link.run(lambda redis: redis.get(link.key("party", party_id)))

    async def record(self, parties: Mapping[str, PartyState]) -> None:
        """Make Redis say what this node's ``parties`` are (writes what changed, drops what
        ended). Raises ClusterUnavailable; what was not written is tried again next time."""
        link = self._cluster.link
        wanted: dict[str, str] = {}
        for state in parties.values():
            wanted[link.key("party", state.party_id)] = self.node_id
            for member in state.members:
                wanted[link.key("party-of", member)] = state.party_id
        ttl_ms = max(1, round(self._settings.node_ttl * 1000))
        async with self._writing:
            for key, value in wanted.items():
                if self._written.get(key) != value:
                    await link.run(_set(key, value, ttl_ms))
                    self._written[key] = value
            for key, value in list(self._written.items()):
                if key not in wanted:
                    await link.run(_delete_if(key, value))
                    del self._written[key]

    async def refresh(self) -> None:
        """Renew every key this node wrote (a heartbeat); rewrites those that expired."""
        link = self._cluster.link
        ttl_ms = max(1, round(self._settings.node_ttl * 1000))
        async with self._writing:
            for key, value in list(self._written.items()):
                await link.run(_set(key, value, ttl_ms))

    async def keep(self, parties: Callable[[], Mapping[str, PartyState]], serve: Serve) -> None:
        """Serve the other nodes' requests and renew the keys, until cancelled."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._serve_all, serve)
            while True:
                await trio.sleep(self._settings.heartbeat_interval)
                try:
                    await self.record(parties())
                    await self.refresh()
                except ClusterUnavailable as exc:
                    log.debug("party keys not renewed", extra={"why": str(exc)})

    # -- asking another node -----------------------------------------------------------------

    async def ask(self, node: str, request: Mapping[str, Any]) -> Answer:
        """Send ``request`` to the party's ``node`` and wait for its answer.

        Raises:
            PartyRemoteFailed: no answer within ``ask_timeout``, no node listens there
                (it died: its keys expire within ``node_ttl``), or Redis unavailable.
        """
        request_id = secrets.token_hex(8)
        waiting = trio.Event()
        slot: list[Any] = []
        self._pending[request_id] = (waiting, slot)
        try:
            with trio.move_on_after(self._ask_timeout):
                body = {"id": request_id, "from": self.node_id, "r": dict(request)}
                try:
                    heard_by = await self._bus.publish(_request_topic(node), body)
                except ClusterUnavailable as exc:
                    raise PartyRemoteFailed(exc.retry_after) from exc
                if heard_by == 0:
                    # Its node died and its keys have not expired yet: ask again later.
                    raise PartyRemoteFailed(self._retry_after())
                await waiting.wait()
                return _decode(slot[0])
        finally:
            del self._pending[request_id]
        raise PartyRemoteFailed(self._retry_after())

    async def tell(self, node: str, request: Mapping[str, Any]) -> None:
        """Send ``request`` to ``node`` without waiting for an answer (a member gone).
        Never raises: a lost one leaves the member in the party until they leave."""
        body = {"id": "", "from": self.node_id, "r": dict(request)}
        try:
            await self._bus.publish(_request_topic(node), body)
        except ClusterUnavailable as exc:
            log.warning("party request not sent", extra={"why": str(exc)})

    def _retry_after(self) -> float:
        try:
            return self._cluster.link.retry_after
        except ClusterUnavailable as exc:
            return exc.retry_after

    # -- the bus's side (the bus's task: never block) ----------------------------------------

    def _heard_request(self, origin: str, message: dict[str, Any]) -> None:
        request_id, request = message.get("id"), message.get("r")
        if not isinstance(request_id, str) or not isinstance(request, dict):
            self._garbage(origin)
            return
        try:
            self._inbox_in.send_nowait((origin, message))
        except trio.WouldBlock:
            self.dropped += 1
            log.warning("party request dropped: inbox full", extra={"from": origin})

    def _heard_answer(self, origin: str, message: dict[str, Any]) -> None:
        found = self._pending.get(str(message.get("id")))
        if found is None or "a" not in message:
            return  # late (timed out already) or not ours
        waiting, slot = found
        if not waiting.is_set():
            slot.append(message["a"])
            waiting.set()

    async def _serve_all(self, serve: Serve) -> None:
        async with trio.open_nursery() as nursery:
            async for origin, message in self._inbox_out:
                nursery.start_soon(self._serve_one, serve, origin, message)

    async def _serve_one(self, serve: Serve, origin: str, message: dict[str, Any]) -> None:
        try:
            answer = await serve(message["r"])
        except Exception:
            log.exception("party request failed", extra={"from": origin})
            return  # the asker times out: unavailable
        if not message["id"]:
            return
        try:
            await self._bus.publish(
                _answer_topic(origin), {"id": message["id"], "a": _encode(answer)}
            )
        except ClusterUnavailable as exc:
            log.warning("party answer not sent", extra={"why": str(exc)})

    def _garbage(self, origin: str) -> None:
        self.garbage += 1
        log.warning("bus message ignored", extra={"topic": "party", "origin": origin})


def _set(key: str, value: str, ttl_ms: int) -> Callable[[Any], Awaitable[object]]:
    return lambda redis: redis.set(key, value, px=ttl_ms)


def _delete_if(key: str, value: str) -> Callable[[Any], Awaitable[object]]:
    return lambda redis: redis.eval(_DELETE_IF, keys=[key], args=[value])


def _request_topic(node_id: str) -> str:
    return f"party.{node_id}"


def _answer_topic(node_id: str) -> str:
    return f"party-answer.{node_id}"


def _encode(answer: Answer) -> dict[str, Any]:
    if isinstance(answer, PartyState):
        return {"state": attrs.asdict(answer)}
    if isinstance(answer, Refusal):
        return {"refused": [answer.code, answer.message]}
    if answer is None:
        return {"ended": True}
    return {"gone": True}


def _decode(encoded: object) -> Answer:
    """An answer as the party's node sent it (garbage counts as the party gone)."""
    if not isinstance(encoded, dict):
        return GONE
    state = encoded.get("state")
    if isinstance(state, dict):
        return PartyState(
            party_id=str(state["party_id"]),
            leader=str(state["leader"]),
            members=tuple(str(m) for m in state["members"]),
            invited=tuple(str(i) for i in state["invited"]),
            cap=int(state["cap"]),
        )
    refused = encoded.get("refused")
    if isinstance(refused, list) and len(refused) == 2:
        return Refusal(str(refused[0]), str(refused[1]))
    if encoded.get("ended") is True:
        return None
    return GONE
