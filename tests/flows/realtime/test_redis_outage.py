"""A Redis outage loses no wake-up: waiters re-check the database once the broker is back.

Redis pub/sub is at-most-once, so an acknowledgement or a stream variable that arrives
while Redis is away is in the database but its message is lost. Each test kills a
private redis-server while an engine-side waiter waits, lets the event happen, starts
Redis again and expects the waiter to return the event, long before its own timeout.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from gencaster.broker import create_broker
from gencaster.broker.base import RESYNC
from gencaster.cli import migrate_database
from gencaster.stream_variables import StreamVariables
from models import Graph, InstructionState, Stream, StreamInstruction, StreamPoint, StreamVariable
from tests.conftest import make_settings
from tests.support.databases import database
from tests.support.graphql import GraphQLClient
from tests.support.osc import LOOPBACK, UdpPeer
from tests.support.polling import eventually
from tests.support.processes import RedisServer
from tests.support.server import RunningServer, running_server

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEVER = 3600.0  # the waiters' own timeout: a test passing through it would hang
WITHIN = 60.0  # generous bound on a wake-up that should take a couple of seconds


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def redis() -> AsyncIterator[RedisServer]:
    async with RedisServer() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=["sqlite", "postgres"])
async def redis_backed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis: RedisServer
) -> AsyncIterator[RunningServer]:
    tmp = tmp_path_factory.mktemp(f"redis-outage-{request.param}")
    async with database(request.param, tmp) as url:
        settings = make_settings(tmp, url, redis_url=redis.url)
        await migrate_database(settings)
        async with running_server(settings) as running:
            yield running


async def _stream() -> Stream:
    unique = uuid.uuid4().hex[:8]
    graph = await Graph.create(name=f"g-{unique}", display_name="g", slug_name=f"g-{unique}")
    point = await StreamPoint.create(host=LOOPBACK, port=9)
    return await Stream.create(stream_point=point, graph=graph)


async def test_subscribers_get_resync_after_redis_comes_back(redis: RedisServer):
    broker = create_broker(redis.url, prefix=f"resync-{uuid.uuid4().hex[:6]}")
    await broker.start()
    try:
        async with broker.subscribe("channel") as subscription:
            await redis.kill()
            await redis.start()
            assert await subscription.get(timeout=WITHIN) == RESYNC
            await broker.publish("channel", b"after")
            assert await subscription.get(timeout=WITHIN) == b"after"
    finally:
        await broker.close()


async def test_an_acknowledgement_during_the_outage_still_finishes_the_wait(
    redis_backed: RunningServer, redis: RedisServer
):
    loop = asyncio.get_running_loop()
    _, peer = await loop.create_datagram_endpoint(UdpPeer, local_addr=(LOOPBACK, 0))
    try:
        point = await StreamPoint.create(host=LOOPBACK, port=peer.port)
        dispatcher = redis_backed.app.ctx.streaming.dispatcher
        async with dispatcher.pending(point, "1") as pending:
            waiter = asyncio.create_task(pending.finished(NEVER))
            await peer.receive()
            await redis.kill()
            args = ["uuid", str(pending.instruction.uuid), "status", "FINISHED"]
            peer.send("/acknowledge", [*args, "return_value", "1"], redis_backed.settings.osc_port)

            async def finished_in_database() -> bool:
                row = await StreamInstruction.get(uuid=pending.instruction.uuid)
                return row.state == InstructionState.FINISHED

            await eventually(finished_in_database, within=WITHIN)
            assert not waiter.done()
            await redis.start()
            row = await asyncio.wait_for(waiter, WITHIN)
        assert row.state == InstructionState.FINISHED and row.return_value == "1"
    finally:
        peer.transport.close()  # type: ignore[union-attr]


async def test_a_stream_variable_set_during_the_outage_still_wakes_its_waiter(
    redis_backed: RunningServer, redis: RedisServer
):
    stream = await _stream()
    services = redis_backed.services
    variables = StreamVariables(stream, channel=services.channel, limits=services.variables.limits)
    waiter = asyncio.create_task(variables.wait_for("answer", timeout=NEVER))
    await eventually(lambda: _listening(services, stream), within=WITHIN)
    await redis.kill()
    async with GraphQLClient(redis_backed.graphql_url) as client:
        await client.data(
            "mutation($v: [StreamVariableInput!]!) "
            "{ createUpdateStreamVariable(streamVariables: $v) { key } }",
            {"v": [{"streamUuid": str(stream.uuid), "key": "answer", "value": "42"}]},
        )
    assert await StreamVariable.exists(stream_id=stream.uuid, key="answer")
    assert not waiter.done()
    await redis.start()
    assert await asyncio.wait_for(waiter, WITHIN) == "42"


async def _listening(services, stream: Stream) -> bool:  # type: ignore[no-untyped-def]
    """The waiter has subscribed to the stream's variables channel."""
    channel = services.channel.stream_variables_channel(stream.uuid)
    return channel in services.broker._subscribers
