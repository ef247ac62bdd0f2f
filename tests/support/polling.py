"""Waiting for an effect that arrives later (over UDP, Redis, a socket) without sleeping blind.

Every test that waits for something to happen polls with ``eventually``: it returns as soon as
the condition holds, so a busy machine only makes the test slower, never red.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_WITHIN = 10.0


async def eventually(
    probe: Callable[[], Awaitable[T]] | Callable[[], T],
    within: float = DEFAULT_WITHIN,
    interval: float = 0.01,
    message: str = "the condition was not reached in time",
) -> T:
    """The first truthy result of ``probe`` (sync or async); AssertionError after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = probe()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(f"{message} (waited {within} s)")
        await asyncio.sleep(interval)


async def stays(
    probe: Callable[[], Awaitable[T]] | Callable[[], T],
    expected: T,
    rounds: int = 5,
) -> None:
    """``probe`` still gives ``expected`` after a few turns of the event loop (nothing late)."""
    for _ in range(rounds):
        result = probe()
        if inspect.isawaitable(result):
            result = await result
        assert result == expected, f"expected {expected!r}, then saw {result!r}"
        await asyncio.sleep(0.01)
