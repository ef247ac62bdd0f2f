"""Real UDP peers on 127.0.0.1 for the OSC tests: recording handler, servers, fakes, sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from gencaster.streaming.osc import Acknowledgement, Beacon, OscServer, RemoteAction
from tests.support.osc import MakeFake, StartServer, fake_points

TIMEOUT = 2.0  # every network wait in these tests is bounded by this


class RecordingHandler:
    """An OscHandler that keeps every call with its arrival time; tests await its lists."""

    def __init__(self) -> None:
        self.beacons: list[tuple[str, Beacon]] = []
        self.acks: list[tuple[str, Acknowledgement, float]] = []
        self.actions: list[tuple[str, RemoteAction]] = []
        self._changed = asyncio.Event()

    async def on_beacon(self, host: str, beacon: Beacon) -> None:
        self.beacons.append((host, beacon))
        self._notify()

    async def on_acknowledgement(self, host: str, ack: Acknowledgement) -> None:
        self.acks.append((host, ack, asyncio.get_running_loop().time()))
        self._notify()

    async def on_remote_action(self, host: str, action: RemoteAction) -> None:
        self.actions.append((host, action))
        self._notify()

    def statuses(self, uuid: str) -> list[str]:
        return [ack.status for _, ack, _ in self.acks if str(ack.uuid) == uuid]

    def acks_for(self, uuid: str) -> list[Acknowledgement]:
        return [ack for _, ack, _ in self.acks if str(ack.uuid) == uuid]

    def ack_time(self, uuid: str, status: str) -> float:
        return next(t for _, ack, t in self.acks if str(ack.uuid) == uuid and ack.status == status)

    async def wait_until(self, condition: Callable[[], bool], within: float = TIMEOUT) -> None:
        async with asyncio.timeout(within):
            while not condition():
                await self._changed.wait()

    def _notify(self) -> None:
        # A fresh event per change, so every waiter wakes and re-checks its condition.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture
async def osc_server(start_server: StartServer, handler: RecordingHandler) -> OscServer:
    return await start_server(handler)


@pytest.fixture
async def make_fake_point(osc_server: OscServer) -> AsyncIterator[MakeFake]:
    """Builds started fake stream points beaconing to ``osc_server`` (unless told otherwise)."""
    async with fake_points(osc_server.port) as make:
        yield make
