"""The server's Prometheus metrics: one :class:`ServerMetrics` per server, passed down.

There is no global registry: :class:`~tilemud.server.TilemudServer` creates one
:class:`ServerMetrics` (its own ``CollectorRegistry``) and hands each part the slice it
feeds, with every labelled child resolved once, up front, so that no hot path looks a label
up:

- each arena gets the :class:`ArenaMeter` of its mode (:attr:`ServerMetrics.arenas`:
  running arenas, tick durations, skipped ticks, resolved placements);
- sessions get a :class:`SessionMeter` (actions by outcome, stream frames dropped); the
  actions, one per placement, are counted in plain ``int`` s and read at scrape time;
- the gateway gets a :class:`ConnectionMeter` (handshake durations, replies dropped) and
  its :meth:`~tilemud.net.gateway.Gateway.load` is read at scrape time
  (:meth:`ServerMetrics.watch_gateway`) for the gauges of live connections, their queue
  depths and the frames they wrote. Frames written are counted in a plain ``int`` per
  connection and summed at scrape time: a Prometheus ``Counter.inc`` costs about 0.3 µs
  (it takes a lock), an attribute increment about 0.04 µs, on a path that writes a frame
  in 7 to 37 µs;
- the storage actor's counters (``StorageStats``, read as :class:`StorageCounters`) and the replay
  janitor's (``PurgeStats``, read as :class:`PurgeCounters`) are read at scrape time too
  (:meth:`ServerMetrics.watch_storage`, :meth:`ServerMetrics.watch_janitor`): both already
  keep plain counters of their own, owned by their task.

Every family read at scrape time is exposed from the start: until something is watched,
its series read 0 (a server without storage shows zeros rather than missing series, so
dashboards and alerts need no special case).

``GET /metrics`` serves :meth:`ServerMetrics.exposition` with :data:`CONTENT_TYPE`.
docs/operations.md lists every metric.

Why one module of over 400 lines: every family the server exposes is defined here, once,
so that docs/operations.md can be checked against one place.
"""

from __future__ import annotations

import collections
import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Final, Generic, Literal, Protocol, TypeAlias, TypeVar, get_args

import attrs
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tilemud.game import Mode, Outcome, PlacementResult

#: The ``Content-Type`` of :meth:`ServerMetrics.exposition`.
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST

#: Tick processing time buckets, seconds: 0.1 ms to 200 ms (a 10 Hz tick has 100 ms).
TICK_BUCKETS: Final = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
)
#: Handshake duration buckets, seconds: 1 ms to the default hello timeout (5 s).
HANDSHAKE_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

#: The player's critical requests, as the ``action`` label.
Action: TypeAlias = Literal["join", "leave", "place"]
#: What the session made of a critical request, as the ``outcome`` label.
ActionOutcome: TypeAlias = Literal["accepted", "rate_limited", "refused", "overloaded", "repeated"]
#: Which frames were lost for good, as the ``kind`` label.
DropKind: TypeAlias = Literal["stream", "reply"]

MODES: Final[tuple[Mode, ...]] = get_args(Mode)
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)
ACTION_OUTCOMES: Final[tuple[ActionOutcome, ...]] = get_args(ActionOutcome)
PLACEMENT_OUTCOMES: Final[tuple[Outcome, ...]] = get_args(Outcome)

#: The figures a collector read at scrape time exposes.
F = TypeVar("F")


@attrs.frozen(kw_only=True)
class ArenaMeter:
    """What an arena of one mode feeds; the children of that mode, resolved once.

    Attributes:
        running: ``tilemud_arenas{mode}``: incremented while an incarnation runs.
        tick_seconds: ``tilemud_tick_duration_seconds{mode}``: one observation per
            resolved tick.
        broadcast_seconds: ``tilemud_broadcast_delay_seconds{mode}``: one observation
            per resolved tick, from its boundary until its frames were handed to every
            player's socket (or queue).
        ticks_skipped: ``tilemud_ticks_skipped_total{mode}``.
    """

    running: Gauge
    tick_seconds: Histogram
    broadcast_seconds: Histogram
    ticks_skipped: Counter
    _placements: Mapping[Outcome, Counter]

    def placements_resolved(self, results: Iterable[PlacementResult]) -> None:
        """Count a tick's placement results by outcome: one ``inc`` per outcome seen."""
        for outcome, count in collections.Counter(r.outcome for r in results).items():
            self._placements[outcome].inc(count)

    @classmethod
    def standalone(cls, mode: Mode) -> ArenaMeter:
        """A meter on a registry of its own, for an arena run outside a server (tests)."""
        return ServerMetrics(process=False).arenas[mode]


