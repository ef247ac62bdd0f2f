"""Beacons upsert stream points keyed by (sender address, lang_port) (OSC.md /beacon)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from gencaster.streaming.osc import Beacon, FakeStreamPoint, OscServer
from gencaster.streaming.osc.messages import BEACON_ADDRESS
from gencaster.streaming.points import StreamPointHandler
from models import StreamPoint
from tests.streaming.points.conftest import LOOPBACK, registered
from tests.support.osc import UdpPeer
from tests.support.polling import eventually

MakeFake = Callable[..., Awaitable[FakeStreamPoint]]


def beacon(lang_port: int, **changes: Any) -> Beacon:
    values: dict[str, Any] = {
        "name": "point",
        "synth_port": 57110,
        "lang_port": lang_port,
        "janus_out_port": 8000,
        "janus_in_port": 8001,
        "janus_out_room": 10,
        "janus_in_room": 11,
        "janus_public_ip": "10.0.0.1",
        "use_input": False,
        "osc_backend_host": LOOPBACK,
        "osc_backend_port": 7000,
    }
    values.update(changes)
    return Beacon(**values)


async def test_a_beacon_creates_a_live_point_with_its_janus_fields(make_fake_point: MakeFake):
    fake = await make_fake_point(name="studio", janus_out_room=4321, janus_in_room=4322)
    point = await registered(fake)
    assert (point.host, point.port, point.name) == (LOOPBACK, fake.lang_port, "studio")
    assert (point.janus_out_room, point.janus_in_room) == (4321, 4322)
    assert point.janus_public_ip == "127.0.0.1"
    assert point.janus_out_port == 0 and point.janus_in_port == 0
    assert point.use_input is False
    assert point.last_live is not None


async def test_a_beacon_without_janus_keys_still_registers_the_point(make_fake_point: MakeFake):
    fake = await make_fake_point(send_janus_keys=False)
    point = await registered(fake)
    assert point.janus_out_room is None
    assert point.janus_in_room is None
    assert point.janus_public_ip is None


async def test_the_same_host_and_lang_port_updates_the_point(
    make_fake_point: MakeFake, make_peer: Callable[[], Awaitable[UdpPeer]], osc_server: OscServer
):
    fake = await make_fake_point(name="first")
    first = await registered(fake)
    peer = await make_peer()
    # A beacon naming the same lang_port from the same address: the same instance.
    args = ["name", "renamed", "synth_port", 1, "lang_port", fake.lang_port, "use_input", 1]
    peer.send(BEACON_ADDRESS, args, osc_server.port)

    async def renamed() -> StreamPoint | None:
        return await StreamPoint.get_or_none(uuid=first.uuid, name="renamed")

    point = await eventually(renamed)
    assert await StreamPoint.filter(host=LOOPBACK, port=fake.lang_port).count() == 1
    assert point.use_input is True
    assert point.last_live >= first.last_live
    assert point.janus_out_room is None  # this beacon left the room unset


async def test_a_different_lang_port_creates_another_point(make_fake_point: MakeFake):
    one = await registered(await make_fake_point(name="one"))
    two = await registered(await make_fake_point(name="two"))
    assert one.uuid != two.uuid
    assert await StreamPoint.filter(uuid__in=[one.uuid, two.uuid]).count() == 2


async def test_concurrent_beacons_of_a_new_point_make_exactly_one_row(
    db: str, handler: StreamPointHandler
):
    beacons = [beacon(30000, name=f"race-{i}") for i in range(20)]
    await asyncio.gather(*(handler.on_beacon(LOOPBACK, b) for b in beacons))
    points = await StreamPoint.filter(host=LOOPBACK, port=30000)
    assert len(points) == 1
    assert points[0].name.startswith("race-")


async def test_a_room_too_large_for_the_database_is_stored_as_unset(
    db: str, handler: StreamPointHandler
):
    await handler.on_beacon(LOOPBACK, beacon(30001, janus_out_room=2**40, janus_in_room=7))
    point = await StreamPoint.get(host=LOOPBACK, port=30001)
    assert point.janus_out_room is None
    assert point.janus_in_room == 7
