"""The composition root: builds the supervision tree and wires the rooms together.

The only module that knows every room; everything else is handed what it needs here.

As built today (docs/architecture.md keeps the picture)::

    root (rest_for_one: a child restarts with everything started after it)
    ├── storage   the one owner of the database: requests, write-behind (durable only)
    ├── cluster   the link to the cluster's Redis (only when ``redis.url`` is set)
    ├── bus       the cluster's pub/sub: messages to every node (only with ``cluster``)
    ├── world (one_for_one)
    │   ├── play (rest_for_one)
    │   │   ├── arenas     dynamic: one arena actor per battle or epic arena
    │   │   └── directory  matchmaking Mode -> Region -> Load; brings back live arenas
    │   ├── guilds    one actor: every guild, its members, roles and invites
    │   ├── parties   dynamic: one party actor per party; each ends itself when empty
    │   ├── chat (rest_for_one)
    │   │   ├── log        channel messages to storage, behind the conversation
    │   │   ├── channels   dynamic: one actor per channel (global, region, arena, guild, party)
    │   │   ├── directory  who reads which channel; channels started on demand
    │   │   ├── dm         the direct message courier (stored, delivered once per session)
    │   │   └── purge      deletes messages past their channel type's retention
    │   ├── moderation mutes and bans in force (loaded from storage), moderators' acts
    │   └── replays   the periodic purge of replays past their retention (durable only)
    ├── gateway   trio-websocket listener; sessions and their connections
    └── http      Quart-Trio app on Hypercorn: auth, health, metrics, OpenAPI, replays

One :class:`~tilemud.metrics.ServerMetrics` is created here and its slices passed down:
arena meters to the world (and through it to each arena), the session meter in the
sessions' services, the connection meter to the gateway, whose ``load`` is read at scrape
time; the HTTP app serves it at ``GET /metrics``.

Storage comes first: it starts before anything that uses it (its start checks the
schema, and migrates the embedded SQLite file) and stops last, after its final flush.
With ``database.durable`` off there is no storage child and nothing is stored.

The root is ``rest_for_one`` because each child depends only on those before it: a
gateway crash restarts the gateway and the HTTP server, and nothing of the world or
storage (the arenas play on; their players reconnect and resume their seats); a storage
crash restarts everything, since the world's state is only as good as what it stored.
A bug in one connection never gets this far (tilemud/net/containment.py).

One :class:`~tilemud.actors.session.PresenceRegistry` is built here and handed to the gateway
(whose session keeper keeps it) and to guilds, parties and chat (which reach players
through it). Sessions get the chat, guild and party request routes and listeners here, so
the session room imports none of them. One :class:`~tilemud.actors.elasticity.NpcAllowance`
is built here too: the elasticity supervisor (a child of the world) moves it, and every
arena reads it through the NPC policy the directory hands each arena. With ``redis.url``
set, one :class:`~tilemud.cluster.ClusterLink` joins the tree right after storage, then the
:class:`~tilemud.cluster.ClusterBus`; the parts that act across nodes are handed them and
ask the link for the open connection when they act.

Why one module of over 400 lines: it is the composition root, the one place that knows
every room; splitting the wiring would hide the order the tree is built in.
"""

from __future__ import annotations

import datetime
import logging
import time

import trio

