"""Real OSC parts on 127.0.0.1 shared by the OSC, stream point and listening tests.

tests/conftest.py registers the fixtures here through ``pytest_plugins`` (importing them
into a conftest that also takes them as arguments trips ruff's F811). Each folder keeps its
own ``handler`` and ``osc_server``; ``fake_points`` serves its ``make_fake_point``.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar, cast

import pytest

from gencaster.streaming.osc import FakeStreamPoint, OscClient, OscServer
from gencaster.streaming.osc.messages import OscArg, encode_message

LOOPBACK = "127.0.0.1"
TIMEOUT = 3.0  # the default bound of a peer's receive

Datagram = tuple[bytes, tuple[Any, ...]]
StartServer = Callable[..., Awaitable[OscServer]]
MakeFake = Callable[..., Awaitable[FakeStreamPoint]]


class Startable(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...


StartedT = TypeVar("StartedT", bound=Startable)


class UdpPeer(asyncio.DatagramProtocol):
    """A plain UDP socket: sends raw bytes or OSC messages, captures what it is sent."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Datagram] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.queue.put_nowait((data, addr))

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]

    def send_raw(self, data: bytes, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(data, (LOOPBACK, port))

    def send(self, address: str, args: list[OscArg], port: int) -> None:
        self.send_raw(encode_message(address, args), port)

    async def receive(self, within: float = TIMEOUT) -> Datagram:
        async with asyncio.timeout(within):
            return await self.queue.get()


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    """Builds started servers on a free loopback port and closes them after the test."""

    def build(handler: Any, **options: Any) -> OscServer:
        return OscServer(handler, host=LOOPBACK, port=0, **options)

    async with started_each(build) as start:
        yield start


@pytest.fixture
async def osc_client() -> AsyncIterator[OscClient]:
    client = OscClient()
    await client.start()
    yield client
    await client.close()


@pytest.fixture
async def make_peer() -> AsyncIterator[Callable[..., Awaitable[UdpPeer]]]:
    peers: list[UdpPeer] = []

    async def make(host: str = LOOPBACK) -> UdpPeer:
        """A peer on ``host``: other loopback addresses (127.0.0.2) act as other machines."""
        loop = asyncio.get_running_loop()
        _, peer = await loop.create_datagram_endpoint(UdpPeer, local_addr=(host, 0))
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        if peer.transport is not None:
            peer.transport.close()


@asynccontextmanager
async def fake_points(
    server_port: int,
    after_close: Callable[[FakeStreamPoint], Awaitable[None]] | None = None,
    **defaults: Any,
) -> AsyncIterator[MakeFake]:
    """A factory of started fakes beaconing to ``server_port``; closes them on exit.

    ``defaults`` are options a call may override; ``after_close`` tidies up after each fake.
    """

    def build(**options: Any) -> FakeStreamPoint:
        base = {"server_host": LOOPBACK, "server_port": server_port, **defaults}
        return FakeStreamPoint(**{**base, **options})

    async with started_each(build, after_close) as make:
        yield make


@asynccontextmanager
async def started_each(
    build: Callable[..., StartedT],
    after_close: Callable[[StartedT], Awaitable[None]] | None = None,
) -> AsyncIterator[Callable[..., Awaitable[StartedT]]]:
    """A factory that builds and starts each thing; on exit closes all, in order."""
    made: list[StartedT] = []

    async def make(*args: Any, **options: Any) -> StartedT:
        thing = build(*args, **options)
        await thing.start()
        made.append(thing)
        return thing

    yield make
    for thing in made:
        await thing.close()
        if after_close is not None:
            await after_close(thing)


def osc_string(raw: bytes) -> bytes:
    """An OSC string holding exactly ``raw`` (which may be any bytes but NUL)."""
    data = raw + b"\0"
    return data + b"\0" * (-len(data) % 4)


def osc_blob(raw: bytes) -> bytes:
    """An OSC blob: its size, then ``raw`` padded to a multiple of four."""
    return struct.pack(">i", len(raw)) + raw + b"\0" * (-len(raw) % 4)


def osc_datagram(address: bytes, args: Sequence[tuple[bytes, bytes]]) -> bytes:
    """A message from raw parts: ``args`` are (type tag, encoded argument) pairs.

    Built by hand because python-osc only builds what it can read back: no string that
    is not valid UTF-8, which is exactly what a broken or hostile sender may send.
    """
    tags = b"," + b"".join(tag for tag, _ in args)
    return osc_string(address) + osc_string(tags) + b"".join(data for _, data in args)


def acknowledge_datagram(ack_uuid: str, return_value: bytes) -> bytes:
    """``/acknowledge`` with a return value of arbitrary bytes (SuperCollider sends raw)."""
    values = [b"uuid", ack_uuid.encode(), b"status", b"FINISHED", b"return_value", return_value]
    return osc_datagram(b"/acknowledge", [(b"s", osc_string(value)) for value in values])