@attrs.frozen(kw_only=True)
class NpcMeter:
    """What arenas' NPC rosters and the elasticity supervisor feed.

    Attributes:
        running: ``tilemud_npcs``: NPCs seated in running arenas.
        capacity: ``tilemud_npc_capacity``: the sum of running arenas' effective NPC caps.
        refused: ``tilemud_npc_placements_refused_total``: over an NPC's budget.
        sheds: ``tilemud_npc_sheds_total``: steps of NPC capacity shed.
        restores: ``tilemud_npc_restores_total``: steps restored.
        steps: ``tilemud_npc_shed_steps``: steps shed now.
        cpu: ``tilemud_elasticity_cpu_share``: the last window's CPU share of one core.
        memory: ``tilemud_elasticity_memory_share``: the last window's RSS share.
    """

    running: Gauge
    capacity: Gauge
    refused: Counter
    sheds: Counter
    restores: Counter
    steps: Gauge
    cpu: Gauge
    memory: Gauge

    @classmethod
    def standalone(cls) -> NpcMeter:
        """A meter on a registry of its own (tests)."""
        return ServerMetrics(process=False).npcs


@attrs.frozen(kw_only=True)
class SessionMeter:
    """What every session feeds.

    Attributes:
        stream_dropped: ``tilemud_frames_dropped_total{kind="stream"}``: a stream frame
            evicted before any connection had it.
    """

    stream_dropped: Counter
    # ``tilemud_actions_total{action,outcome}``, counted in plain ints and read at scrape
    # time (_ActionsAtScrape): a ``place`` is counted once per placement, ~600 a second
    # on epic-300, and ``Counter.inc`` takes a lock (a call of this: 0.34 µs, now 0.12 µs).
    _actions: dict[tuple[Action, ActionOutcome], int]

    def action(self, action: Action, outcome: ActionOutcome) -> None:
        """Count one critical request by what became of it."""
        self._actions[action, outcome] += 1


class _ActionsAtScrape(Collector):
    """``tilemud_actions`` read from a :class:`SessionMeter`'s counts at each scrape: the
    samples a labelled ``Counter`` of that name exposes (``_total`` and ``_created`` per
    pair of labels, every pair from the start)."""

    def __init__(self, counts: Mapping[tuple[Action, ActionOutcome], int]) -> None:
        self._counts = counts
        self._created = time.time()

    def describe(self) -> Iterable[Metric]:
        return [self._family(())]

    def collect(self) -> Iterable[Metric]:
        return [self._family(self._counts.items())]

    def _family(self, counts: Iterable[tuple[tuple[str, str], int]]) -> Metric:
        created = self._created if _created_series() else None
        family = CounterMetricFamily("tilemud_actions", _ACTIONS_HELP, labels=["action", "outcome"])
        for labels, count in counts:
            family.add_metric(list(labels), count, created=created)
        return family


def _created_series() -> bool:
    """Whether a ``Counter`` exposes its ``_created`` series now (prometheus_client's
    ``PROMETHEUS_DISABLE_CREATED_SERIES``, ``disable_created_metrics``): asked of an
    unregistered one at each scrape, through its public face."""
    probe = Counter("tilemud_probe", "", registry=None)
    (family,) = probe.collect()
    return any(sample.name.endswith("_created") for sample in family.samples)


_ACTIONS_HELP: Final = (
    "Players' critical requests (join, leave, place) by what the session made of them."
)


@attrs.frozen(kw_only=True)
class ConnectionMeter:
    """What the gateway and its connections feed.

    Attributes:
        handshake_seconds: ``tilemud_handshake_duration_seconds``: from the WebSocket
            upgrade to the welcome written to the socket.
        reply_dropped: ``tilemud_frames_dropped_total{kind="reply"}``: a reply that found
            the outbox full.
    """

    handshake_seconds: Histogram
    reply_dropped: Counter


