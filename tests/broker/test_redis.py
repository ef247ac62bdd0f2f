"""RedisBroker on real Redis: one upstream subscription per channel, db numbers, reconnects."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from gencaster.broker import Backoff, BrokerUnavailable, RedisBroker, create_broker
from gencaster.broker.base import RESYNC
from tests.broker.conftest import BrokerFactory
from tests.support.polling import eventually
from tests.support.processes import RedisServer

TIMEOUT = 2.0
FAST_BACKOFF = Backoff(first=0.02, cap=0.2)


async def _numsub(client: Redis, wire_channel: str) -> int:
    [(_, count)] = await client.pubsub_numsub(wire_channel)
    return int(count)


async def test_local_subscribers_share_one_redis_subscription(
    broker_factory: BrokerFactory, redis_client: Redis, prefix: str
) -> None:
    broker = broker_factory("redis")
    await broker.start()
    wire = f"{prefix}:graph:1"
    async with broker.subscribe("graph:1"), broker.subscribe("graph:1") as second:
        async with broker.subscribe("graph:1"):
            assert await _numsub(redis_client, wire) == 1
        assert await _numsub(redis_client, wire) == 1
        await redis_client.publish(wire, b"from elsewhere")
        assert await second.get(timeout=TIMEOUT) == b"from elsewhere"
    # The block awaited Redis's confirmation of UNSUBSCRIBE, so no polling is needed.
    assert await _numsub(redis_client, wire) == 0


async def test_brokers_with_the_same_prefix_hear_each_other(
    broker_factory: BrokerFactory,
) -> None:
    """Two brokers stand for two worker processes of one deployment."""
    first, second = broker_factory("redis"), broker_factory("redis")
    await first.start()
    await second.start()
    async with first.subscribe("streams") as on_first, second.subscribe("streams") as on_second:
        await second.publish("streams", b"hello")
        assert await on_first.get(timeout=TIMEOUT) == b"hello"
        assert await on_second.get(timeout=TIMEOUT) == b"hello"


async def test_db_number_in_the_url_is_honoured(private_redis: RedisServer, prefix: str) -> None:
    await private_redis.start()
    broker = create_broker(f"{private_redis.url}/5", prefix=prefix)
    await broker.start()
    admin = private_redis.client()
    try:
        async with broker.subscribe("news") as subscription:
            await broker.publish("news", b"on db 5")
            assert await subscription.get(timeout=TIMEOUT) == b"on db 5"
            own_id = await admin.client_id()
            others = [c for c in await admin.client_list() if int(c["id"]) != own_id]
            assert len(others) == 2  # the pub/sub connection and one publishing connection
            assert {client["db"] for client in others} == {"5"}
    finally:
        await broker.close()
        await admin.aclose()


async def test_live_subscription_survives_a_redis_restart(
    private_redis: RedisServer, broker_factory: BrokerFactory, prefix: str
) -> None:
    await private_redis.start()
    broker = broker_factory("redis", url=private_redis.url, backoff=FAST_BACKOFF)
    await broker.start()
    async with broker.subscribe("graph:1") as subscription:
        await broker.publish("graph:1", b"before")
        assert await subscription.get(timeout=TIMEOUT) == b"before"

        await private_redis.kill()
        await eventually(lambda: broker.stats().upstream_channels == 0)
        await private_redis.start()
        await eventually(lambda: broker.stats().upstream_channels == 1)
        admin = private_redis.client()
        try:
            await eventually(lambda: _numsub(admin, f"{prefix}:graph:1"))
        finally:
            await admin.aclose()

        # Messages may have been lost meanwhile: the subscriber is told first.
        assert await subscription.get(timeout=TIMEOUT) == RESYNC
        await broker.publish("graph:1", b"after")
        assert await subscription.get(timeout=TIMEOUT) == b"after"
        stats = broker.stats()
        assert (stats.subscriptions, stats.upstream_channels, stats.tasks) == (1, 1, 1)


async def test_broker_started_while_redis_is_down_connects_when_it_comes_up(
    private_redis: RedisServer, broker_factory: BrokerFactory, prefix: str
) -> None:
    broker = broker_factory("redis", url=private_redis.url, backoff=FAST_BACKOFF)
    await asyncio.wait_for(broker.start(), TIMEOUT)  # returns; the reader keeps trying
    assert broker.stats().tasks == 1
    async with broker.subscribe("news") as subscription:
        await asyncio.sleep(0.1)  # a few failed attempts, none of them fatal
        await private_redis.start()
        admin = private_redis.client()
        try:
            await eventually(lambda: _numsub(admin, f"{prefix}:news"))
        finally:
            await admin.aclose()
        # Messages may have been lost meanwhile: the subscriber is told first.
        assert await subscription.get(timeout=TIMEOUT) == RESYNC
        await broker.publish("news", b"finally")
        assert await subscription.get(timeout=TIMEOUT) == b"finally"


async def test_publish_while_redis_is_down_raises_broker_unavailable_in_bounded_time(
    private_redis: RedisServer, broker_factory: BrokerFactory
) -> None:
    broker = broker_factory("redis", url=private_redis.url, publish_timeout=0.3)
    with pytest.raises(BrokerUnavailable) as caught:
        # Bounded by publish_timeout; the outer bound only says "it does not hang".
        await asyncio.wait_for(broker.publish("news", b"lost"), TIMEOUT)
    assert caught.value.channel == "news"
    assert isinstance(caught.value.__cause__, RedisConnectionError | OSError)


async def test_killed_pubsub_connection_is_replaced_and_resubscribed(
    private_redis: RedisServer, broker_factory: BrokerFactory, prefix: str
) -> None:
    await private_redis.start()
    broker = broker_factory("redis", url=private_redis.url, backoff=FAST_BACKOFF)
    await broker.start()
    admin = private_redis.client()
    try:
        async with broker.subscribe("node:1") as subscription:
            assert await admin.client_kill_filter(_type="pubsub") == 1
            await eventually(lambda: _numsub(admin, f"{prefix}:node:1"))
            # Messages may have been lost meanwhile: the subscriber is told first.
            assert await subscription.get(timeout=TIMEOUT) == RESYNC
            await broker.publish("node:1", b"again")
            assert await subscription.get(timeout=TIMEOUT) == b"again"
    finally:
        await admin.aclose()


async def test_silent_connection_is_checked_with_ping(
    broker_factory: BrokerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gencaster.broker")
    broker = broker_factory("redis", health_check_interval=0.05)
    await broker.start()
    async with broker.subscribe("quiet") as subscription:
        await asyncio.sleep(0.3)  # several PING/PONG rounds, none mistaken for a failure
        await broker.publish("quiet", b"still connected")
        assert await subscription.get(timeout=TIMEOUT) == b"still connected"
    assert broker.stats().tasks == 1
    assert not [record for record in caplog.records if "failed" in record.getMessage()]


@pytest.mark.parametrize("option", ["protocol=3", "decode_responses=True"])
def test_url_options_the_reader_cannot_handle_are_rejected(option: str) -> None:
    with pytest.raises(ValueError, match=option.split("=")[0]):
        RedisBroker(f"redis://127.0.0.1:6379/0?{option}")
