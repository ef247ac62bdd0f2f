"""Fixtures: brokers of each kind on a random prefix, a Redis client, a private Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from gencaster.broker import Broker, MemoryBroker, RedisBroker
from tests.support.processes import RedisServer

REDIS_URL = os.environ.get("GENCASTER_TEST_REDIS_URL", "redis://127.0.0.1:6379")

BrokerFactory = Callable[..., Broker]


@pytest.fixture
def prefix() -> str:
    return f"test-broker-{uuid.uuid4().hex}"


@pytest.fixture
async def broker_factory(prefix: str) -> AsyncIterator[BrokerFactory]:
    """Builds unstarted brokers of a kind ("memory"/"redis") and closes them all afterwards."""
    built: list[Broker] = []

    def build(kind: str, *, prefix: str = prefix, url: str = REDIS_URL, **options: Any) -> Broker:
        if kind == "memory":
            broker: Broker = MemoryBroker(prefix=prefix, **options)
        else:
            broker = RedisBroker(url, prefix=prefix, **options)
        built.append(broker)
        return broker

    yield build
    for broker in built:
        await broker.close()


@pytest.fixture(params=["memory", "redis"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def broker(kind: str, broker_factory: BrokerFactory) -> Broker:
    broker = broker_factory(kind)
    await broker.start()
    return broker


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A private redis-server (not yet started) that the test may kill; always killed after."""
    server = RedisServer(tmp_path)
    try:
        yield server
    finally:
        await server.kill()
