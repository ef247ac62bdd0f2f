"""Fake stream points beaconing to the test server's OSC port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest_asyncio

from gencaster.streaming.osc import FakeStreamPoint
from models import StreamPoint
from tests.support.server import RunningServer

FakeFactory = Callable[..., Awaitable[FakeStreamPoint]]


@pytest_asyncio.fixture(loop_scope="session")
async def fake_point(server: RunningServer) -> AsyncIterator[FakeFactory]:
    """Starts fake stream points that beacon to ``osc_server``; closes them after."""
    started: list[FakeStreamPoint] = []

    async def start(**options: object) -> FakeStreamPoint:
        point = FakeStreamPoint(
            server_host="127.0.0.1",
            server_port=server.settings.osc_port,
            beacon_interval=1.0,
            **options,  # type: ignore[arg-type]
        )
        await point.start()
        started.append(point)
        return point

    yield start
    for point in started:
        await point.close()
        # Gone points must not be handed to the next test's listeners.
        await StreamPoint.filter(port=point.lang_port).update(last_live=None)
