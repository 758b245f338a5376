"""One bot: a guest player that logs in, joins, places tiles and checks its stream.

A bot goes through the server's public doors only: ``POST /v1/auth/guest`` for a token,
then a WebSocket speaking protocol v1 (:class:`~tilemud.player_client.PlayerClient`). It places
tiles open-loop at the configured rate (a slow answer does not slow the next placement,
so the server's latency is not hidden by the bot waiting for it), acknowledges its stream,
and counts every frame it never received.

Reconnect storm: at ``reconnect_at`` the bot drops its TCP connection without a close
handshake, reconnects with the last ``resume_token`` and ``last_seq``, and repeats every
placement whose answer had not arrived with the same ``rid`` (the critical tier answers a
repeat with the first answer). A connection the server closes with a code that invites a
resume (1001, 1006, 1011, 1013, 4008) is resumed the same way, a few times at most.

Nothing a bot meets is raised past it: refusals, timeouts, error frames and closes are
counted in the tally by stage and code.
"""

from __future__ import annotations

import logging
import random
import time
from enum import Enum
from typing import Final

import trio
from trio_websocket import ConnectionClosed

from tilemud.errors import ProtocolError
from tilemud.loadtest._bot_client import LoadClient
from tilemud.loadtest._discovery import DiscoveryFailed, discover_ws_url
from tilemud.loadtest._login import LoginFailed, guest_login
from tilemud.loadtest._player import PlayerGame
from tilemud.loadtest._socket import ConnectFailed, PlayerSocket, close_label, open_player_socket
from tilemud.loadtest._state import SwarmState
from tilemud.loadtest._tally import JOIN, LOGIN, RESUME, WELCOME
from tilemud.player_client import HandshakeFailed, PlayerClient
from tilemud.protocol import Ack, ErrorFrame, Join, Joined

log = logging.getLogger("tilemud.loadtest")

#: Seconds to open a WebSocket, and to wait for a welcome or a joined.
ANSWER_TIMEOUT: Final = 10.0
#: Reconnections after the server closed or refused a connection, per bot.
MAX_RECONNECTS: Final = 3
#: Joins tried when the server answers with a passing refusal (``retry_after``).
JOIN_TRIES: Final = 3
#: Seconds between acknowledgements when fewer than ``ack_every`` frames came.
ACK_PERIOD: Final = 1.0
#: Close codes after which a client reconnects with its resume token (docs/protocol.md).
RESUMABLE_CLOSES: Final = frozenset({1001, 1006, 1011, 1013, 4008})


class _End(Enum):
    DONE = "done"
    STORM = "storm"
    CLOSED = "closed"
    FAILED = "failed"
    #: The join was answered ``elsewhere``: connect to the node discovery names.
    MOVED = "moved"


