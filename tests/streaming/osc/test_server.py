"""OscServer over real UDP on 127.0.0.1 with a recording handler."""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import uuid
from collections.abc import Awaitable, Callable

import pytest

from gencaster.streaming.osc import Acknowledgement, Beacon, OscServer, RemoteAction
from gencaster.streaming.osc.messages import encode_message
from tests.support.osc import UdpPeer, acknowledge_datagram, osc_datagram, osc_string

from .conftest import TIMEOUT, RecordingHandler

SERVER_LOGGER = "gencaster.streaming.osc.server"
UUID = "5a3c1a52-8f4e-4f1c-9f64-3f2d7f1b2c10"
# U+D800 as a careless encoder writes it (CESU-8, WTF-8): three bytes that are not UTF-8.
LONE_SURROGATE = "\ud800".encode("utf-8", "surrogatepass")

StartServer = Callable[..., Awaitable[OscServer]]
MakePeer = Callable[[], Awaitable[UdpPeer]]


def raw_beacon_datagram(name: bytes) -> bytes:
    """A beacon whose name is any bytes, which python-osc would refuse to build."""
    ports = [(b"s", osc_string(b"synth_port")), (b"i", struct.pack(">i", 57110))]
    ports += [(b"s", osc_string(b"lang_port")), (b"i", struct.pack(">i", 57120))]
    return osc_datagram(b"/beacon", [(b"s", osc_string(b"name")), (b"s", osc_string(name)), *ports])


def beacon_datagram(name: str = "SC_1", lang_port: int = 57120) -> bytes:
    args: list[object] = ["name", name, "synth_port", 57110, "lang_port", lang_port]
    return encode_message("/beacon", [*args, "janus_out_room", "7", "uuid", 0, "status", "BEACON"])


