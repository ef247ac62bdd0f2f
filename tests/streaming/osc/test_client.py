"""OscClient: the /instruction datagram as it appears on the wire."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from pythonosc.osc_message import OscMessage

from gencaster.streaming.osc import OscClient
from gencaster.streaming.osc.messages import decode_message
from tests.support.osc import UdpPeer

UUID = "5a3c1a52-8f4e-4f1c-9f64-3f2d7f1b2c10"
MakePeer = Callable[[], Awaitable[UdpPeer]]


def type_tags(datagram: bytes) -> bytes:
    """The raw OSC type tag string (after the padded address), read without any OSC library."""
    address_end = datagram.index(b"\0")
    start = (address_end + 4) & ~3
    return datagram[start : datagram.index(b"\0", start)]


@pytest.mark.parametrize(("manual_finish", "tag"), [(True, b",ssT"), (False, b",ssF")])
async def test_manual_finish_is_an_osc_boolean_on_the_wire(
    osc_client: OscClient, make_peer: MakePeer, manual_finish: bool, tag: bytes
) -> None:
    peer = await make_peer()
    osc_client.send_instruction("127.0.0.1", peer.port, UUID, "{g.play}", manual_finish)
    datagram, _ = await peer.receive()
    assert type_tags(datagram) == tag
    assert decode_message(datagram) == ("/instruction", [UUID, "{g.play}", manual_finish])
    assert OscMessage(datagram).params == [UUID, "{g.play}", manual_finish]


async def test_the_uuid_is_sent_in_canonical_form(
    osc_client: OscClient, make_peer: MakePeer
) -> None:
    peer = await make_peer()
    osc_client.send_instruction("127.0.0.1", peer.port, UUID.upper(), "1", False)
    datagram, _ = await peer.receive()
    assert decode_message(datagram)[1][0] == UUID


async def test_every_send_leaves_from_one_socket(
    osc_client: OscClient, make_peer: MakePeer
) -> None:
    first, second = await make_peer(), await make_peer()
    osc_client.send_instruction("127.0.0.1", first.port, UUID, "1", False)
    osc_client.send_instruction("127.0.0.1", second.port, UUID, "2", False)
    osc_client.send_instruction("127.0.0.1", first.port, UUID, "3", False)
    (_, a), (_, b), (_, c) = await first.receive(), await second.receive(), await first.receive()
    assert a[1] == b[1] == c[1]


@pytest.mark.parametrize(
    ("host", "port", "uuid", "code", "manual_finish", "error"),
    [
        ("127.0.0.1", 9, UUID, "1", 1, TypeError),
        ("127.0.0.1", 9, "not-a-uuid", "1", False, ValueError),
        ("localhost", 9, UUID, "1", False, ValueError),
        ("::1", 9, UUID, "1", False, ValueError),
        ("127.0.0.1", 0, UUID, "1", False, ValueError),
        ("127.0.0.1", 70000, UUID, "1", False, ValueError),
        ("127.0.0.1", 9, UUID, "a\0b", False, ValueError),
        ("127.0.0.1", 9, UUID, "x" * 70_000, False, ValueError),
    ],
    ids=["int-flag", "bad-uuid", "hostname", "ipv6", "port-0", "port-too-big", "nul", "too-big"],
)
async def test_bad_instructions_are_refused_before_sending(
    osc_client: OscClient,
    host: str,
    port: int,
    uuid: str,
    code: str,
    manual_finish: bool,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        osc_client.send_instruction(host, port, uuid, code, manual_finish)


async def test_sending_needs_a_started_client() -> None:
    client = OscClient()
    with pytest.raises(RuntimeError, match="not running"):
        client.send_instruction("127.0.0.1", 9, UUID, "1", False)
    await client.start()
    with pytest.raises(RuntimeError, match="running"):
        await client.start()
    await client.close()
    await client.close()
    with pytest.raises(RuntimeError, match="not running"):
        client.send_instruction("127.0.0.1", 9, UUID, "1", False)
    with pytest.raises(RuntimeError, match="closed"):
        await client.start()
