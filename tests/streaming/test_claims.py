"""Claims on streams' engines: Redis leases between two "processes", and the local claim."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gencaster.streaming.claims import LocalClaims, RedisClaims
from tests.support.databases import REDIS_URL
from tests.support.polling import eventually

LEASE_S = 0.3  # renewed every 0.1 s


@pytest.fixture
async def two() -> AsyncIterator[tuple[RedisClaims, RedisClaims]]:
    """Two processes' claims on one Redis, with one prefix."""
    prefix = f"claims-{uuid.uuid4().hex[:8]}"
    first = RedisClaims(REDIS_URL, prefix=prefix, lease_s=LEASE_S)
    second = RedisClaims(REDIS_URL, prefix=prefix, lease_s=LEASE_S)
    yield first, second
    await first.close()
    await second.close()


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


async def test_one_holder_at_a_time_and_the_next_one_after_a_release(
    two: tuple[RedisClaims, RedisClaims],
):
    first, second = two
    stream = uuid.uuid4()
    lease = await first.acquire(stream)
    assert lease is not None
    assert await second.acquire(stream) is None
    assert await first.acquire(stream) is None  # not even twice in one process
    holder = await second.holder(stream)
    assert holder is not None and holder.startswith(await first.holder(stream) or "?")
    await lease.release()
    await lease.release()  # idempotent
    assert await second.acquire(stream) is not None


async def test_a_lease_another_process_took_is_lost_and_its_release_spares_the_new_key(
    two: tuple[RedisClaims, RedisClaims], redis: Redis
):
    first, _ = two
    stream = uuid.uuid4()
    lease = await first.acquire(stream)
    assert lease is not None
    # As if it had lapsed while its holder paused, and another process took it.
    await redis.set(first.key(stream), b"elsewhere/1/nonce", px=60_000)
    await eventually(lease.lost.is_set, message="the lease never learnt it was lost")
    await lease.release()
    assert await redis.get(first.key(stream)) == b"elsewhere/1/nonce"
    assert await first.acquire(stream) is None


async def test_a_renewed_lease_outlives_its_lifetime_and_comes_back_if_its_key_vanished(
    two: tuple[RedisClaims, RedisClaims], redis: Redis
):
    first, second = two
    stream = uuid.uuid4()
    lease = await first.acquire(stream)
    assert lease is not None
    await redis.delete(first.key(stream))  # a Redis restarted without persistence

    async def back() -> bool:
        return bool(await redis.exists(first.key(stream)))

    await eventually(back, message="the renewal did not set the key again")
    ttl_ms = await redis.pttl(first.key(stream))
    assert 0 < ttl_ms <= LEASE_S * 1000
    assert await second.acquire(stream) is None
    assert not lease.lost.is_set()


async def test_local_claims_hold_one_run_per_stream():
    claims = LocalClaims()
    stream = uuid.uuid4()
    lease = await claims.acquire(stream)
    assert lease is not None
    assert await claims.acquire(stream) is None
    await lease.release()
    assert await claims.acquire(stream) is not None
    await claims.close()
