"""The same behaviour from every broker: run against MemoryBroker and RedisBroker."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack

import pytest

from gencaster.broker import Broker, BrokerClosed, SubscriptionClosed
from tests.broker.conftest import BrokerFactory
from tests.support.polling import eventually

TIMEOUT = 2.0


async def test_subscriber_receives_messages_in_publish_order(broker: Broker) -> None:
    async with broker.subscribe("news") as subscription:
        for number in range(5):
            await broker.publish("news", b"message %d" % number)
        received = [await subscription.get(timeout=TIMEOUT) for _ in range(5)]
    assert received == [b"message %d" % number for number in range(5)]


async def test_subscriber_hears_only_its_own_channel(broker: Broker) -> None:
    async with broker.subscribe("a") as on_a, broker.subscribe("b") as on_b:
        await broker.publish("b", b"for b")
        await broker.publish("a", b"for a")
        assert await on_a.get(timeout=TIMEOUT) == b"for a"
        assert await on_b.get(timeout=TIMEOUT) == b"for b"
        with pytest.raises(TimeoutError):
            await on_a.get(timeout=0.1)


async def test_every_local_subscriber_gets_each_message_through_one_upstream_listen(
    broker: Broker,
) -> None:
    async with AsyncExitStack() as stack:
        subscriptions = [
            await stack.enter_async_context(broker.subscribe("graph:1")) for _ in range(50)
        ]
        stats = broker.stats()
        assert (stats.subscriptions, stats.channels, stats.upstream_channels) == (50, 1, 1)
        await broker.publish("graph:1", b"changed")
        for subscription in subscriptions:
            assert await subscription.get(timeout=TIMEOUT) == b"changed"


async def test_upstream_listen_ends_when_the_last_subscriber_leaves(broker: Broker) -> None:
    async with broker.subscribe("node:1") as staying:
        async with broker.subscribe("node:1"):
            assert broker.stats().subscriptions == 2
        stats = broker.stats()
        assert (stats.subscriptions, stats.channels, stats.upstream_channels) == (1, 1, 1)
        await broker.publish("node:1", b"still here")
        assert await staying.get(timeout=TIMEOUT) == b"still here"
    stats = broker.stats()
    assert (stats.subscriptions, stats.channels, stats.upstream_channels) == (0, 0, 0)


async def test_brokers_with_different_prefixes_do_not_hear_each_other(
    kind: str, broker_factory: BrokerFactory, prefix: str
) -> None:
    ours = broker_factory(kind, prefix=f"{prefix}-ours")
    theirs = broker_factory(kind, prefix=f"{prefix}-theirs")
    await ours.start()
    await theirs.start()
    async with ours.subscribe("streams") as our_sub, theirs.subscribe("streams") as their_sub:
        await theirs.publish("streams", b"theirs")
        await ours.publish("streams", b"ours")
        assert await our_sub.get(timeout=TIMEOUT) == b"ours"
        assert await their_sub.get(timeout=TIMEOUT) == b"theirs"
        with pytest.raises(TimeoutError):
            await our_sub.get(timeout=0.2)


async def test_slow_subscriber_drops_its_oldest_messages_without_holding_up_others(
    kind: str, broker_factory: BrokerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    broker = broker_factory(kind, max_queue=3)
    await broker.start()
    caplog.set_level(logging.WARNING, logger="gencaster.broker")
    async with broker.subscribe("busy") as slow, broker.subscribe("busy") as fast:
        for number in range(10):
            await broker.publish("busy", b"%d" % number)
            assert await fast.get(timeout=TIMEOUT) == b"%d" % number
        assert [await slow.get(timeout=TIMEOUT) for _ in range(3)] == [b"7", b"8", b"9"]
        with pytest.raises(TimeoutError):
            await slow.get(timeout=0.1)
    assert (slow.dropped, fast.dropped) == (7, 0)
    warnings = [record for record in caplog.records if "'busy'" in record.getMessage()]
    assert len(warnings) == 1  # once per backlog, not once per dropped message


async def test_get_times_out_when_nothing_is_published(broker: Broker) -> None:
    async with broker.subscribe("quiet") as subscription:
        with pytest.raises(TimeoutError):
            await subscription.get(timeout=0.05)


async def test_subscription_ends_when_its_block_exits(broker: Broker) -> None:
    async with broker.subscribe("left") as subscription:
        pass
    with pytest.raises(SubscriptionClosed):
        await subscription.get(timeout=TIMEOUT)
    assert [message async for message in subscription] == []


async def test_close_ends_iteration_of_open_subscriptions(broker: Broker) -> None:
    received: list[bytes] = []
    subscribed = asyncio.Event()

    async def consume() -> None:
        async with broker.subscribe("live") as subscription:
            subscribed.set()
            async for message in subscription:
                received.append(message)

    consumer = asyncio.create_task(consume())
    await asyncio.wait_for(subscribed.wait(), TIMEOUT)
    await broker.publish("live", b"last")
    await eventually(lambda: received == [b"last"], within=TIMEOUT)
    await broker.close()
    await asyncio.wait_for(consumer, TIMEOUT)
    assert broker.stats().subscriptions == 0
    assert broker.stats().tasks == 0


async def test_closed_broker_refuses_to_be_used_or_reopened(broker: Broker) -> None:
    await broker.start()  # a second start is a no-op
    await broker.close()
    await broker.close()  # and so is a second close
    with pytest.raises(BrokerClosed):
        await broker.start()
    with pytest.raises(BrokerClosed):
        await broker.publish("any", b"x")
    with pytest.raises(BrokerClosed):
        async with broker.subscribe("any"):
            pass


async def test_publish_accepts_only_bytes(broker: Broker) -> None:
    with pytest.raises(TypeError):
        await broker.publish("any", "text")  # type: ignore[arg-type]


async def test_a_thousand_subscribe_cycles_leave_no_trace(broker: Broker) -> None:
    stats_before, tasks_before = broker.stats(), asyncio.all_tasks()
    for number in range(1000):
        async with broker.subscribe(f"cycle:{number % 7}"):
            pass
    assert broker.stats() == stats_before
    assert asyncio.all_tasks() == tasks_before


async def test_cancelled_and_concurrent_subscribers_leave_no_trace(broker: Broker) -> None:
    stats_before, tasks_before = broker.stats(), asyncio.all_tasks()
    entered = 0

    async def listen(channel: str) -> None:
        nonlocal entered
        async with broker.subscribe(channel) as subscription:
            entered += 1
            await subscription.get()

    for round_number in range(1, 6):
        listeners = [asyncio.create_task(listen(f"crowd:{n % 5}")) for n in range(100)]
        await eventually(lambda: entered == 100 * round_number, within=TIMEOUT)  # noqa: B023
        for listener in listeners[::2]:
            listener.cancel()
        for channel_number in range(5):
            await broker.publish(f"crowd:{channel_number}", b"go")
        done, _ = await asyncio.wait(listeners, timeout=TIMEOUT)
        assert len(done) == 100
    assert broker.stats() == stats_before
    assert asyncio.all_tasks() == tasks_before
