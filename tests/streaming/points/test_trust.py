"""Stream points are who they say they are: allowed networks, their own acknowledgements, a cap.

Other loopback addresses (127.0.0.2) stand for other machines: real UDP from there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest

from gencaster.streaming.instructions import InstructionDispatcher
from gencaster.streaming.osc import Beacon, OscServer
from gencaster.streaming.osc.messages import ACKNOWLEDGE_ADDRESS, BEACON_ADDRESS, parse_beacon
from gencaster.streaming.points import StreamPointHandler
from models import InstructionState, StreamInstruction, StreamPoint
from tests.streaming.points.conftest import LOOPBACK
from tests.support.osc import StartServer, UdpPeer
from tests.support.polling import eventually

MakePeer = Callable[..., Awaitable[UdpPeer]]
OTHER = "127.0.0.2"


def beacon_args(lang_port: int) -> list:
    return ["name", f"point-{lang_port}", "synth_port", 57110, "lang_port", lang_port]


def ack_args(uuid: object, status: str) -> list:
    return ["uuid", str(uuid), "status", status]


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)


async def test_an_acknowledgement_from_another_address_changes_nothing(
    osc_server: OscServer,
    make_peer: MakePeer,
    dispatcher: InstructionDispatcher,
    caplog: pytest.LogCaptureFixture,
):
    point_socket = await make_peer()  # the real point: it never answers by itself
    point = await StreamPoint.create(host=LOOPBACK, port=point_socket.port)
    row = await dispatcher.send(point, "1 + 1")
    forger = await make_peer(OTHER)
    with caplog.at_level(logging.WARNING):
        forger.send(ACKNOWLEDGE_ADDRESS, ack_args(row.uuid, "FINISHED"), osc_server.port)
        await eventually(lambda: _logged(caplog, "it was sent elsewhere"))
    assert (await StreamInstruction.get(uuid=row.uuid)).state == InstructionState.SENT
    # The point itself may acknowledge from any of its ports (sclang's own port).
    answering = await make_peer()
    answering.send(ACKNOWLEDGE_ADDRESS, ack_args(row.uuid, "FINISHED"), osc_server.port)

    async def finished() -> bool:
        instruction = await StreamInstruction.get(uuid=row.uuid)
        return instruction.state == InstructionState.FINISHED

    await eventually(finished)


async def test_beacons_from_outside_the_allowed_networks_create_no_point(
    db: str,
    make_handler: Callable[..., StreamPointHandler],
    start_server: StartServer,
    make_peer: MakePeer,
    caplog: pytest.LogCaptureFixture,
):
    handler = make_handler(allowed_networks=("127.0.0.1/32",))
    server = await start_server(handler)
    stranger, studio = await make_peer(OTHER), await make_peer()
    with caplog.at_level(logging.WARNING):
        stranger.send(BEACON_ADDRESS, beacon_args(41000), server.port)
        await eventually(lambda: _logged(caplog, f"Ignored a beacon from {OTHER}"))
    studio.send(BEACON_ADDRESS, beacon_args(41001), server.port)
    await eventually(lambda: StreamPoint.exists(host=LOOPBACK, port=41001))
    assert not await StreamPoint.exists(host=OTHER)


async def test_the_default_networks_are_loopback_only(
    db: str, make_handler: Callable[..., StreamPointHandler]
):
    handler = make_handler()
    await handler.on_beacon("192.0.2.10", _beacon(42000))
    await handler.on_beacon("::ffff:127.0.0.1", _beacon(42001))
    assert not await StreamPoint.exists(host="192.0.2.10")
    assert await StreamPoint.exists(host="::ffff:127.0.0.1", port=42001)


def _beacon(lang_port: int) -> Beacon:
    return parse_beacon(beacon_args(lang_port))


async def test_two_thousand_beacons_make_no_more_points_than_the_limit(
    db: str,
    make_handler: Callable[..., StreamPointHandler],
    start_server: StartServer,
    make_peer: MakePeer,
    caplog: pytest.LogCaptureFixture,
):
    handler = make_handler(max_points=25)
    server = await start_server(handler)
    flooder = await make_peer()
    with caplog.at_level(logging.WARNING):
        for lang_port in range(43000, 45000):
            flooder.send(BEACON_ADDRESS, beacon_args(lang_port), server.port)
        await eventually(lambda: _logged(caplog, "points are live already"))
        await eventually(lambda: server.pending == 0)
    assert await StreamPoint.filter(port__gte=43000, port__lt=45000).count() == 25