from tilemud import __version__
from tilemud.actors.arena import (
    ArenaDirectory,
    ClusterShards,
    Discovery,
    HandOver,
    NpcPolicy,
    ShardKeeper,
)
from tilemud.actors.chat import ChatService
from tilemud.actors.elasticity import Elasticity, NpcAllowance, ProcessSampler, Thresholds
from tilemud.actors.guilds import GuildRequests, Guilds, GuildSync
from tilemud.actors.moderation import (
    BanAdmission,
    Moderation,
    MuteGate,
    ReportRequests,
    SanctionNews,
)
from tilemud.actors.parties import Parties, PartyRequests
from tilemud.actors.session import Presence, PresenceRegistry, SessionRef, SessionServices
from tilemud.auth import TokenAuthority
from tilemud.cluster.bus import ClusterBus
from tilemud.cluster.link import ClusterLink, ClusterUnavailable
from tilemud.cluster.presence import ClusterPresence, HerePresence
from tilemud.cluster.shared_limits import SharedLimits
from tilemud.config import Settings
from tilemud.metrics import ServerMetrics
from tilemud.net.gateway import Gateway
from tilemud.net.http import (
    ConsoleNode,
    DatabaseCheck,
    FigureRing,
    HealthReport,
    NodeReadiness,
    create_app,
    serve_http,
)
from tilemud.protocol import CloseCode, ErrorCode
from tilemud.storage import StorageActor, check_schema
from tilemud.storage.janitor import ReplayJanitor
from tilemud.supervisors import (
    ChildContext,
    ChildNotRunning,
    ChildSpec,
    DynamicSupervisor,
    Intensity,
    Strategy,
    Supervisor,
    run_root,
)
from tilemud.wiring import ActiveRules, Memberships, OnStarted, ServerAddresses, blocks, party_links

log = logging.getLogger("tilemud.server")


