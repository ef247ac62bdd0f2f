"""Fake stream points beaconing to the test server's OSC port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from gencaster.streaming.osc import FakeStreamPoint
from gencaster.supercollider import CLEAN_SLATE, PROBE
from models import StreamPoint
from tests.support.osc import MakeFake, fake_points
from tests.support.server import RunningServer

FakeFactory = MakeFake


@pytest_asyncio.fixture(loop_scope="session")
async def fake_point(server: RunningServer) -> AsyncIterator[FakeFactory]:
    """Starts fake stream points that beacon to ``osc_server``; closes them after.

    They behave like the class around the clean slate: duplicate answers until it, and
    its CmdPeriod with the receiver gap.
    """
    async with fake_points(
        server.settings.osc_port,
        after_close=_forget,
        beacon_interval=1.0,
        duplicate_acks_until_clean_slate=True,
        emulate_cmd_period=True,
    ) as start:
        yield start


async def _forget(point: FakeStreamPoint) -> None:
    # Gone points must not be handed to the next test's listeners.
    await StreamPoint.filter(port=point.lang_port).update(last_live=None)


def cell_codes(point: FakeStreamPoint) -> list[str]:
    """What the point received for the graph's cells: without the reset and its probes."""
    return [i.code for i in point.received if i.code not in (CLEAN_SLATE, PROBE)]


def resets(point: FakeStreamPoint) -> int:
    return [i.code for i in point.received].count(CLEAN_SLATE)
