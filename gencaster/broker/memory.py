"""MemoryBroker: fan-out inside one process, for a single worker and for tests."""

from __future__ import annotations

from gencaster.broker.base import Broker


class MemoryBroker(Broker):
    """Delivers each message straight into the local subscribers' queues.

    Nothing leaves the process, so two instances never hear each other whatever
    their prefix; with more than one worker process use ``RedisBroker``.
    """

    async def _start(self) -> None:
        """Nothing to connect to."""

    async def _close(self) -> None:
        """Nothing to disconnect."""

    async def _channel_joined(self, channel: str) -> None:
        """Publishing reads the subscriber sets directly: nothing to listen to."""

    async def _channel_left(self, channel: str) -> None:
        """Nothing to stop listening to."""

    async def publish(self, channel: str, message: bytes) -> None:
        self._check_publish(channel, message)
        self._fan_out(channel, message)

    def _upstream_count(self) -> int:
        # The in-process "backend" listens to exactly the channels that have subscribers.
        return len(self._subscribers)