@attrs.frozen(kw_only=True)
class GatewayLoad:
    """The gateway's figures at one instant, read at scrape time.

    Attributes:
        connections: open WebSocket connections, those in their handshake included.
        players_connected: connections attached to a session.
        sessions: sessions on the node, attached or waiting out their reconnect grace.
        frames_sent: frames written to sockets since the gateway was created.
        outbox_frames: replies waiting in the outboxes of attached connections.
        stream_frames: stream frames not yet written to attached connections.
        deepest_outbox: the longest single outbox.
        deepest_stream: the longest single unsent stream.
    """

    connections: int = 0
    players_connected: int = 0
    sessions: int = 0
    frames_sent: int = 0
    outbox_frames: int = 0
    stream_frames: int = 0
    deepest_outbox: int = 0
    deepest_stream: int = 0


class _ReadAtScrape(Collector, Generic[F]):
    """Turns figures read at each scrape into metric families.

    Args:
        zero: the figures exposed until :attr:`read` is set (every series at 0).
        families: the metric families of one reading.
    """

    def __init__(self, zero: F, families: Callable[[F], Iterator[Metric]]) -> None:
        self.read: Callable[[], F] = lambda: zero
        self._zero = zero
        self._families = families

    def describe(self) -> Iterable[Metric]:
        return list(self._families(self._zero))

    def collect(self) -> Iterable[Metric]:
        return list(self._families(self.read()))


def _gateway_families(load: GatewayLoad) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "tilemud_connections_open",
        "Open player WebSocket connections, including those still in their handshake.",
        value=load.connections,
    )
    yield GaugeMetricFamily(
        "tilemud_players_connected",
        "Player connections attached to a session.",
        value=load.players_connected,
    )
    yield GaugeMetricFamily(
        "tilemud_sessions",
        "Player sessions on this node, connected or waiting out their reconnect grace.",
        value=load.sessions,
    )
    yield CounterMetricFamily(
        "tilemud_frames_sent",
        "WebSocket frames written to player sockets (replies and stream frames).",
        value=load.frames_sent,
    )
    queued = GaugeMetricFamily(
        "tilemud_send_queue_frames",
        "Frames waiting to be written, summed over attached connections: "
        'queue="outbox" (replies) and queue="stream" (unsent stream frames).',
        labels=["queue"],
    )
    queued.add_metric(["outbox"], load.outbox_frames)
    queued.add_metric(["stream"], load.stream_frames)
    yield queued
    deepest = GaugeMetricFamily(
        "tilemud_send_queue_deepest_frames",
        "The longest single queue of frames waiting for one connection.",
        labels=["queue"],
    )
    deepest.add_metric(["outbox"], load.deepest_outbox)
    deepest.add_metric(["stream"], load.deepest_stream)
    yield deepest


class StorageCounters(Protocol):
    """What the metrics read of the storage actor (its ``StorageStats``); metrics sit below
    storage, so they name only the counters they read."""

    @property
    def rows_written(self) -> int: ...
    @property
    def batches(self) -> int: ...
    @property
    def backlog(self) -> int: ...
    @property
    def largest_backlog(self) -> int: ...
    @property
    def rows_refused(self) -> int: ...
    @property
    def rows_rejected(self) -> int: ...
    @property
    def failures(self) -> int: ...


class PurgeCounters(Protocol):
    """What the metrics read of the replay janitor (its ``PurgeStats``)."""

    @property
    def runs(self) -> int: ...
    @property
    def failed_runs(self) -> int: ...
    @property
    def replays_purged(self) -> int: ...
    @property
    def last_success(self) -> dt.datetime | None: ...


@attrs.frozen(kw_only=True)
class _Zeros:
    """Every counter at 0: what a family reads until something is watched."""

    rows_written: int = 0
    batches: int = 0
    backlog: int = 0
    largest_backlog: int = 0
    rows_refused: int = 0
    rows_rejected: int = 0
    failures: int = 0
    runs: int = 0
    failed_runs: int = 0
    replays_purged: int = 0
    last_success: dt.datetime | None = None


