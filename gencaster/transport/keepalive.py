"""WebSocket pings for every socket of a worker from one task.

Sanic pings each socket from a task of its own that sleeps between pings: with
10,000 editors open that is 10,000 tasks, coroutines and timers, some 1.5 KiB a
socket, only to wake every 20 seconds. ``Keepalive`` does the same from one task:
every ``interval`` seconds it sends each watched socket a ping, and a socket whose
previous ping got no pong within ``timeout`` is failed with 1011, as Sanic does.
A socket that cannot take a frame at once (a send under way, a paused transport)
skips one round; a socket that stays stuck is ended by its unanswered ping.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from gencaster.tasks import TaskSet

__all__ = ["Keepalive", "Pingable"]

logger = logging.getLogger(__name__)

# Sockets served between two turns of the event loop during a round.
ROUND_SLICE = 512


class Pingable(Protocol):
    def ping_now(self) -> bool:
        """Send a ping frame at once if the socket can take it; False if it cannot."""
        ...

    def awaits_pong(self) -> bool:
        """A ping sent earlier has not been answered yet."""
        ...

    def fail(self, code: int) -> None:
        """End the connection at once with ``code``, without a closing handshake."""
        ...


class Keepalive:
    """Pings the sockets it watches every ``interval`` seconds (seconds, > 0)."""

    def __init__(self, interval: float = 20.0, timeout: float = 20.0) -> None:
        self.interval = interval
        self.timeout = timeout
        # Each watched socket and when its unanswered ping left (None: none is).
        self._sockets: dict[Pingable, float | None] = {}
        self._tasks = TaskSet()
        self._running: asyncio.Task[None] | None = None  # only while sockets are watched

    def watch(self, socket: Pingable) -> None:
        self._sockets[socket] = None
        if self._running is None:
            self._running = self._tasks.start(self._run(), name="websocket-keepalive")

    def forget(self, socket: Pingable) -> None:
        self._sockets.pop(socket, None)
        if not self._sockets and self._running is not None:
            self._running.cancel()
            self._running = None

    async def close(self) -> None:
        self._sockets.clear()
        self._running = None
        await self._tasks.cancel_all()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.ping_round()

    async def ping_round(self) -> None:
        """Fail the sockets whose ping is overdue, ping the others."""
        sockets = list(self._sockets)
        for start in range(0, len(sockets), ROUND_SLICE):
            if start:
                await asyncio.sleep(0)
            now = time.monotonic()
            for socket in sockets[start : start + ROUND_SLICE]:
                self._ping(socket, now)

    def _ping(self, socket: Pingable, now: float) -> None:
        if socket not in self._sockets:
            return  # closed during this round
        sent_at = self._sockets[socket]
        if socket.awaits_pong():
            if sent_at is not None and now - sent_at > self.timeout:
                logger.info("A WebSocket did not answer its ping in %.0f s", self.timeout)
                self.forget(socket)
                socket.fail(1011)
            return
        self._sockets[socket] = now if socket.ping_now() else None
