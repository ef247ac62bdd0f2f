"""The Broker interface and the local fan-out every backend shares.

A backend only moves bytes between processes. Local bookkeeping lives here: the
subscribers of each channel, their bounded queues, and the tasks the broker owns.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from gencaster.broker.errors import BrokerClosed, SubscriptionClosed
from gencaster.tasks import TaskSet

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUEUE = 1000
# Delivered to every subscriber once the backend is back after an outage: messages may
# have been lost meanwhile (pub/sub is at-most-once), so whoever waits for something
# re-checks it at its source. No published message is empty, so it cannot be mistaken.
RESYNC = b""


class Subscription:
    """One local subscriber's bounded inbox of messages on one channel.

    The broker fills it from its single reader; a subscription has no task of its
    own, so an idle one costs little more than its deque. When the queue is full the
    oldest message is dropped, so a slow reader neither blocks others nor grows.
    Like ``asyncio.StreamReader``, it serves one consumer at a time.
    """

    __slots__ = ("_closed", "_dropped", "_overflowing", "_queue", "_waiter", "channel")

    def __init__(self, channel: str, *, max_queue: int = DEFAULT_MAX_QUEUE) -> None:
        if max_queue < 1:
            raise ValueError(f"max_queue must be at least 1, not {max_queue}")
        self.channel = channel
        self._queue: deque[bytes] = deque(maxlen=max_queue)
        self._waiter: asyncio.Future[None] | None = None  # only while get() waits
        self._closed = False
        self._dropped = 0
        self._overflowing = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Subscription {self.channel!r} {state} queued={len(self._queue)}>"

    @property
    def dropped(self) -> int:
        """How many messages were dropped because this subscriber fell behind."""
        return self._dropped

    @property
    def closed(self) -> bool:
        return self._closed

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.get()
        except SubscriptionClosed:
            raise StopAsyncIteration from None

    # The timeout parameter mirrors ws.receive(timeout=...): every test receive needs one.
    async def get(self, timeout: float | None = None) -> bytes:
        """The next message; ``TimeoutError`` after ``timeout`` seconds, if given.

        Messages queued before the subscription ended are still returned; after
        that ``SubscriptionClosed`` is raised.
        """
        async with asyncio.timeout(timeout):
            while not self._queue:
                if self._closed:
                    raise SubscriptionClosed(self.channel)
                await self._wait()
        message = self._queue.popleft()
        if not self._queue:
            self._overflowing = False
        return message

    async def _wait(self) -> None:
        if self._waiter is not None:
            raise RuntimeError(f"Another coroutine is already reading {self!r}")
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _deliver(self, message: bytes) -> None:
        if self._closed:
            return
        if len(self._queue) == self._queue.maxlen:
            self._dropped += 1
            if not self._overflowing:
                # Warn once per backlog, not once per dropped message.
                self._overflowing = True
                logger.warning(
                    "Subscriber on channel %r is too slow: its queue of %d is full, "
                    "dropping the oldest messages",
                    self.channel,
                    self._queue.maxlen,
                )
        self._queue.append(message)
        self._wake()

    def _close(self) -> None:
        self._closed = True
        self._wake()


@dataclass(frozen=True, slots=True)
class BrokerStats:
    """Counts that must return to their starting values once subscribers leave."""

    subscriptions: int  # local Subscription objects still registered
    channels: int  # channels with at least one local subscriber
    upstream_channels: int  # channels the broker listens to on its backend
    tasks: int  # tasks the broker owns that have not finished


class Broker(ABC):
    """Publish bytes on named channels; subscribe to hear them.

    Each channel is listened to upstream once however many local subscribers it
    has; messages are fanned out locally. ``prefix`` namespaces the channels on
    the wire so deployments and test runs sharing a backend never hear each other.
    """

    def __init__(self, *, prefix: str = "gencaster", max_queue: int = DEFAULT_MAX_QUEUE) -> None:
        if max_queue < 1:
            raise ValueError(f"max_queue must be at least 1, not {max_queue}")
        self.prefix = prefix
        self._max_queue = max_queue
        self._subscribers: dict[str, set[Subscription]] = {}
        self._tasks = TaskSet()
        self._started = False
        self._closed = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} prefix={self.prefix!r} {self.stats()}>"

    async def start(self) -> None:
        """Connect to the backend; calling it again does nothing."""
        if self._closed:
            raise BrokerClosed()
        if self._started:
            return
        self._started = True
        await self._start()

    async def close(self) -> None:
        """Stop owned tasks, disconnect, and end every open subscription's iteration."""
        if self._closed:
            return
        # Flag first, before any await, so a concurrent second close() returns at once.
        self._closed = True
        for subscriptions in self._subscribers.values():
            for subscription in subscriptions:
                subscription._close()
        try:
            await self._tasks.cancel_all()
        finally:
            await self._close()

    async def ping(self) -> None:
        """Raise unless the backend carries messages right now (for readiness checks)."""
        if self._closed:
            raise BrokerClosed()

    @abstractmethod
    async def publish(self, channel: str, message: bytes) -> None:
        """Send ``message`` to every subscriber of ``channel``, in any process."""

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        """A subscription to ``channel`` that lasts until the block exits.

        Clean-up lives in this block's ``finally``, so it runs exactly once however
        the subscriber ends: normal exit, error, cancellation or broker shutdown.
        """
        if self._closed:
            raise BrokerClosed(channel=channel)
        subscription = Subscription(channel, max_queue=self._max_queue)
        self._subscribers.setdefault(channel, set()).add(subscription)
        try:
            await self._channel_joined(channel)
            yield subscription
        finally:
            subscription._close()
            if self._forget(channel, subscription) and not self._closed:
                await self._channel_left(channel)

    def stats(self) -> BrokerStats:
        return BrokerStats(
            subscriptions=sum(len(subs) for subs in self._subscribers.values()),
            channels=len(self._subscribers),
            upstream_channels=self._upstream_count(),
            tasks=len(self._tasks),
        )

    # Hooks for backends.

    @abstractmethod
    async def _start(self) -> None:
        """Connect to the backend (called once)."""

    @abstractmethod
    async def _close(self) -> None:
        """Release connections after the owned tasks have stopped (called once)."""

    @abstractmethod
    async def _channel_joined(self, channel: str) -> None:
        """A subscriber joined ``channel``; listen upstream if not yet listening."""

    @abstractmethod
    async def _channel_left(self, channel: str) -> None:
        """The last subscriber of ``channel`` left; stop listening upstream."""

    @abstractmethod
    def _upstream_count(self) -> int:
        """How many channels the backend currently listens to."""

    # Helpers for backends.

    def _check_publish(self, channel: str, message: bytes) -> None:
        if self._closed:
            raise BrokerClosed(channel=channel)
        if not isinstance(message, bytes):
            raise TypeError(f"A message must be bytes, not {type(message).__name__}")
        if message == RESYNC:
            raise ValueError("An empty message is reserved for RESYNC")

    def _fan_out(self, channel: str, message: bytes) -> None:
        """Hand ``message`` to every local subscriber of ``channel``, without awaiting."""
        for subscription in self._subscribers.get(channel, ()):
            subscription._deliver(message)

    def _resync(self) -> None:
        """Tell every local subscriber that messages may have been lost."""
        for subscriptions in self._subscribers.values():
            for subscription in subscriptions:
                subscription._deliver(RESYNC)

    def _forget(self, channel: str, subscription: Subscription) -> bool:
        """Unregister ``subscription``; true if it was the channel's last one."""
        subscriptions = self._subscribers.get(channel)
        if subscriptions is None:
            return False
        subscriptions.discard(subscription)
        if subscriptions:
            return False
        del self._subscribers[channel]
        return True

    def _spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Start a task this broker owns: recorded, logged if it fails, cancelled at close."""
        return self._tasks.start(coro, name=name)