_ZEROS: Final = _Zeros()


def _storage_families(stats: StorageCounters) -> Iterator[Metric]:
    yield CounterMetricFamily(
        "tilemud_storage_rows_written",
        "Write-behind rows (accepted placements, tick checksums) committed to the database.",
        value=stats.rows_written,
    )
    yield CounterMetricFamily(
        "tilemud_storage_batches",
        "Write-behind transactions committed.",
        value=stats.batches,
    )
    yield GaugeMetricFamily(
        "tilemud_storage_backlog_rows",
        "Write-behind rows buffered, not yet committed.",
        value=stats.backlog,
    )
    yield GaugeMetricFamily(
        "tilemud_storage_backlog_rows_max",
        "The most rows the write-behind buffer ever held.",
        value=stats.largest_backlog,
    )
    yield CounterMetricFamily(
        "tilemud_storage_rows_refused",
        "Write-behind rows refused because the buffer was full: not stored.",
        value=stats.rows_refused,
    )
    yield CounterMetricFamily(
        "tilemud_storage_rows_rejected",
        "Write-behind rows the database refused (a constraint failed): logged, not stored.",
        value=stats.rows_rejected,
    )
    yield CounterMetricFamily(
        "tilemud_storage_failures",
        "Transactions that failed because the database was unavailable or too slow.",
        value=stats.failures,
    )


def _janitor_families(stats: PurgeCounters) -> Iterator[Metric]:
    yield CounterMetricFamily(
        "tilemud_replays_purged",
        "Ended arenas whose replay (placements, checksums, snapshots) was purged.",
        value=stats.replays_purged,
    )
    yield CounterMetricFamily(
        "tilemud_replay_purge_runs",
        "Runs of the replay purge that ended, whatever their outcome.",
        value=stats.runs,
    )
    yield CounterMetricFamily(
        "tilemud_replay_purge_failures",
        "Runs of the replay purge that did not finish: database unavailable, or a crash.",
        value=stats.failed_runs,
    )
    last = stats.last_success
    yield GaugeMetricFamily(
        "tilemud_replay_purge_last_success_timestamp_seconds",
        "Unix time at which the last finished run of the replay purge started; 0 before.",
        value=0 if last is None else last.timestamp(),
    )


