"""Owned tasks for the WebSocket transport: one registry of operations per socket.

Both subprotocol handlers keep their operations here, so starting, stopping and
shutting down behave the same whatever the wire says: every operation task has an
owner, leaves the registry exactly once, and runs its cleanups exactly once, in its
own task, however it ends (completion, error, stop, socket loss or cancellation).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from functools import partial

from gencaster.tasks import TaskSet, wait_for
from gencaster.transport.ws.adapter import SocketClosed

logger = logging.getLogger(__name__)

Cleanup = Callable[[], Awaitable[None]]
FinalMessage = Callable[[], Awaitable[None]]
OperationRunner = Callable[["OperationScope"], Awaitable[FinalMessage | None]]


class DuplicateOperation(KeyError):
    """An operation with this id is still running on the socket."""


class OperationScope:
    """Lets resolvers attach cleanup to the operation that runs them.

    Side effects such as listener counts belong to the operation, not to the socket:
    a callback added here runs once when the operation ends, however it ends.
    """

    __slots__ = ("_cleanups", "_closed", "operation_id")

    def __init__(self, operation_id: str) -> None:
        self.operation_id = operation_id
        self._cleanups: list[Cleanup] = []
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def add_cleanup(self, callback: Cleanup) -> None:
        if self._closed:
            raise RuntimeError(f"operation {self.operation_id!r} has already ended")
        self._cleanups.append(callback)

    async def close(self) -> None:
        """Run the cleanups, newest first; a failing one is logged and the rest still run."""
        # The flag is set before any await, so a second call finds nothing to do.
        self._closed = True
        while self._cleanups:
            callback = self._cleanups.pop()
            try:
                await callback()
            except Exception:
                logger.exception("Cleanup of operation %r failed", self.operation_id)


class OperationRegistry:
    """The live operations of one socket, by client-chosen id."""

    __slots__ = ("_live", "_tasks")

    def __init__(self) -> None:
        # Every operation task until it ends, including cancelled ones still running
        # cleanups; ``_live`` indexes those not yet stopped by their id.
        self._tasks = TaskSet()
        self._live: dict[str, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, operation_id: object) -> bool:
        return operation_id in self._live

    @property
    def pending_tasks(self) -> int:
        """Tasks not finished yet, including cancelled ones still running cleanups."""
        return len(self._tasks)

    def start(self, operation_id: str, runner: OperationRunner) -> asyncio.Task[None]:
        """Run ``runner`` in a new owned task; the id must not be live."""
        if operation_id in self._live:
            raise DuplicateOperation(operation_id)
        task = self._tasks.start(
            self._own(operation_id, runner),
            name=f"graphql-operation:{operation_id}",
            on_done=partial(self._task_done, operation_id),
        )
        self._live[operation_id] = task
        return task

    async def cancel(self, operation_id: str) -> bool:
        """Cancel one operation and wait for its cleanups; False if it was not live."""
        task = self._live.pop(operation_id, None)
        if task is None:
            return False
        task.cancel()
        await wait_for({task})
        return True

    async def cancel_all(self) -> None:
        """Cancel every live operation once and wait for all of them to finish."""
        live = list(self._live.values())
        self._live.clear()
        for task in live:
            task.cancel()
        # Not TaskSet.cancel_all: a stopped operation running its cleanups must not be
        # cancelled a second time, only awaited.
        await wait_for(set(self._tasks))

    async def _own(self, operation_id: str, runner: OperationRunner) -> None:
        scope = OperationScope(operation_id)
        final: FinalMessage | None = None
        try:
            final = await runner(scope)
        finally:
            # Unregister before the last message: a client that sees ``complete`` may
            # reuse the id at once, and it must also see the resources released.
            self._release(operation_id)
            await scope.close()
        if final is not None:
            with suppress(SocketClosed):
                await final()

    def _release(self, operation_id: str) -> None:
        if self._live.get(operation_id) is asyncio.current_task():
            del self._live[operation_id]

    def _task_done(self, operation_id: str, task: asyncio.Task[None]) -> None:
        if self._live.get(operation_id) is task:
            del self._live[operation_id]
