"""The console's parts without a server: sessions and their expiry (through the page
door, Quart's test client), the figures' ring, a spectator's bounded buffer."""

from __future__ import annotations

from typing import cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from quart.testing import QuartClient

from tilemud.auth import TokenAuthority
from tilemud.config import AuthSettings, ServerSettings, Settings
from tilemud.metrics import ServerMetrics
from tilemud.net.http import ConsoleSessions, FigureRing, HealthReport, create_app
from tilemud.net.http._console_live import SpectatorLink
from tilemud.net.http._console_sessions import SESSION_COOKIE, ConsoleUser

SECRET = "console-test-secret-0123456789abcdef0123"
ALICE = ConsoleUser(name="alice", role="admin", subject="admin:alice")


class UpProbe:
    def health(self) -> HealthReport:
        return HealthReport(ok=True)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_expire_close_and_stay_bounded() -> None:
    clock = FakeClock()
    sessions = ConsoleSessions(lifetime=60.0, limit=2, clock=clock)
    one = sessions.open(ALICE)
    two = sessions.open(ALICE)
    assert one.session_id != two.session_id
    assert one.csrf != two.csrf
    assert sessions.find(one.session_id) == one
    assert one.csrf_matches(one.csrf)
    assert not one.csrf_matches(two.csrf)
    assert not one.csrf_matches(None)
    assert not one.csrf_matches("")
    three = sessions.open(ALICE)  # the oldest makes room
    assert sessions.find(one.session_id) is None
    assert len(sessions) == 2
    sessions.close(two.session_id)
    assert sessions.find(two.session_id) is None
    clock.now += 59.9
    assert sessions.find(three.session_id) == three
    clock.now += 0.1
    assert sessions.find(three.session_id) is None
    assert sessions.find(None) is None
    assert sessions.find("") is None


async def test_an_expired_session_opens_no_page() -> None:
    clock = FakeClock()
    sessions = ConsoleSessions(lifetime=60.0, clock=clock)
    settings = Settings(server=ServerSettings(http_port=0), auth=AuthSettings(secret=SECRET))
    app = create_app(
        settings=settings,
        tokens=TokenAuthority(settings.auth),
        health=UpProbe(),
        console_sessions=sessions,
    )
    client = cast(QuartClient, app.test_client())
    session = sessions.open(ALICE)
    client.set_cookie("localhost", SESSION_COOKIE, session.session_id, path="/console")
    page = await client.get("/console/")
    assert page.status_code == 200
    assert "alice (admin)" in await page.get_data(as_text=True)
    clock.now += 61.0
    page = await client.get("/console/")
    assert page.status_code == 303
    assert page.headers["Location"] == "/console/sign-in"
    posted = await client.post("/console/sign-out", form={"csrf": session.csrf})
    assert posted.status_code == 403


def figures_registry() -> tuple[CollectorRegistry, Histogram, Counter, Gauge]:
    registry = CollectorRegistry()
    ticks = Histogram(
        "tilemud_tick_duration_seconds",
        "t",
        ["mode"],
        buckets=(0.001, 0.005, 0.02),
        registry=registry,
    )
    actions = Counter("tilemud_actions", "a", ["action"], registry=registry)
    connections = Gauge("tilemud_connections_open", "c", registry=registry)
    return registry, ticks, actions, connections


def test_the_ring_samples_at_most_once_a_second_and_reads_the_p95_of_each_interval() -> None:
    clock = FakeClock()
    registry, ticks, actions, connections = figures_registry()
    ring = FigureRing(registry, clock=clock, size=3)
    assert ring.sample() == ()  # the first reading only starts the first interval
    for _ in range(96):
        ticks.labels("battle").observe(0.0008)
    for _ in range(4):
        ticks.labels("arena").observe(0.01)  # the slowest 4 %: p95 stays in 1 ms
    actions.labels("place").inc(30)
    connections.set(7)
    clock.now += 0.5
    assert ring.sample() == ()  # too soon
    clock.now += 1.5
    (first,) = ring.sample()
    assert first.tick_p95_ms == 1.0
    assert first.actions_per_s == 15.0
    assert first.connections == 7
    assert (first.ticks_skipped, first.storage_backlog) == (0, 0)
    for _ in range(10):
        ticks.labels("battle").observe(0.5)  # over every bucket: "at least 20 ms"
    clock.now += 1.0
    second = ring.sample()[-1]
    assert second.tick_p95_ms == 20.0
    assert second.actions_per_s == 0.0
    clock.now += 1.0
    assert ring.sample()[-1].tick_p95_ms is None  # no tick in that second
    clock.now += 1.0
    assert len(ring.sample()) == 3  # bounded


def test_the_ring_reads_the_servers_own_broadcast_and_tick_histograms() -> None:
    clock = FakeClock()
    metrics = ServerMetrics(process=False)
    ring = FigureRing(metrics.registry, clock=clock)
    ring.sample()
    meter = metrics.arenas["arena"]
    for _ in range(20):
        meter.tick_seconds.observe(0.004)
        meter.broadcast_seconds.observe(0.04)
    clock.now += 1.0
    (figures,) = ring.sample()
    assert (figures.broadcast_p95_ms, figures.tick_p95_ms) == (50.0, 5.0)


async def test_a_spectator_that_falls_behind_is_done_not_blocking() -> None:
    link = SpectatorLink(buffer=2)
    assert link.player_id.startswith("console:")
    link.reset_stream("snapshot")
    assert link.publish("one") is False
    assert not link.done.is_set()
    assert link.publish("two") is False  # no room: given up, never waited for
    assert link.done.is_set()
    assert [link.frames.receive_nowait() for _ in range(2)] == ["snapshot", "one"]
    ended = SpectatorLink()
    ended.arena_closed("b_1")
    assert ended.done.is_set()