class ServerMetrics:
    """Every metric of one server, on a ``CollectorRegistry`` of its own.

    Args:
        process: also register prometheus_client's process collector (CPU, memory, open
            file descriptors) and garbage collector statistics.
    """

    def __init__(self, *, process: bool = True) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        arenas = Gauge("tilemud_arenas", "Arenas running, by mode.", ["mode"], registry=registry)
        tick_seconds = Histogram(
            "tilemud_tick_duration_seconds",
            "Processing time of each resolved arena tick: resolve, encode and fan-out.",
            ["mode"],
            buckets=TICK_BUCKETS,
            registry=registry,
        )
        # The server's part of a broadcast's latency (the clients measure the rest): how
        # late after its boundary a tick's frames reached every socket; the loop's lag
        # (a busy machine) shows here, which the tick's own processing time cannot show.
        broadcast_seconds = Histogram(
            "tilemud_broadcast_delay_seconds",
            "From a tick's boundary until its frames were handed to every player's socket.",
            ["mode"],
            buckets=TICK_BUCKETS,
            registry=registry,
        )
        ticks_skipped = Counter(
            "tilemud_ticks_skipped",
            "Tick boundaries passed over because a tick's processing overran them.",
            ["mode"],
            registry=registry,
        )
        placements = Counter(
            "tilemud_placements",
            "Placements resolved at a tick end, by outcome.",
            ["mode", "outcome"],
            registry=registry,
        )
        # Registered where its Counter was: the exposition keeps its order of families.
        action_counts = {(action, outcome): 0 for action in ACTIONS for outcome in ACTION_OUTCOMES}
        registry.register(_ActionsAtScrape(action_counts))
        dropped = Counter(
            "tilemud_frames_dropped",
            "Frames lost for good: stream frames evicted before any connection had them, "
            "replies that found the outbox full.",
            ["kind"],
            registry=registry,
        )
        handshake = Histogram(
            "tilemud_handshake_duration_seconds",
            "From the WebSocket upgrade to the welcome frame written to the socket.",
            buckets=HANDSHAKE_BUCKETS,
            registry=registry,
        )
        self._gateway = _ReadAtScrape(GatewayLoad(), _gateway_families)
        self._storage: _ReadAtScrape[StorageCounters] = _ReadAtScrape(_ZEROS, _storage_families)
        self._janitor: _ReadAtScrape[PurgeCounters] = _ReadAtScrape(_ZEROS, _janitor_families)
        for collector in (self._gateway, self._storage, self._janitor):
            registry.register(collector)
        if process:
            ProcessCollector(registry=registry)
            GCCollector(registry=registry)
        #: What the arenas of each mode feed.
        self.arenas: Mapping[Mode, ArenaMeter] = MappingProxyType(
            {
                mode: ArenaMeter(
                    running=arenas.labels(mode),
                    tick_seconds=tick_seconds.labels(mode),
                    broadcast_seconds=broadcast_seconds.labels(mode),
                    ticks_skipped=ticks_skipped.labels(mode),
                    placements=MappingProxyType(
                        {
                            outcome: placements.labels(mode, outcome)
                            for outcome in PLACEMENT_OUTCOMES
                        }
                    ),
                )
                for mode in MODES
            }
        )
        #: What NPC rosters and the elasticity supervisor feed.
        self.npcs = NpcMeter(
            running=Gauge("tilemud_npcs", "NPCs seated in running arenas.", registry=registry),
            capacity=Gauge(
                "tilemud_npc_capacity",
                "Effective NPC capacity of running arenas: static caps minus the elastic "
                "reduction.",
                registry=registry,
            ),
            refused=Counter(
                "tilemud_npc_placements_refused",
                "NPC placements dropped over their budget.",
                registry=registry,
            ),
            sheds=Counter("tilemud_npc_sheds", "Steps of NPC capacity shed.", registry=registry),
            restores=Counter(
                "tilemud_npc_restores", "Steps of NPC capacity restored.", registry=registry
            ),
            steps=Gauge("tilemud_npc_shed_steps", "Steps shed now.", registry=registry),
            cpu=Gauge(
                "tilemud_elasticity_cpu_share",
                "Process CPU seconds per wall second over the last elasticity window.",
                registry=registry,
            ),
            memory=Gauge(
                "tilemud_elasticity_memory_share",
                "Resident memory over the memory available (cgroup limit or machine).",
                registry=registry,
            ),
        )
        #: What every session feeds.
        self.session = SessionMeter(
            stream_dropped=dropped.labels("stream"),
            actions=action_counts,
        )
        #: What the gateway and its connections feed.
        self.connection = ConnectionMeter(
            handshake_seconds=handshake, reply_dropped=dropped.labels("reply")
        )

    def watch_gateway(self, read: Callable[[], GatewayLoad]) -> None:
        """Read the gateway's live figures with ``read`` at every scrape.

        ``read`` runs in the scraping task (the HTTP handler, in the server's Trio thread):
        it must be quick and must not block.
        """
        self._gateway.read = read

    def watch_storage(self, read: Callable[[], StorageCounters]) -> None:
        """Read the storage actor's counters with ``read`` (e.g.
        :meth:`StorageActor.stats <tilemud.storage.StorageActor.stats>`) at every scrape.

        Until this is called the ``tilemud_storage_*`` series read 0. Like the gateway's,
        ``read`` runs in the scraping task: it must be quick and must not block.
        """
        self._storage.read = read

    def watch_janitor(self, read: Callable[[], PurgeCounters]) -> None:
        """Read the replay janitor's counters with ``read`` (e.g.
        :meth:`ReplayJanitor.stats <tilemud.storage.janitor.ReplayJanitor.stats>`) at
        every scrape.

        Until this is called the ``tilemud_replay*`` series read 0. ``read`` runs in the
        scraping task: it must be quick and must not block.
        """
        self._janitor.read = read

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format (serve it with :data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)
