"""A flood of random datagrams at the OSC server with the real handler behind it."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable

import pytest

from gencaster.streaming.instructions import InstructionDispatcher
from gencaster.streaming.osc import FakeStreamPoint, OscServer
from gencaster.streaming.osc.messages import (
    ACKNOWLEDGE_ADDRESS,
    BEACON_ADDRESS,
    REMOTE_ACTION_ADDRESS,
    OscArg,
    encode_message,
)
from models import StreamInstruction, StreamLog, StreamPoint
from tests.streaming.points.conftest import LOOPBACK, TIMEOUT, registered
from tests.support.osc import UdpPeer
from tests.support.polling import eventually

DATAGRAMS = 10_000
ADDRESSES = [BEACON_ADDRESS, ACKNOWLEDGE_ADDRESS, REMOTE_ACTION_ADDRESS, "/other", "/"]
KEYS = ["name", "lang_port", "synth_port", "janus_out_room", "uuid", "status", "password", "cmd"]


class Flood:
    """Random datagrams of every kind; remembers the valid beacons it sent."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.beacon_ports: set[int] = set()
        self.beacon_names: set[str] = set()

    def datagram(self) -> bytes:
        kind = self.rng.randrange(6)
        if kind == 0:
            return self.rng.randbytes(self.rng.randrange(0, 300))
        if kind == 1:
            return self.mangled(self.valid_beacon())
        if kind == 2:
            return self.valid_beacon()
        if kind == 3:
            status = self.rng.choice(["FINISHED", "RECEIVED", "BEACON", "NOPE", ""])
            args = ["uuid", str(uuid.uuid4()), "status", status, "return_value", "x"]
            return encode_message(ACKNOWLEDGE_ADDRESS, args)
        if kind == 4:
            args = [
                "protocol_version",
                "0.1",
                "action",
                "code",
                "password",
                self.word(),
                "cmd",
                "1",
            ]
            return encode_message(REMOTE_ACTION_ADDRESS, args)
        return encode_message(self.rng.choice(ADDRESSES), self.random_args())

    def valid_beacon(self) -> bytes:
        # Fewer distinct points than the handler allows, so a new one still registers after.
        port, name = self.rng.randrange(40000, 40050), self.word()
        self.beacon_ports.add(port)
        self.beacon_names.add(name)
        args: list[OscArg] = ["name", name, "synth_port", 57110, "lang_port", port]
        args += ["janus_out_room", str(self.rng.choice([1, 2**31 - 1, 2**31, 2**62]))]
        args += ["use_input", self.rng.randrange(2), "janus_public_ip", self.word()]
        return encode_message(BEACON_ADDRESS, args)

    def mangled(self, data: bytes) -> bytes:
        cut = self.rng.randrange(1, len(data))
        return data[:cut] if self.rng.random() < 0.5 else data[:cut] + self.rng.randbytes(3)

    def random_args(self) -> list[OscArg]:
        args: list[OscArg] = []
        for _ in range(self.rng.randrange(0, 9)):
            choices: list[OscArg] = [
                self.rng.choice(KEYS),
                self.word(),
                self.rng.randrange(-(2**31), 2**31),
                self.rng.random() * 1e9,
                self.rng.random() < 0.5,
                None,
                self.rng.randbytes(5),
            ]
            args.append(self.rng.choice(choices))
        return args

    def word(self) -> str:
        return "".join(self.rng.choices("abcxyz019ä\"'\\ ;{}", k=self.rng.randrange(0, 12)))


async def test_the_server_survives_a_flood_and_the_database_stays_consistent(
    osc_server: OscServer,
    make_peer: Callable[[], Awaitable[UdpPeer]],
    make_fake_point: Callable[..., Awaitable[FakeStreamPoint]],
    dispatcher: InstructionDispatcher,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.WARNING)
    flood = Flood(seed=20240601)
    attacker = await make_peer()
    for index in range(DATAGRAMS):
        attacker.send_raw(flood.datagram(), osc_server.port)
        if index % 200 == 0:
            await asyncio.sleep(0)  # let the server read; the kernel drops what overflows

    async def drained() -> bool:
        await asyncio.sleep(0.1)
        return osc_server.pending == 0

    await eventually(drained, within=60)
    # The handler never failed: bad input is refused before it reaches the database.
    assert not [r for r in caplog.records if "OSC handler failed" in r.getMessage()]

    # Every row is a whole beacon that was sent: no partial or invented rows.
    points = await StreamPoint.all()
    assert points, "no valid beacon got through"
    for point in points:
        assert point.host == LOOPBACK
        assert point.port in flood.beacon_ports
        assert point.name in flood.beacon_names
        assert point.last_live is not None
        assert point.janus_out_room in (None, 1, 2**31 - 1)
    assert len({(p.host, p.port) for p in points}) == len(points)
    # Random acknowledgements and wrong passwords changed and sent nothing.
    assert await StreamInstruction.all().count() == 0
    assert await StreamLog.all().count() == 0

    # And it still works: a new point registers and is served.
    fake = await make_fake_point()
    point = await registered(fake)
    row = await dispatcher.send_and_wait(point, "42", timeout=TIMEOUT)
    assert row.return_value == "42"
