"""``GET /readyz``: readiness from the root's children, the stop and the database.

The database check's timing (one ping at a time, the bound) runs under the autojump clock
with a ping the test holds back; the real path, a ``SELECT 1`` through the storage actor
of a running server, is tested over real sockets in tests/integration/test_readiness.py.
"""

from __future__ import annotations

from typing import Any, cast

import attrs
import orjson
import trio
import trio.testing
from quart.testing import QuartClient
from quart_trio import QuartTrio
from werkzeug.datastructures import Headers

from tilemud.auth import TokenAuthority
from tilemud.config import AuthSettings, Settings
from tilemud.errors import ActorGone
from tilemud.net.http import (
    DatabaseCheck,
    HealthReport,
    NodeReadiness,
    ReadinessReport,
    create_app,
)
from tilemud.storage import StorageUnavailable

SECRET = "readiness-tests-" + "k" * 40
TIMEOUT = 2.0


@attrs.define
class HeldPing:
    """A database ping the test controls: it waits for ``release`` or fails."""

    calls: int = 0
    release: trio.Event = attrs.field(factory=trio.Event)
    delay: float = 0.0
    error: Exception | None = None

    async def __call__(self) -> None:
        self.calls += 1
        if self.delay:
            await trio.sleep(self.delay)
        else:
            await self.release.wait()
        if self.error is not None:
            raise self.error


@attrs.define
class Up:
    ok: bool = True

    def health(self) -> HealthReport:
        return HealthReport(ok=self.ok)


def node(
    ping: HeldPing | None,
    *,
    children: dict[str, bool] | None = None,
    stopping: bool = False,
) -> NodeReadiness:
    up = {"storage": True, "world": True, "gateway": True, "http": True}
    return NodeReadiness(
        children=lambda: children or up,
        stopping=lambda: stopping,
        database=None if ping is None else DatabaseCheck(ping),
        timeout=TIMEOUT,
    )


