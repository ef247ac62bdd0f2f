"""Fake stream points beaconing to the test server's OSC port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from gencaster.streaming.osc import FakeStreamPoint
from models import StreamPoint
from tests.support.osc import MakeFake, fake_points
from tests.support.server import RunningServer

FakeFactory = MakeFake


@pytest_asyncio.fixture(loop_scope="session")
async def fake_point(server: RunningServer) -> AsyncIterator[FakeFactory]:
    """Starts fake stream points that beacon to ``osc_server``; closes them after."""
    async with fake_points(
        server.settings.osc_port, after_close=_forget, beacon_interval=1.0
    ) as start:
        yield start


async def _forget(point: FakeStreamPoint) -> None:
    # Gone points must not be handed to the next test's listeners.
    await StreamPoint.filter(port=point.lang_port).update(last_live=None)