class BlockingHandler(RecordingHandler):
    """Holds every beacon until released, to fill the server's pending calls."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.started = 0
        self.cancelled = 0

    async def on_beacon(self, host: str, beacon: Beacon) -> None:
        self.started += 1
        self._notify()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        await super().on_beacon(host, beacon)


class FailingHandler(RecordingHandler):
    async def on_beacon(self, host: str, beacon: Beacon) -> None:
        if beacon.name == "boom":
            raise RuntimeError("database is down")
        await super().on_beacon(host, beacon)


async def test_port_zero_binds_a_free_port(start_server: StartServer) -> None:
    server = OscServer(RecordingHandler(), host="127.0.0.1", port=0)
    assert server.port == 0
    await server.start()
    try:
        assert server.port > 0
    finally:
        await server.close()


async def test_beacon_reaches_the_handler_with_the_sender_host(
    osc_server: OscServer, handler: RecordingHandler, make_peer: MakePeer
) -> None:
    peer = await make_peer()
    peer.send_raw(beacon_datagram(), osc_server.port)
    await handler.wait_until(lambda: len(handler.beacons) == 1)
    host, beacon = handler.beacons[0]
    assert host == "127.0.0.1"
    assert (beacon.name, beacon.lang_port, beacon.janus_out_room) == ("SC_1", 57120, 7)


async def test_acknowledgement_and_remote_action_reach_the_handler(
    osc_server: OscServer, handler: RecordingHandler, make_peer: MakePeer
) -> None:
    peer = await make_peer()
    ack = ["status", "FINISHED", "uuid", UUID, "return_value", "2"]
    peer.send_raw(encode_message("/acknowledge", ack), osc_server.port)
    action = ["protocol_version", "0.1", "action", "speak", "password", "pw", "cmd", "Hallo"]
    peer.send_raw(encode_message("/remote/action", action), osc_server.port)
    await handler.wait_until(lambda: len(handler.acks) == 1 and len(handler.actions) == 1)
    assert handler.acks[0][:2] == ("127.0.0.1", Acknowledgement(uuid.UUID(UUID), "FINISHED", "2"))
    assert handler.actions[0] == ("127.0.0.1", RemoteAction("0.1", "speak", "pw", "Hallo", None))


@pytest.mark.parametrize(
    "datagram",
    [
        b"\x00garbage",
        encode_message("/beacon", ["name", "SC_1", "synth_port"]),  # odd length
        encode_message("/beacon", ["name", "SC_1"]),  # missing keys
        encode_message("/beacon", ["name", 1, "synth_port", 57110, "lang_port", 57120]),
        encode_message("/nonsense", ["name", "SC_1"]),
        encode_message("/acknowledge", ["uuid", "nope", "status", "FINISHED"]),
        raw_beacon_datagram(b"SC" + LONE_SURROGATE),
    ],
    ids=[
        "not-osc",
        "odd-length",
        "missing-keys",
        "wrong-type",
        "unknown-address",
        "bad-uuid",
        "name-not-utf8",
    ],
)
async def test_malformed_datagrams_are_logged_with_the_sender_and_dropped(
    osc_server: OscServer,
    handler: RecordingHandler,
    make_peer: MakePeer,
    caplog: pytest.LogCaptureFixture,
    datagram: bytes,
) -> None:
    caplog.set_level(logging.WARNING, logger=SERVER_LOGGER)
    peer = await make_peer()
    peer.send_raw(datagram, osc_server.port)
    peer.send_raw(beacon_datagram(), osc_server.port)  # the server keeps going
    await handler.wait_until(lambda: len(handler.beacons) == 1)
    [record] = [r for r in caplog.records if r.name == SERVER_LOGGER]
    assert f"127.0.0.1:{peer.port}" in record.getMessage()
    assert handler.acks == [] and handler.actions == []


async def test_a_return_value_that_is_not_utf8_reaches_the_handler_replaced(
    osc_server: OscServer, handler: RecordingHandler, make_peer: MakePeer
) -> None:
    peer = await make_peer()
    peer.send_raw(acknowledge_datagram(UUID, b"x" + LONE_SURROGATE), osc_server.port)
    await handler.wait_until(lambda: len(handler.acks) == 1)
    ack = handler.acks[0][1]
    assert (ack.return_value, ack.return_value_replaced) == ("x\ufffd\ufffd\ufffd", True)


async def test_a_failing_handler_is_logged_with_the_sender_and_the_server_goes_on(
    start_server: StartServer, make_peer: MakePeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger=SERVER_LOGGER)
    handler = FailingHandler()
    server = await start_server(handler)
    peer = await make_peer()
    peer.send_raw(beacon_datagram("boom"), server.port)
    peer.send_raw(beacon_datagram("fine"), server.port)
    await handler.wait_until(lambda: len(handler.beacons) == 1)
    await asyncio.sleep(0)  # let the failed task's log call finish
    [record] = [r for r in caplog.records if r.name == SERVER_LOGGER]
    assert f"127.0.0.1:{peer.port}" in record.getMessage()
    assert record.exc_info is not None and "database is down" in str(record.exc_info[1])
    assert handler.beacons[0][1].name == "fine"


class LogCounter(logging.Handler):
    """Sets ``reached`` once ``count`` records containing ``needle`` were logged."""

    def __init__(self, needle: str, count: int) -> None:
        super().__init__()
        self.needle, self.count, self.hits = needle, count, 0
        self.reached = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.hits += 1
            if self.hits >= self.count:
                self.reached.set()


async def test_when_overloaded_the_server_drops_and_logs(
    start_server: StartServer, make_peer: MakePeer
) -> None:
    handler = BlockingHandler()
    server = await start_server(handler, max_pending=3)
    peer = await make_peer()
    drops = LogCounter("handler calls are pending", 7)
    logging.getLogger(SERVER_LOGGER).addHandler(drops)
    try:
        for index in range(10):
            peer.send_raw(beacon_datagram(f"p{index}"), server.port)
        async with asyncio.timeout(TIMEOUT):
            await drops.reached.wait()
    finally:
        logging.getLogger(SERVER_LOGGER).removeHandler(drops)
    assert server.pending == 3 and handler.started == 3
    handler.release.set()
    await handler.wait_until(lambda: len(handler.beacons) == 3)
    assert [b.name for _, b in handler.beacons] == ["p0", "p1", "p2"]
    peer.send_raw(beacon_datagram("after"), server.port)  # capacity is back
    await handler.wait_until(lambda: len(handler.beacons) == 4)


async def test_close_cancels_pending_handler_calls_and_is_idempotent(
    make_peer: MakePeer,
) -> None:
    handler = BlockingHandler()
    server = OscServer(handler, host="127.0.0.1", port=0)
    await server.start()
    peer = await make_peer()
    peer.send_raw(beacon_datagram("a"), server.port)
    peer.send_raw(beacon_datagram("b"), server.port)
    await handler.wait_until(lambda: handler.started == 2)
    await server.close()
    assert handler.cancelled == 2 and server.pending == 0
    await server.close()
    with pytest.raises(RuntimeError, match="closed"):
        await server.start()


async def test_start_twice_is_refused(osc_server: OscServer) -> None:
    with pytest.raises(RuntimeError, match="running"):
        await osc_server.start()


async def test_a_port_in_use_fails_at_start(
    osc_server: OscServer, start_server: StartServer
) -> None:
    taken = OscServer(RecordingHandler(), host="127.0.0.1", port=osc_server.port)
    with pytest.raises(OSError):
        await taken.start()
    assert taken.port == osc_server.port
    await taken.close()


async def test_datagrams_after_close_are_not_handled(
    handler: RecordingHandler, make_peer: MakePeer
) -> None:
    server = OscServer(handler, host="127.0.0.1", port=0)
    await server.start()
    port = server.port
    await server.close()
    peer = await make_peer()
    peer.send_raw(beacon_datagram(), port)
    await asyncio.sleep(0.05)
    assert handler.beacons == []


def garbage(rng: random.Random, index: int) -> bytes:
    """Datagrams that must all be refused: random bytes and near-miss OSC messages."""
    kind = index % 6
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 300))  # asyncio never sends b""
    if kind == 1:
        return b"/" + rng.randbytes(rng.randrange(0, 300))
    if kind == 2:
        valid = beacon_datagram()
        return valid[: rng.randrange(1, len(valid) - 1)]
    if kind == 3:
        args = [rng.choice(["name", "lang_port", "uuid", 3, 1.5]) for _ in range(rng.randrange(5))]
        return encode_message(rng.choice(["/beacon", "/acknowledge", "/remote/action"]), args)
    if kind == 4:
        return encode_message(f"/unknown/{index}", ["x", 1])
    return b"#bundle\0" + struct.pack(">q", 1) + rng.randbytes(rng.randrange(0, 50))


async def test_a_flood_of_garbage_leaves_the_server_running_with_bounded_logging(
    start_server: StartServer, make_peer: MakePeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=SERVER_LOGGER)
    handler = RecordingHandler()
    # Every datagram is to be read here: the sender's rate is another test's.
    server = await start_server(handler, max_datagrams_per_s=10**9)
    peer = await make_peer()
    rng = random.Random(20240501)
    total, chunk = 10_000, 50
    for start in range(0, total, chunk):
        for index in range(start, start + chunk):
            peer.send_raw(garbage(rng, index), server.port)
        # The valid beacon after each chunk paces the sender to the server: one socket on
        # loopback keeps order, so once it is handled the chunk before it has been read.
        peer.send_raw(beacon_datagram(f"valid-{start}"), server.port)
        await handler.wait_until(lambda n=start // chunk + 1: len(handler.beacons) == n)
    assert len(handler.beacons) == total // chunk
    assert handler.acks == [] and handler.actions == []

    await server.close()  # flushes the count of records left out
    records = [r for r in caplog.records if r.name == SERVER_LOGGER]
    summaries = [r for r in records if "were not logged" in r.getMessage()]
    assert len(records) <= 50, "a flood must not turn into one log line per datagram"
    assert summaries
    suppressed = sum(int(r.args[0]) for r in summaries)  # type: ignore[index]
    assert len(records) - len(summaries) + suppressed == total


async def test_a_flooding_sender_is_cut_to_its_rate_before_parsing(
    start_server: StartServer, make_peer: MakePeer, caplog: pytest.LogCaptureFixture
) -> None:
    handler = RecordingHandler()
    server = await start_server(handler, max_datagrams_per_s=20)
    peer = await make_peer()
    caplog.set_level(logging.WARNING, logger=SERVER_LOGGER)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for index in range(300):
        peer.send_raw(beacon_datagram(name=f"flood-{index}"), server.port)
    sent_for = loop.time() - started
    await handler.wait_until(lambda: len(handler.beacons) >= 1)
    await asyncio.sleep(0.3)  # what was let through has been handled
    elapsed = loop.time() - started
    # A full bucket (20) and what refilled while the datagrams were read, no more.
    assert 1 <= len(handler.beacons) <= 20 + 20 * elapsed + 1 < 300
    assert "over 20 datagrams a second" in caplog.text
    # The bucket refills: the same sender is heard again a second later.
    await asyncio.sleep(1.0)
    before = len(handler.beacons)
    peer.send_raw(beacon_datagram(name="later"), server.port)
    await handler.wait_until(lambda: len(handler.beacons) > before)
    assert handler.beacons[-1][1].name == "later"
    assert sent_for < elapsed
