"""An engine in one process hears the acknowledgement another process handled (via Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from gencaster.broker import RedisBroker
from gencaster.distributor import GenCasterChannel
from gencaster.streaming.instructions import InstructionDispatcher, InstructionTimeout
from gencaster.streaming.logs import StreamLogWriter
from gencaster.streaming.osc import FakeStreamPoint, OscClient, OscServer
from gencaster.streaming.points import StreamPointHandler
from models import InstructionState, StreamInstruction
from tests.streaming.points.conftest import BEACON_WINDOW_S, LOOPBACK, PASSWORD, registered
from tests.support.databases import REDIS_URL

# A wait given this timeout ends only when the acknowledgement's message wakes it.
UNREACHED_TIMEOUT = 3600.0
HANG_GUARD = 60.0  # fails a run whose waits would only end at their timeout


@pytest.fixture
async def redis_pair() -> AsyncIterator[tuple[RedisBroker, RedisBroker]]:
    """Two brokers as two processes would have them: same Redis, same prefix."""
    prefix = f"gencaster-test-points-{uuid.uuid4().hex[:10]}"
    engine_side, osc_side = (
        RedisBroker(REDIS_URL, prefix=prefix),
        RedisBroker(REDIS_URL, prefix=prefix),
    )
    await engine_side.start()
    await osc_side.start()
    yield engine_side, osc_side
    await engine_side.close()
    await osc_side.close()


@pytest.fixture
async def engine_client() -> AsyncIterator[OscClient]:
    client = OscClient()
    await client.start()
    yield client
    await client.close()


async def test_the_waiter_hears_an_ack_handled_by_another_process(
    db: str,
    redis_pair: tuple[RedisBroker, RedisBroker],
    engine_client: OscClient,
    start_server: Callable[[Any], Awaitable[OscServer]],
):
    engine_broker, osc_broker = redis_pair
    # "Process" 1 runs the OSC server; "process" 2 only sends and waits.
    osc_channel = GenCasterChannel(osc_broker)
    osc_client = OscClient()
    await osc_client.start()
    handler = StreamPointHandler(
        dispatcher=InstructionDispatcher(osc=osc_client, channel=osc_channel),
        channel=osc_channel,
        logs=StreamLogWriter(osc_channel),
        osc_password=PASSWORD,
        beacon_window_s=BEACON_WINDOW_S,
    )
    server = await start_server(handler)
    fake = FakeStreamPoint(server_host=LOOPBACK, server_port=server.port, beacon_interval=3600)
    await fake.start()
    try:
        point = await registered(fake)
        engine = InstructionDispatcher(osc=engine_client, channel=GenCasterChannel(engine_broker))
        # Woken by the message, not by the timeout's last look at the database.
        async with asyncio.timeout(HANG_GUARD):
            rows = [
                await engine.send_and_wait(point, f"{i}", timeout=UNREACHED_TIMEOUT)
                for i in range(5)
            ]
        assert [row.return_value for row in rows] == ["0", "1", "2", "3", "4"]
        assert {row.state for row in rows} == {InstructionState.FINISHED}
        assert engine_broker.stats().subscriptions == 0
    finally:
        await fake.close()
        await osc_client.close()


async def test_without_a_shared_broker_the_waiter_times_out_then_reads_the_database(
    db: str,
    redis_pair: tuple[RedisBroker, RedisBroker],
    engine_client: OscClient,
    start_server: Callable[[Any], Awaitable[OscServer]],
):
    """Pub/sub is not durable: a lost message costs the wait, not the result."""
    _, osc_broker = redis_pair
    lonely = RedisBroker(REDIS_URL, prefix=f"gencaster-test-elsewhere-{uuid.uuid4().hex[:8]}")
    await lonely.start()
    osc_channel = GenCasterChannel(osc_broker)
    handler = StreamPointHandler(
        dispatcher=InstructionDispatcher(osc=engine_client, channel=osc_channel),
        channel=osc_channel,
        logs=StreamLogWriter(osc_channel),
        osc_password=PASSWORD,
        beacon_window_s=BEACON_WINDOW_S,
    )
    server = await start_server(handler)
    fake = FakeStreamPoint(server_host=LOOPBACK, server_port=server.port, beacon_interval=3600)
    await fake.start()
    try:
        point = await registered(fake)
        engine = InstructionDispatcher(osc=engine_client, channel=GenCasterChannel(lonely))
        row = await engine.send_and_wait(point, "7", timeout=0.3)
        assert (row.state, row.return_value) == (InstructionState.FINISHED, "7")
        stalled = FakeStreamPoint(
            server_host=LOOPBACK, server_port=server.port, runtime_error_marker="BOOM"
        )
        await stalled.start()
        try:
            stalled_point = await registered(stalled)
            with pytest.raises(InstructionTimeout):
                await engine.send_and_wait(stalled_point, "BOOM", timeout=0.3)
        finally:
            await stalled.close()
        assert await StreamInstruction.filter(state=InstructionState.RECEIVED).count() == 1
    finally:
        await fake.close()
        await lonely.close()