class Bot:
    """One simulated player.

    Args:
        index: the bot's number in the run (0-based); names it and seeds its choices.
        state: what the bots of this process share.
        start_at: Trio time at which this bot starts (the ramp spreads them).
    """

    def __init__(self, index: int, state: SwarmState, *, start_at: float) -> None:
        self.index = index
        self.state = state
        self.start_at = start_at
        self.rng = random.Random(f"{state.config.seed}:{index}")
        self.name = f"bot-{index}"
        self.game = PlayerGame(state, self.rng)
        self.token: str | None = None
        self.resume_token: str | None = None
        self._storm_done = False
        self._dropped_at: float | None = None
        self._joined_once = False
        self._closed: ConnectionClosed | None = None
        #: Where the next connection goes (discovery changes it in a cluster).
        self.ws_url = state.config.ws_url
        self._moved = False

    # -- the bot's life -------------------------------------------------------------------

    async def run(self) -> None:
        """Play until the run's end; never raises but for cancellation."""
        tally = self.state.tally
        await trio.sleep_until(self.start_at)
        tally.events["bots_started"] += 1
        hard_limit = self.state.start + self.state.config.hard_limit
        with trio.move_on_at(hard_limit) as scope:
            try:
                await self._play(trio.current_time())
            except Exception as exc:  # a bug of the bot (or of a frame it met): report it
                tally.errors[f"bot:crash_{type(exc).__name__}"] += 1
                log.exception("bot %s crashed", self.name)
            finally:
                self.game.retire()
        if scope.cancelled_caught:
            tally.errors["bot:hard_limit"] += 1

    async def _play(self, began: float) -> None:
        self.token = await self._login()
        if self.token is None:
            return
        resume = False
        reconnects = 0
        while trio.current_time() < self.state.finish_at:
            if self.state.config.discover and not await self._discover():
                return
            end = await self._connection(began, resume=resume)
            if end in (_End.DONE, _End.FAILED):
                return
            if end is _End.MOVED:
                reconnects += 1
                if reconnects > MAX_RECONNECTS:
                    self.state.tally.errors["bot:gave_up_moving"] += 1
                    return
                continue  # a fresh session on the node discovery names
            if end is _End.CLOSED:
                reconnects += 1
                if reconnects > MAX_RECONNECTS:
                    self.state.tally.errors["bot:gave_up_reconnecting"] += 1
                    return
                await trio.sleep(self.rng.uniform(0.5, 1.5))
            resume = self.resume_token is not None

    async def _login(self) -> str | None:
        asked = trio.current_time()
        try:
            token, self.game.player_id = await guest_login(self.state.http, self.name)
        except LoginFailed as exc:
            self.state.tally.errors[f"login:{exc.code}"] += 1
            return None
        self.state.record(LOGIN, trio.current_time() - asked)
        return token

    async def _discover(self) -> bool:
        """Ask discovery where to connect (``--discover``); False when it names no node."""
        config = self.state.config
        try:
            with trio.fail_after(ANSWER_TIMEOUT):
                self.ws_url = await discover_ws_url(
                    self.state.http, mode=config.mode, region=config.region
                )
        except DiscoveryFailed as exc:
            self.state.tally.errors[f"discovery:{exc.code}"] += 1
            return False
        except trio.TooSlowError:
            self.state.tally.errors["discovery:timeout"] += 1
            return False
        return True

    async def _connection(self, began: float, *, resume: bool) -> _End:
        tally = self.state.tally
        opened = trio.current_time()
        try:
            async with open_player_socket(self.ws_url, within=ANSWER_TIMEOUT) as socket:
                client = LoadClient(
                    socket.websocket,
                    on_frame=self.game.see,
                    strict=self.state.config.strict_decode,
                    memo=self.state.memo,
                )
                try:
                    return await self._greeted(client, socket, began, opened=opened, resume=resume)
                except ConnectionClosed as closed:
                    self._closed = closed
                return self._after_close(self._closed)
        except ConnectFailed as exc:
            tally.errors[f"connect:{exc.code}"] += 1
            return _End.CLOSED if resume else _End.FAILED

    async def _greeted(
        self,
        client: PlayerClient,
        socket: PlayerSocket,
        began: float,
        *,
        opened: float,
        resume: bool,
    ) -> _End:
        if not await self._greet(client, resume=resume):
            return _End.FAILED
        if not resume:
            self.state.record(WELCOME, trio.current_time() - opened)
        client.stream, client.view = self.game.stream, self.game.view
        self.state.connected += 1
        try:
            if not self.game.seated and not await self._join(client, began):
                moved, self._moved = self._moved, False
                return _End.MOVED if moved else _End.FAILED
            await self._repeat_pending(client)
            return await self._session(client, socket)
        finally:
            self.state.connected -= 1

    def _after_close(self, closed: ConnectionClosed | None) -> _End:
        self._closed = None
        if closed is None:
            return _End.FAILED
        self.state.tally.closes[close_label(closed)] += 1
        self._dropped_at = trio.current_time()
        code = closed.reason.code if closed.reason is not None else None
        return _End.CLOSED if code in RESUMABLE_CLOSES else _End.FAILED

    async def _greet(self, client: PlayerClient, *, resume: bool) -> bool:
        tally = self.state.tally
        assert self.token is not None
        try:
            with trio.fail_after(ANSWER_TIMEOUT):
                welcome = await client.hello(
                    self.token,
                    resume_token=self.resume_token if resume else None,
                    last_seq=self.game.stream.last_seq if resume else None,
                )
        except HandshakeFailed as exc:
            tally.errors[f"hello:{exc.error.code}"] += 1
            return False
        except trio.TooSlowError:
            tally.errors["hello:timeout"] += 1
            return False
        self.resume_token = welcome.resume_token
        if resume:
            dropped_at = self._dropped_at if self._dropped_at is not None else trio.current_time()
            self.state.record(RESUME, trio.current_time() - dropped_at)
            if welcome.resumed:
                tally.events["resumed"] += 1
                self.game.replay_before = time.time()
            else:
                tally.events["resume_got_fresh_session"] += 1
                self.game.lose_session()
        return True

    async def _join(self, client: PlayerClient, began: float) -> bool:
        tally = self.state.tally
        config = self.state.config
        for _ in range(JOIN_TRIES):
            rid = self.game.next_rid("j")
            try:
                with trio.fail_after(ANSWER_TIMEOUT):
                    answer = await client.request(
                        Join(rid=rid, mode=config.mode, region=config.region)
                    )
            except trio.TooSlowError:
                tally.errors["join:timeout"] += 1
                return False
            client.answers.pop(rid, None)
            if isinstance(answer, Joined):
                self.game.seat(answer)
                if not self._joined_once:
                    self._joined_once = True
                    self.state.record(JOIN, trio.current_time() - began)
                    tally.events["joined"] += 1
                else:
                    tally.events["rejoined"] += 1
                return True
            if not isinstance(answer, ErrorFrame):
                tally.errors["join:unexpected_answer"] += 1
                return False
            if answer.code == "elsewhere" and self.state.config.discover:
                tally.events["sent_elsewhere"] += 1
                self._moved = True
                return False
            tally.errors[f"join:{answer.code}"] += 1
            if answer.retry_after is None:
                return False
            await trio.sleep(answer.retry_after)
        return False

    async def _repeat_pending(self, client: PlayerClient) -> None:
        """After a resume: repeat what was not answered, with the same rids."""
        now = trio.current_time()
        for rid, pending in list(self.game.pending.items()):
            pending.sent = now
            self.game.repeated.add(rid)
            self.state.tally.events["places_repeated"] += 1
            await client.send(pending.repeat(rid))
        if self.game.join_rid is not None:
            config = self.state.config
            await client.send(Join(rid=self.game.join_rid, mode=config.mode, region=config.region))

    async def _session(self, client: PlayerClient, socket: PlayerSocket) -> _End:
        """Play on one connection until the end, the storm, or a close."""
        storm_at = self.state.storm_at
        if self._storm_done or storm_at is None or storm_at <= trio.current_time():
            storm_at = None  # a bot that joined after the storm does not take part
        end = _End.CLOSED
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._receive_loop, client, nursery.cancel_scope)
            nursery.start_soon(self._place_loop, client, nursery.cancel_scope)
            nursery.start_soon(self._ack_loop, client)
            end = await self._until_end(storm_at)
            nursery.cancel_scope.cancel()
        if self._closed is not None:
            raise self._closed
        if end is _End.STORM:
            self._storm_done = True
            self._dropped_at = trio.current_time()
            self.state.tally.events["storm_drops"] += 1
            self.state.tally.events["storm_pending_places"] += len(self.game.pending)
            socket.drop()
        return end

    async def _until_end(self, storm_at: float | None) -> _End:
        state = self.state
        while True:
            now = trio.current_time()
            if storm_at is not None and now >= storm_at:
                return _End.STORM
            if now >= state.finish_at or (now >= state.play_until and not self.game.pending):
                return _End.DONE
            wake = state.finish_at if now >= state.play_until else state.play_until
            if now >= state.play_until:
                wake = min(wake, now + 0.05)  # waiting for the last answers
            if storm_at is not None:
                wake = min(wake, storm_at)
            await trio.sleep_until(wake)

    # -- on one connection ----------------------------------------------------------------

    async def _receive_loop(self, client: PlayerClient, scope: trio.CancelScope) -> None:
        ack_every = self.state.config.ack_every
        try:
            while True:
                try:
                    frame = await client.receive()
                except ProtocolError as exc:  # a frame this strict client cannot read
                    self.state.tally.errors[f"decode:{exc.code}"] += 1
                    continue
                rid = getattr(frame, "rid", None)
                if rid is not None:
                    client.answers.pop(rid, None)
                if self.game.stream.last_seq - self.game.acked >= ack_every:
                    await self._ack(client)
        except ConnectionClosed as closed:
            self._closed = closed
            scope.cancel()

    async def _ack_loop(self, client: PlayerClient) -> None:
        try:
            while True:
                await trio.sleep(ACK_PERIOD)
                if self.game.stream.last_seq > self.game.acked:
                    await self._ack(client)
        except ConnectionClosed:
            return  # the receive loop reports the close

    async def _ack(self, client: PlayerClient) -> None:
        self.game.acked = self.game.stream.last_seq
        await client.send(Ack(seq=self.game.acked))

    async def _place_loop(self, client: PlayerClient, scope: trio.CancelScope) -> None:
        state = self.state
        rate = state.config.actions_per_second
        if rate <= 0:
            return
        interval = 1.0 / rate
        next_at = max(trio.current_time(), self.start_at) + self.rng.uniform(0, interval)
        try:
            while next_at < state.play_until:
                await trio.sleep_until(next_at)
                game = self.game
                if game.seated:
                    await client.send(game.next_place())
                elif game.join_rid is None and trio.current_time() >= game.next_join_at:
                    await client.send(game.next_join())
                next_at += interval
                now = trio.current_time()
                if next_at < now:  # the send waited (backpressure): skip, do not burst
                    state.tally.events["places_late"] += 1
                    next_at = now
        except ConnectionClosed as closed:
            self._closed = closed
            scope.cancel()
