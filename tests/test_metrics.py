"""The metrics object: its families, its own registry, and the meters it hands out."""

from __future__ import annotations

import re

import prometheus_client
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from tilemud.actors.session._outbox import Outbox
from tilemud.actors.session._stream import SessionStream
from tilemud.game import Placement, PlacementResult
from tilemud.metrics import (
    ACTION_OUTCOMES,
    ACTIONS,
    CONTENT_TYPE,
    TICK_BUCKETS,
    Action,
    ActionOutcome,
    ArenaMeter,
    GatewayLoad,
    ServerMetrics,
    _created_series,
)

#: Every family the server exposes itself, with its type (as the text parser names it).
FAMILIES = {
    "tilemud_arenas": "gauge",
    "tilemud_tick_duration_seconds": "histogram",
    "tilemud_ticks_skipped": "counter",
    "tilemud_placements": "counter",
    "tilemud_actions": "counter",
    "tilemud_frames_dropped": "counter",
    "tilemud_handshake_duration_seconds": "histogram",
    "tilemud_connections_open": "gauge",
    "tilemud_players_connected": "gauge",
    "tilemud_sessions": "gauge",
    "tilemud_frames_sent": "counter",
    "tilemud_send_queue_frames": "gauge",
    "tilemud_send_queue_deepest_frames": "gauge",
}


def families(metrics: ServerMetrics) -> dict[str, str]:
    text = metrics.exposition().decode()
    return {family.name: family.type for family in text_string_to_metric_families(text)}


def value(metrics: ServerMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    assert found is not None, (name, labels)
    return found


def test_every_family_is_exposed_from_the_start() -> None:
    exposed = families(ServerMetrics())
    for name, kind in FAMILIES.items():
        assert exposed.get(name) == kind, name
    assert "process_cpu_seconds" in exposed
    assert "process_resident_memory_bytes" in exposed


def test_every_labelled_series_exists_at_zero() -> None:
    metrics = ServerMetrics(process=False)
    for mode in ("arena", "battle"):
        assert value(metrics, "tilemud_arenas", mode=mode) == 0
        assert value(metrics, "tilemud_tick_duration_seconds_count", mode=mode) == 0
        assert value(metrics, "tilemud_ticks_skipped_total", mode=mode) == 0
    for action in ACTIONS:
        for outcome in ACTION_OUTCOMES:
            assert value(metrics, "tilemud_actions_total", action=action, outcome=outcome) == 0
    for kind in ("stream", "reply"):
        assert value(metrics, "tilemud_frames_dropped_total", kind=kind) == 0
    for queue in ("outbox", "stream"):
        assert value(metrics, "tilemud_send_queue_frames", queue=queue) == 0
    assert value(metrics, "tilemud_frames_sent_total") == 0
    assert value(metrics, "tilemud_sessions") == 0


def test_process_metrics_can_be_left_out() -> None:
    exposed = families(ServerMetrics(process=False))
    assert not any(name.startswith(("process_", "python_gc_")) for name in exposed)


def test_the_content_type_is_prometheus_text() -> None:
    assert CONTENT_TYPE == prometheus_client.CONTENT_TYPE_LATEST
    assert CONTENT_TYPE.startswith("text/plain")


def test_tick_buckets_span_a_tenth_of_a_millisecond_to_200_ms() -> None:
    assert TICK_BUCKETS[0] == 0.0001
    assert TICK_BUCKETS[-1] == 0.2
    assert list(TICK_BUCKETS) == sorted(TICK_BUCKETS)


def test_two_servers_share_nothing_and_the_global_registry_is_untouched() -> None:
    first, second = ServerMetrics(process=False), ServerMetrics(process=False)
    first.session.action("join", "accepted")
    first.arenas["arena"].running.inc()
    assert value(first, "tilemud_actions_total", action="join", outcome="accepted") == 1
    assert value(second, "tilemud_actions_total", action="join", outcome="accepted") == 0
    assert value(second, "tilemud_arenas", mode="arena") == 0
    assert prometheus_client.REGISTRY.get_sample_value("tilemud_arenas", {"mode": "arena"}) is None


def test_meters_are_resolved_once() -> None:
    metrics = ServerMetrics(process=False)
    assert metrics.arenas["arena"] is metrics.arenas["arena"]
    assert metrics.arenas["arena"].tick_seconds is not metrics.arenas["battle"].tick_seconds


def test_arena_meter_counts_ticks_and_placements_by_mode() -> None:
    metrics = ServerMetrics(process=False)
    meter = metrics.arenas["battle"]
    meter.tick_seconds.observe(0.003)
    meter.ticks_skipped.inc(2)

    placement = Placement(player_id="p", x=0, y=0, kind="stone", rid="r")
    accepted = PlacementResult(placement=placement, outcome="accepted")
    rejected = PlacementResult(placement=placement, outcome="rejected", reason="occupied")
    meter.placements_resolved([accepted, rejected, accepted, accepted])
    assert value(metrics, "tilemud_tick_duration_seconds_count", mode="battle") == 1
    assert value(metrics, "tilemud_tick_duration_seconds_bucket", mode="battle", le="0.005") == 1
    assert value(metrics, "tilemud_tick_duration_seconds_bucket", mode="battle", le="0.0025") == 0
    assert value(metrics, "tilemud_tick_duration_seconds_count", mode="arena") == 0
    assert value(metrics, "tilemud_ticks_skipped_total", mode="battle") == 2
    placements = "tilemud_placements_total"
    assert value(metrics, placements, mode="battle", outcome="accepted") == 3
    assert value(metrics, placements, mode="battle", outcome="rejected") == 1
    assert value(metrics, placements, mode="battle", outcome="lost_conflict") == 0
    assert value(metrics, placements, mode="arena", outcome="accepted") == 0


def test_a_standalone_arena_meter_is_its_own() -> None:
    standalone = ArenaMeter.standalone("arena")
    standalone.running.inc()
    assert ServerMetrics(process=False).arenas["arena"] is not standalone


def test_session_meter_counts_actions_by_outcome() -> None:
    metrics = ServerMetrics(process=False)
    metrics.session.action("place", "accepted")
    metrics.session.action("place", "accepted")
    metrics.session.action("place", "rate_limited")
    metrics.session.action("leave", "refused")
    actions = "tilemud_actions_total"
    assert value(metrics, actions, action="place", outcome="accepted") == 2
    assert value(metrics, actions, action="place", outcome="rate_limited") == 1
    assert value(metrics, actions, action="leave", outcome="refused") == 1
    assert value(metrics, actions, action="join", outcome="accepted") == 0


def _actions_text(registry: prometheus_client.CollectorRegistry) -> str:
    """The ``tilemud_actions`` lines of an exposition, creation times as ``<created>``."""
    text = prometheus_client.generate_latest(registry).decode()
    lines = [line for line in text.splitlines() if "tilemud_actions" in line]
    return re.sub(r"(_created\{[^}]*\}) \S+", r"\1 <created>", "\n".join(lines))


@given(
    events=st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(ACTION_OUTCOMES))),
    created=st.booleans(),
)
def test_actions_counted_in_ints_expose_what_a_prometheus_counter_did(
    events: list[tuple[Action, ActionOutcome]], created: bool
) -> None:
    # Before issue 13 every action was a Counter.inc: the exposition is held to that one's,
    # line by line (help, type, labels, values, the _created series unless they are
    # switched off), whatever was counted.
    if not created:
        prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    try:
        _expose_actions_as_a_counter(events)
    finally:
        prometheus_client.enable_created_metrics()  # type: ignore[no-untyped-call]


