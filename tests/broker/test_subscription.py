"""Subscription on its own: the bounded inbox every broker hands to a subscriber."""

from __future__ import annotations

import asyncio

import pytest

from gencaster.broker import Subscription, SubscriptionClosed


async def test_messages_queued_before_the_end_are_still_delivered() -> None:
    subscription = Subscription("c", max_queue=5)
    subscription._deliver(b"1")
    subscription._deliver(b"2")
    subscription._close()
    subscription._deliver(b"after the end")
    assert [message async for message in subscription] == [b"1", b"2"]
    with pytest.raises(SubscriptionClosed):
        await subscription.get(timeout=1)


async def test_a_full_queue_keeps_the_newest_messages() -> None:
    subscription = Subscription("c", max_queue=2)
    for message in (b"1", b"2", b"3", b"4"):
        subscription._deliver(message)
    assert subscription.dropped == 2
    assert [await subscription.get(timeout=1) for _ in range(2)] == [b"3", b"4"]


async def test_ending_wakes_a_waiting_reader() -> None:
    subscription = Subscription("c")
    reader = asyncio.create_task(subscription.get())
    await asyncio.sleep(0)
    subscription._close()
    with pytest.raises(SubscriptionClosed):
        await asyncio.wait_for(reader, 1)


async def test_a_second_concurrent_reader_is_refused() -> None:
    subscription = Subscription("c")
    first = asyncio.create_task(subscription.get(timeout=1))
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already reading"):
        await subscription.get(timeout=1)
    subscription._deliver(b"for the first")
    assert await first == b"for the first"


def test_queue_must_hold_at_least_one_message() -> None:
    with pytest.raises(ValueError):
        Subscription("c", max_queue=0)