async def test_probes_share_one_ping_and_time_out_at_the_bound(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ping = HeldPing()
    readiness = node(ping)
    reports: list[ReadinessReport] = []
    async with trio.open_nursery() as background:
        start = trio.current_time()

        async def probe() -> None:
            reports.append(await readiness.readiness(background=background))

        async with trio.open_nursery() as probes:
            for _ in range(20):
                probes.start_soon(probe)
        assert trio.current_time() - start == TIMEOUT
        # Twenty probes while the database hangs: one ping reached it.
        assert ping.calls == 1
        assert len(reports) == 20
        for report in reports:
            assert not report.ready
            assert report.details["database"] == {"status": "timeout", "timeout_s": TIMEOUT}

        # A later probe still joins the unanswered ping instead of sending another.
        late = await readiness.readiness(background=background)
        assert ping.calls == 1
        assert not late.ready

        # Once it is answered, the next probe pings afresh. The old ping took longer than
        # the bound, so it never counted as "answered in time".
        ping.release.set()
        await trio.testing.wait_all_tasks_blocked()
        ping.release = trio.Event()
        ping.delay = 0.25
        fresh = await readiness.readiness(background=background)
        assert ping.calls == 2
        assert fresh.ready
        assert fresh.details["database"] == {
            "status": "ok",
            "timeout_s": TIMEOUT,
            "latency_ms": 250.0,
        }


async def test_a_probe_that_gives_up_does_not_cancel_the_ping(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ping = HeldPing(delay=1.5)
    readiness = node(ping)
    async with trio.open_nursery() as background:
        with trio.move_on_after(0.5):
            await readiness.readiness(background=background)
        # The client went away; the ping goes on, and the next probe joins it.
        report = await readiness.readiness(background=background)
        assert ping.calls == 1
        assert report.ready
        assert report.details["database"] == {
            "status": "ok",
            "timeout_s": TIMEOUT,
            "latency_ms": 1500.0,
        }


async def test_a_ping_answered_after_the_bound_is_not_ready(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ping = HeldPing(delay=TIMEOUT - 0.5)
    readiness = node(ping)
    async with trio.open_nursery() as background:
        first = trio.current_time()
        # A ping of 1.5 s, under the bound: ready.
        assert (await readiness.readiness(background=background)).ready
        assert trio.current_time() - first == TIMEOUT - 0.5
        ping.delay = TIMEOUT + 1.0

        async def early_probe() -> None:
            await readiness.readiness(background=background)

        background.start_soon(early_probe)
        await trio.sleep(1.5)
        # This probe joins 1.5 s into a 3 s ping: it sees the answer within its own 2 s,
        # but the database took 3 s, over the bound.
        report = await readiness.readiness(background=background)
        assert not report.ready
        assert report.details["database"] == {
            "status": "timeout",
            "timeout_s": TIMEOUT,
            "latency_ms": 3000.0,
        }


async def test_unreachable_database_and_gone_storage_are_unavailable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    for error in (StorageUnavailable("down"), ActorGone("storage has stopped")):
        ping = HeldPing(delay=0.01, error=error)
        async with trio.open_nursery() as background:
            report = await node(ping).readiness(background=background)
        assert not report.ready
        database = cast(dict[str, Any], report.details["database"])
        assert database["status"] == "unavailable"


async def test_a_bug_in_the_ping_is_an_error_not_a_crash(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ping = HeldPing(delay=0.01, error=RuntimeError("bad SQL"))
    async with trio.open_nursery() as background:
        report = await node(ping).readiness(background=background)
    assert not report.ready
    assert cast(dict[str, Any], report.details["database"])["status"] == "error"


async def test_a_child_down_or_a_stop_makes_the_node_not_ready(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as background:
        down = {"storage": True, "world": False, "gateway": True, "http": True}
        report = await node(None, children=down).readiness(background=background)
        assert not report.ready
        assert report.details["children"] == {
            "storage": "up",
            "world": "down",
            "gateway": "up",
            "http": "up",
        }
        stopping = await node(None, stopping=True).readiness(background=background)
        assert not stopping.ready
        assert stopping.details["stopping"] is True
        ready = await node(None).readiness(background=background)
        assert ready.ready
        assert ready.details["database"] == {"status": "not_used"}


# --- the route -------------------------------------------------------------------------


async def get_readyz(app: QuartTrio) -> tuple[int, Headers, Any]:
    async with app.test_app():  # the lifespan: the app's background nursery
        client = cast(QuartClient, app.test_client())
        response = await client.open("/readyz", method="GET")
        data = await response.get_data(as_text=False)
    return response.status_code, response.headers, orjson.loads(data)


def make_app(readiness: NodeReadiness | None, health: Up | None = None) -> QuartTrio:
    auth = AuthSettings(secret=SECRET)
    return create_app(
        settings=Settings(auth=auth),
        tokens=TokenAuthority(auth),
        health=health or Up(),
        readiness=readiness,
    )


async def test_readyz_answers_200_or_503_with_the_checks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    status, headers, body = await get_readyz(make_app(node(HeldPing(delay=0.002))))
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert body == {
        "status": "ready",
        "children": {"storage": "up", "world": "up", "gateway": "up", "http": "up"},
        "stopping": False,
        "database": {"status": "ok", "timeout_s": TIMEOUT, "latency_ms": 2.0},
        "cluster": {"status": "not_used"},
    }
    status, _, body = await get_readyz(make_app(node(HeldPing())))
    assert status == 503
    assert body["status"] == "not_ready"
    assert body["database"] == {"status": "timeout", "timeout_s": TIMEOUT}


async def test_an_app_without_a_server_is_ready_when_healthy(
    autojump_clock: trio.testing.MockClock,
) -> None:
    assert (await get_readyz(make_app(None)))[0:3:2] == (200, {"status": "ready"})
    assert (await get_readyz(make_app(None, Up(ok=False))))[0:3:2] == (
        503,
        {"status": "not_ready"},
    )