def _expose_actions_as_a_counter(events: list[tuple[Action, ActionOutcome]]) -> None:
    metrics = ServerMetrics(process=False)
    reference = prometheus_client.CollectorRegistry()
    counter = prometheus_client.Counter(
        "tilemud_actions",
        "Players' critical requests (join, leave, place) by what the session made of them.",
        ["action", "outcome"],
        registry=reference,
    )
    for action in ACTIONS:
        for outcome in ACTION_OUTCOMES:
            counter.labels(action, outcome)
    for action, outcome in events:
        metrics.session.action(action, outcome)
        counter.labels(action, outcome).inc()
    assert _actions_text(metrics.registry) == _actions_text(reference)
    assert ("tilemud_actions_created" in _actions_text(reference)) == _created_series()


def test_the_gateway_is_read_at_every_scrape() -> None:
    metrics = ServerMetrics(process=False)
    loads = [
        GatewayLoad(
            connections=3,
            players_connected=2,
            sessions=4,
            frames_sent=10,
            outbox_frames=5,
            stream_frames=7,
            deepest_outbox=4,
            deepest_stream=6,
        ),
        GatewayLoad(players_connected=1, sessions=1, frames_sent=12),
    ]
    reads: list[GatewayLoad] = []

    def read() -> GatewayLoad:
        reads.append(loads[len(reads)])
        return reads[-1]

    metrics.watch_gateway(read)
    first = metrics.exposition().decode()
    assert "tilemud_players_connected 2.0" in first
    assert "tilemud_sessions 4.0" in first
    assert "tilemud_connections_open 3.0" in first
    assert "tilemud_frames_sent_total 10.0" in first
    assert 'tilemud_send_queue_frames{queue="outbox"} 5.0' in first
    assert 'tilemud_send_queue_frames{queue="stream"} 7.0' in first
    assert 'tilemud_send_queue_deepest_frames{queue="stream"} 6.0' in first
    second = metrics.exposition().decode()
    assert "tilemud_players_connected 1.0" in second
    assert "tilemud_frames_sent_total 12.0" in second
    assert len(reads) == 2


async def test_replies_dropped_by_a_full_outbox_are_counted() -> None:
    metrics = ServerMetrics(process=False)
    outbox = Outbox(capacity=1, slow_after=10, on_dropped=metrics.connection.reply_dropped.inc)
    assert outbox.offer("a")
    assert not outbox.offer("b")
    assert not outbox.offer("c")
    assert outbox.dropped == 2
    assert value(metrics, "tilemud_frames_dropped_total", kind="reply") == 2
    assert value(metrics, "tilemud_frames_dropped_total", kind="stream") == 0


@pytest.mark.parametrize("attached", [True, False])
async def test_stream_frames_lost_for_good_are_counted_once(attached: bool) -> None:
    metrics = ServerMetrics(process=False)
    stream = SessionStream(
        capacity=2,
        stamp=lambda body, seq: f"{seq}:{body}",
        slow_after=10,
        on_dropped=metrics.session.stream_dropped.inc,
    )
    if attached:
        stream.attach(0)
        stream.publish("first")
        assert stream.next_ready() == "1:first"  # handed out: its eviction is no loss
    for n in range(5):
        stream.publish(f"frame {n}")
    assert stream.dropped > 0
    assert value(metrics, "tilemud_frames_dropped_total", kind="stream") == stream.dropped
