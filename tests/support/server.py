"""A real Gencaster server on a free loopback port, inside the test process."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sanic import Sanic

from gencaster.app import create_app
from gencaster.settings import Settings
from gencaster.transport.connections import GuardedProtocol


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningServer:
    app: Sanic
    settings: Settings

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.settings.host}:{self.settings.port}/graphql"

    @property
    def services(self):
        return self.app.ctx.services


@asynccontextmanager
async def serving(app: Sanic, port: int = 0) -> AsyncIterator[int]:
    """Run ``app`` in this event loop with all its listeners; yields the bound port."""
    # Sanic rewrites its HTTP classes at start-up ("touchup"); that works once per
    # process, and a test session starts many apps.
    app.config.TOUCHUP = False
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = await app.create_server(
        sock=sock, return_asyncio_server=True, access_log=False, protocol=GuardedProtocol
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    await server.start_serving()
    try:
        yield sock.getsockname()[1]
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        for connection in list(server.connections):
            connection.close_if_idle()
        await server.after_stop()
        Sanic.unregister_app(app)


@asynccontextmanager
async def running_server(settings: Settings) -> AsyncIterator[RunningServer]:
    """Start ``create_app(settings)`` on ``settings.port``; stop it afterwards."""
    app = create_app(settings)
    async with serving(app, settings.port):
        yield RunningServer(app=app, settings=settings)
