"""A loopback TCP proxy that a test can cut and restore, to play a database outage.

``cut()`` closes the listener and every proxied connection at once (clients see their
connections drop, new ones refused); ``restore()`` listens again on the same port. The
database itself is never stopped.
"""

from __future__ import annotations

import attrs
import sqlalchemy as sa
import trio

from tilemud.config import Settings


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target_host:target_port`` until cut."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._nursery: trio.Nursery | None = None
        self._serving: trio.CancelScope | None = None

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; ``started`` gives the port."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await nursery.start(self._serve)
            task_status.started(self.port)
            await trio.sleep_forever()  # keeps the nursery open for restore()

    def cut(self) -> None:
        """Close the listener and every connection now."""
        assert self._serving is not None
        self._serving.cancel()
        self._serving = None

    async def restore(self) -> None:
        """Listen again, on the same port."""
        assert self._nursery is not None
        assert self._serving is None
        await self._nursery.start(self._serve)

    async def _serve(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        with trio.CancelScope() as scope:
            self._serving = scope
            (listener,) = await trio.open_tcp_listeners(self.port, host="127.0.0.1")
            self.port = listener.socket.getsockname()[1]
            async with listener, trio.open_nursery() as connections:
                task_status.started()
                while True:
                    client = await listener.accept()
                    connections.start_soon(self._forward, client)

    async def _forward(self, client: trio.SocketStream) -> None:
        async with client:
            try:
                server = await trio.open_tcp_stream(*self.target)
            except OSError:
                return
            async with server, trio.open_nursery() as pumps:
                pumps.start_soon(_pump, client, server, pumps.cancel_scope)
                pumps.start_soon(_pump, server, client, pumps.cancel_scope)


async def _pump(source: trio.SocketStream, sink: trio.SocketStream, done: trio.CancelScope) -> None:
    try:
        async for chunk in source:
            await sink.send_all(chunk)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        done.cancel()


def through(proxy_port: int, url: str) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    return (
        sa.make_url(url)
        .set(host="127.0.0.1", port=proxy_port)
        .render_as_string(hide_password=False)
    )


def database_through(settings: Settings, proxy_port: int, url: str) -> Settings:
    """``settings`` with the database at ``url`` reached through the proxy, and short
    connect and retry bounds so that a cut is felt within a second."""
    return attrs.evolve(
        settings,
        database=attrs.evolve(
            settings.database,
            url=through(proxy_port, url),
            connect_timeout=1.0,
            retry_max=0.5,
        ),
    )