class TilemudServer:
    """Builds the tree from settings and runs it; also answers the health probe.

    Args:
        settings: the whole settings tree.
        metrics: the metrics every part feeds and ``GET /metrics`` serves; a fresh
            :class:`~tilemud.metrics.ServerMetrics` when None (one per server, never
            shared through a global registry).
    """

    def __init__(self, settings: Settings, *, metrics: ServerMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = ServerMetrics() if metrics is None else metrics
        self.tokens = TokenAuthority(
            settings.auth, resume_lifetime=settings.gateway.reconnect_grace
        )
        self.storage: StorageActor | None = None
        if settings.database.durable:
            self.storage = StorageActor(settings.database, data_dir=settings.server.data_dir)
            self.metrics.watch_storage(self.storage.stats)
        storage = None if self.storage is None else self.storage.client
        #: The cluster's Redis when ``redis.url`` is set; None: this node runs alone.
        self.cluster: ClusterLink | None = None
        #: Messages to every node of the cluster (rooms register their topics before the
        #: tree starts); None when this node runs alone.
        self.bus: ClusterBus | None = None
        if settings.redis.url is not None:
            self.cluster = ClusterLink(settings.redis, settings.cluster)
            self.bus = ClusterBus(self.cluster)
        #: This node's part of the shard directory (leases, routing); None alone.
        self.shards: ClusterShards | None = None
        if self.cluster is not None:
            self.shards = ClusterShards(
                self.cluster,
                settings.cluster,
                capacity=settings.world.max_arenas,
                addresses=self._public_addresses,
            )
        #: Set when a drain was asked for (``POST /v1/admin/drain``, SIGUSR1).
        self.drain_requested = trio.Event()
        self._draining = False
        npcs = settings.npcs
        # The elasticity supervisor alone moves the allowance; every arena reads it.
        allowance = NpcAllowance(step_percent=npcs.step_percent)
        self.elasticity = Elasticity(
            allowance=allowance,
            sampler=ProcessSampler,
            meter=self.metrics.npcs,
            thresholds=Thresholds(
                cpu_over=npcs.cpu_over,
                memory_over=npcs.memory_over,
                cpu_under=npcs.cpu_under,
                memory_under=npcs.memory_under,
                windows_over=npcs.windows_over,
                windows_under=npcs.windows_under,
            ),
            window=npcs.window,
        )
        self._arenas = DynamicSupervisor(
            "arenas",
            intensity=Intensity(restarts=10, period=10.0),
            max_children=settings.world.max_arenas,
        )
        self.directory = ArenaDirectory(
            settings.world,
            self._arenas,
            ActiveRules(settings.world, None if storage is None else storage.rules).rules_for,
            meters=self.metrics.arenas,
            storage=None if storage is None else storage.arenas,
            snapshot_ticks=settings.database.snapshot_ticks,
            npcs=NpcPolicy(
                allowance=allowance,
                meter=self.metrics.npcs,
                enabled=npcs.enabled,
                actions=npcs.actions,
                actions_window=npcs.actions_window,
            ),
            shards=self.shards,
        )
        # Arenas and matchmaking restart together: the directory only knows arenas its
        # supervisor runs.
        play_children = [
            ChildSpec(id="arenas", run=self._arenas.run, shutdown=5.0),
            ChildSpec(id="directory", run=self.directory.run),
        ]
        if self.shards is not None:
            # The heartbeat: leases, this node's card, orphans (docs/operations.md).
            keeper = ShardKeeper(
                self.shards, self.directory.ref, None if storage is None else storage.arenas
            )
            play_children.append(ChildSpec(id="shards", run=keeper.run, shutdown=3.0))
        play = Supervisor("play", play_children, strategy=Strategy.REST_FOR_ONE)
        # Who is on this node: kept by the gateway's session keeper, read by every room
        # that reaches players. Guilds and parties tell chat when someone may no longer
        # read their channel; chat asks them who is in which.
        self.presence = PresenceRegistry()
        limits = settings.limits
        shared = SharedLimits(self.cluster)
        #: Players on any node (None when this node runs alone): guilds, parties and
        #: moderation reach players through it; chat channels and the DM courier, which
        #: hold this node's sessions, use the registry and carry their own traffic on the bus.
        self.cluster_presence: ClusterPresence[SessionRef] | None = None
        anywhere: Presence = self.presence
        here: PresenceRegistry | HerePresence[SessionRef] = self.presence
        if self.cluster is not None and self.bus is not None:
            self.cluster_presence = ClusterPresence(
                self.presence,
                self.cluster,
                self.bus,
                settings.cluster,
                on_moved=self._replaced_elsewhere,
            )
            self.presence.watch(self.cluster_presence)
            anywhere = self.cluster_presence
            here = self.cluster_presence.here
        self.chat = ChatService(
            settings.social,
            settings.limits,
            regions=settings.world.regions,
            store=None if storage is None else storage.chat,
            presence=here,
            memberships=Memberships(lambda: self.guilds.client, lambda: self.parties),
            chat_limiter=shared.limit("chat", limits.chat, limits.chat_window),
            actions_limiter=shared.limit("chat_actions", limits.actions, limits.actions_window),
            bus=self.bus,
            sessions=here,
            online_anywhere=(
                None if self.cluster_presence is None else self.cluster_presence.online
            ),
        )
        chat = self.chat.client
        self.guilds = Guilds(
            settings.social,
            storage=None if storage is None else storage.guilds,
            presence=anywhere,
            is_blocked=blocks(chat),
            on_member_removed=chat.member_removed,
            on_channel_closed=chat.channel_closed,
            sync=None
            if self.bus is None or self.cluster is None
            else GuildSync(self.cluster, self.bus),
        )
        self.parties = Parties(
            settings.social,
            presence=anywhere,
            is_blocked=blocks(chat),
            on_member_removed=chat.member_removed,
            on_channel_closed=chat.channel_closed,
            links=party_links(self.cluster, self.bus, settings.cluster, self.cluster_presence),
        )
        # Mutes and bans: the actor owns them; the gateway (bans, at hello) and the chat
        # gate (mutes) read its book; a ban or kick closes the player's connection.
        self.moderation = Moderation(
            storage=None if storage is None else storage.admin,
            online=lambda player_id: self.presence.find(player_id) is not None,
            disconnect=self._disconnect_player,
            news=(
                None
                if self.cluster is None or self.bus is None
                else SanctionNews(self.cluster, self.bus)
            ),
            online_anywhere=(
                None if self.cluster_presence is None else self.cluster_presence.online
            ),
        )
        world_children = [
            ChildSpec(id="play", run=play.run, shutdown=10.0),
            ChildSpec(id="guilds", run=self.guilds.run),
            self.parties.child_spec(),
            self.chat.child_spec(),
            ChildSpec(id="moderation", run=self.moderation.run),
            ChildSpec(id="elasticity", run=self.elasticity.run, shutdown=1.0),
        ]
        if storage is not None:
            janitor = ReplayJanitor(storage.arenas, settings.database)
            self.metrics.watch_janitor(janitor.stats)
            world_children.append(ChildSpec(id="replays", run=janitor.run, shutdown=2.0))
        # Each part restarts alone: a guild bug does not end the parties, the chats or the
        # arenas (docs/architecture.md: the world is one_for_one).
        world = Supervisor("world", world_children, strategy=Strategy.ONE_FOR_ONE)
        services = SessionServices(
            directory=self.directory.ref,
            actions=shared.limit(
                "actions", limits.actions, limits.actions_window, shared=limits.shared_actions
            ),
            meter=self.metrics.session,
            storage=None if storage is None else storage.players,
            routes=(
                MuteGate(self.chat.requests, self.moderation.book),
                GuildRequests(self.guilds.client),
                PartyRequests(self.parties),
                ReportRequests(
                    storage=None if storage is None else storage.admin,
                    presence=self.presence,
                    limiter=shared.limit("reports", limits.reports, limits.reports_window),
                    max_chars=settings.social.message_max_chars,
                    clock=lambda: datetime.datetime.now(datetime.UTC),
                ),
            ),
            listeners=(self.chat.requests, self.parties),
            parties=self.parties,
            admission=BanAdmission(self.moderation.book),
            joins_at_once=settings.gateway.joins_at_once,
        )
        #: The line of joins: how many are worked on at once, how many wait.
        self.join_turns = services.join_turns
        self.gateway = Gateway(
            settings.server,
            settings.gateway,
            self.tokens,
            services,
            self.metrics.connection,
            presence=self.presence,
        )
        self.metrics.watch_gateway(self.gateway.load)
        self._stopping = False
        readiness = NodeReadiness(
            children=self._root_children_up,
            stopping=lambda: self._stopping or self.stopped.is_set(),
            database=None if storage is None else DatabaseCheck.through(storage),
            timeout=settings.server.readiness_timeout,
            cluster=None if self.cluster is None else self.cluster_state,
        )
        self._app = create_app(
            settings=settings,
            tokens=self.tokens,
            health=self,
            metrics=self.metrics,
            storage=None if storage is None else storage.arenas,
            readiness=readiness,
            admin=None if storage is None else storage.admin,
            moderation=self.moderation.client,
            rules=None if storage is None else storage.rules,
            sanctions=self.moderation.book,
            players=None if storage is None else storage.players,
            console=ConsoleNode(
                directory=self.directory.ref,
                tree=lambda: self._root.outline(),
                figures=FigureRing(self.metrics.registry),
                stopping=lambda: self._stopping or self.stopped.is_set(),
            ),
            bans=BanAdmission(self.moderation.book),
            discovery=Discovery(
                self.directory.ref,
                self.shards,
                self._public_addresses,
                "local" if self.cluster is None else self.cluster.node_id,
            ),
            drain=self._ask_drain,
            guest_limiter=None
            if self.cluster is None or limits.guest_logins == 0
            else shared.limit("guest_logins", limits.guest_logins, limits.guest_logins_window),
            sign_in_limiter=shared.limit(
                "admin_sign_ins", limits.admin_sign_ins, limits.admin_sign_ins_window
            ),
        )
        #: The rate limits that follow a player or an address, by name (``chat``,
        #: ``actions`` …): shared by the cluster's nodes when there is a cluster.
        self.limits = shared.built
        self._http_port: int | None = None
        self._started_at = time.time()
        #: Set once the tree has stopped after :meth:`stop` or a fatal error.
        self.stopped = trio.Event()
        grace = settings.gateway.close_timeout + 2.0
        children = [
            ChildSpec(id="world", run=world.run, shutdown=10.0),
            # The gateway answers what it read before it closes (drain_timeout).
            ChildSpec(
                id="gateway",
                run=self.gateway.run,
                shutdown=grace + settings.gateway.drain_timeout,
            ),
            ChildSpec(id="http", run=self._run_http, shutdown=grace),
        ]
        if self.cluster is not None and self.bus is not None:
            # Before the world: arenas, chat and presence of a cluster act through them.
            children[0:0] = [
                ChildSpec(id="cluster", run=self.cluster.run, shutdown=2.0),
                ChildSpec(id="bus", run=self.bus.run, shutdown=2.0),
            ]
            if self.cluster_presence is not None:
                # Before the gateway, whose session keeper tells it of every arrival.
                children.insert(
                    2, ChildSpec(id="presence", run=self.cluster_presence.run, shutdown=3.0)
                )
        if self.storage is not None:
            # The final flush may take a while on a slow database; the stop waits for it.
            children.insert(0, ChildSpec(id="storage", run=self._run_storage, shutdown=30.0))
        self._root_ids = tuple(child.id for child in children)
        self._root = Supervisor(
            "root",
            children,
            strategy=Strategy.REST_FOR_ONE,
            intensity=Intensity(restarts=3, period=30.0),
        )

    @property
    def addresses(self) -> ServerAddresses:
        """The bound addresses; valid once :meth:`run` reported started."""
        return ServerAddresses(
            host=self.settings.server.host,
            ws_port=self.gateway.port or 0,
            http_port=self._http_port or 0,
            ws_path=self.settings.gateway.path,
            http_scheme="https" if self.settings.server.tls else "http",
        )

    async def run(
        self, *, task_status: trio.TaskStatus[ServerAddresses] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run the tree until it is stopped; ``started`` reports the bound addresses.

        A drain asked for (:meth:`ask_drain`: ``POST /v1/admin/drain``, SIGUSR1) runs
        here, beside the tree, and ends in the graceful stop.
        """
        watching = trio.CancelScope()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._drain_when_asked, watching)
                await nursery.start(self._run_root, watching)
                task_status.started(self.addresses)
        finally:
            self.stopped.set()

    async def _run_root(
        self, watching: trio.CancelScope, *, task_status: trio.TaskStatus[None]
    ) -> None:
        await run_root(self._root, task_status=task_status)
        watching.cancel()  # the tree has stopped: no drain to wait for

    async def _drain_when_asked(self, watching: trio.CancelScope) -> None:
        with watching:
            await self.drain_requested.wait()
            await self.drain()

    def stop(self) -> None:
        """Begin a graceful stop: children stop in reverse order, each within its grace."""
        self._stopping = True  # not ready from now on: load balancers stop sending players
        self._root.stop()

    def ask_drain(self) -> bool:
        """Ask for a drain (it runs beside the tree, see :meth:`drain`); False when one
        was asked for already."""
        if self.drain_requested.is_set():
            return False
        log.warning("drain asked for")
        self.drain_requested.set()
        return True

    async def _ask_drain(self) -> bool:
        return self.ask_drain()

    async def drain(self) -> None:
        """Hand this node's arenas over to the cluster, then begin the graceful stop.

        New players and arenas go elsewhere from now on; each arena is stopped (snapshot,
        still live in storage), the database commits, the leases are given back (another
        node restores each within a heartbeat), then the node stops (players' connections
        close with 1001 and the client asks discovery where to go). Bounded by
        ``cluster.drain_timeout``: the stop comes then, handed over or not.
        """
        if self._draining:
            return
        self._draining = True
        self.drain_requested.set()
        if self.shards is not None:
            self.shards.draining = True
            self.shards.poke()
        began = trio.current_time()
        handed = 0
        with trio.move_on_after(self.settings.cluster.drain_timeout) as waited:
            handed = await self.directory.ref.ask(lambda reply: HandOver(reply=reply))
        log.warning(
            "drained" if not waited.cancelled_caught else "drain timed out",
            extra={"arenas": handed, "seconds": round(trio.current_time() - began, 3)},
        )
        self.stop()

    def _public_addresses(self) -> tuple[str, str] | None:
        """Where players and HTTP clients reach this node; None until both ports are bound."""
        if self.gateway.port is None or self._http_port is None:
            return None
        addresses = self.addresses
        cluster = self.settings.cluster
        return (
            cluster.public_ws_url or addresses.ws_url,
            cluster.public_http_url or addresses.http_url,
        )

    def health(self) -> HealthReport:
        """Up when every child of the root is running (the HTTP ``/healthz`` answer)."""
        up = {"gateway": self.gateway.port is not None, "http": self._http_port is not None}
        ok = all(up.values()) and not self.stopped.is_set()
        return HealthReport(
            ok=ok,
            details={
                "version": __version__,
                "uptime_s": round(time.time() - self._started_at, 3),
                "children": {child: "up" if is_up else "down" for child, is_up in up.items()},
                "sessions": len(self.gateway.sessions) if self.gateway.port else 0,
                "connections": self.gateway.connections,
                "cluster": {"status": "not_used"} if self.cluster is None else self.cluster_state(),
            },
        )

    def cluster_state(self) -> dict[str, object]:
        """The node's view of the cluster (``/healthz`` and ``/readyz`` say it): ``ok``
        while its last Redis command worked, ``unavailable`` since one failed (degraded:
        docs/operations.md, "When Redis is down"), ``down`` while the link is not open."""
        if self.cluster is None:
            return {"status": "not_used"}
        state: dict[str, object] = {"node": self.cluster.node_id}
        try:
            link = self.cluster.link
        except ClusterUnavailable:
            state["status"] = "down"
        else:
            state["status"] = "ok" if link.available else "unavailable"
        if self.bus is not None:
            state["bus_reconnects"] = self.bus.reconnects
        if self.cluster_presence is not None:
            state["forwards_lost"] = self.cluster_presence.forwards_lost
        return state

    def _disconnect_player(
        self, player_id: str, code: int, reason: str, farewell: str | None
    ) -> bool:
        """Close a player's live connection (a ban, a kick) after the ``farewell`` frame;
        False when they have none."""
        try:
            sessions = self.gateway.sessions
        except RuntimeError:  # the gateway is not running: no connection to close
            return False
        return sessions.disconnect(player_id, code, reason, farewell)

    def _replaced_elsewhere(self, player_id: str) -> None:
        """The player's newer session is on another node: close this node's connection
        of theirs (4009), as a newer connection on this node would."""
        self._disconnect_player(player_id, CloseCode.REPLACED, ErrorCode.REPLACED, None)

    def _root_children_up(self) -> dict[str, bool]:
        """Each child of the root and whether it runs now (``GET /readyz``)."""
        up: dict[str, bool] = {}
        for child in self._root_ids:
            try:
                self._root.started_value(child)
            except ChildNotRunning:
                up[child] = False
            else:
                up[child] = True
        return up

    async def _run_storage(self, ctx: ChildContext) -> None:
        assert self.storage is not None
        # Blocking (Alembic): in a thread. SQLite is migrated to head; PostgreSQL behind
        # its head is refused with the command that fixes it (SchemaOutOfDate).
        await trio.to_thread.run_sync(check_schema, self.settings)
        await self.storage.run(ctx)

    async def _run_http(self, ctx: ChildContext) -> None:
        def record_port(port: int) -> None:
            self._http_port = port
            scheme = "https" if self.settings.server.tls else "http"
            log.info(
                "http listening", extra={"url": f"{scheme}://{self.settings.server.host}:{port}"}
            )
            ctx.started(port)

        try:
            await serve_http(
                self._app,
                self.settings.server,
                shutdown_trigger=ctx.stopping.wait,
                task_status=OnStarted(record_port),
            )
        finally:
            self._http_port = None
