"""Real UDP peers on 127.0.0.1 for the OSC tests: recording handler, servers, fakes, sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import pytest

from gencaster.streaming.osc import (
    Acknowledgement,
    Beacon,
    FakeStreamPoint,
    OscClient,
    OscServer,
    RemoteAction,
)

LOOPBACK = "127.0.0.1"
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


class UdpPeer(asyncio.DatagramProtocol):
    """A plain UDP socket for sending raw bytes and capturing raw datagrams."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple[Any, ...]]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.queue.put_nowait((data, addr))

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]

    def send(self, data: bytes, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(data, (LOOPBACK, port))

    async def receive(self, within: float = TIMEOUT) -> tuple[bytes, tuple[Any, ...]]:
        async with asyncio.timeout(within):
            return await self.queue.get()


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture
async def start_server() -> AsyncIterator[Callable[..., Awaitable[OscServer]]]:
    """Builds started servers on a free loopback port and closes them after the test."""
    servers: list[OscServer] = []

    async def start(handler: Any, **options: Any) -> OscServer:
        server = OscServer(handler, host=LOOPBACK, port=0, **options)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def osc_server(
    start_server: Callable[..., Awaitable[OscServer]], handler: RecordingHandler
) -> OscServer:
    return await start_server(handler)


@pytest.fixture
async def osc_client() -> AsyncIterator[OscClient]:
    client = OscClient()
    await client.start()
    yield client
    await client.close()


@pytest.fixture
async def make_peer() -> AsyncIterator[Callable[[], Awaitable[UdpPeer]]]:
    peers: list[UdpPeer] = []

    async def make() -> UdpPeer:
        loop = asyncio.get_running_loop()
        _, peer = await loop.create_datagram_endpoint(UdpPeer, local_addr=(LOOPBACK, 0))
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        if peer.transport is not None:
            peer.transport.close()


@pytest.fixture
async def make_fake_point(
    osc_server: OscServer,
) -> AsyncIterator[Callable[..., Awaitable[FakeStreamPoint]]]:
    """Builds started fake stream points beaconing to ``osc_server`` (unless told otherwise)."""
    points: list[FakeStreamPoint] = []

    async def make(**options: Any) -> FakeStreamPoint:
        options.setdefault("server_host", LOOPBACK)
        options.setdefault("server_port", osc_server.port)
        point = FakeStreamPoint(**options)
        await point.start()
        points.append(point)
        return point

    yield make
    for point in points:
        await point.close()
