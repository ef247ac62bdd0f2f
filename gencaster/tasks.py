"""``TaskSet``: tasks with one owner, for every part that starts work in the background.

asyncio keeps only a weak reference to a task, so a task nobody holds may vanish
mid-flight, and one nobody awaits fails silently. A ``TaskSet`` holds each task
until it ends, logs its failure, runs the caller's done-callback, and can cancel
and await them all at shutdown.

Tasks a function starts and itself awaits or cancels before it returns (a wait
with a timeout, a probe racing its deadline) are owned by that function's
``try``/``finally`` and need no set.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
DoneCallback = Callable[[asyncio.Task[Any]], None]


def log_failure(task: asyncio.Task[Any]) -> None:
    """Log a task's exception; the top of a background task is where it is seen."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        logger.error("Task %s failed", task.get_name(), exc_info=error)


async def wait_for(tasks: set[asyncio.Task[Any]]) -> None:
    """Wait until ``tasks`` end.

    ``asyncio.wait`` neither raises a task's exception nor cancels the tasks when
    the waiter itself is cancelled, so a shutdown that is cancelled again still
    propagates.
    """
    if tasks:
        await asyncio.wait(tasks)


class TaskSet:
    """Tasks with one owner: each logs its failure and leaves the set when it ends.

    Every open socket owns a few, mostly empty: the set exists only while it holds a
    task (an empty set is some 200 bytes).
    """

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] | None = None

    def __len__(self) -> int:
        return len(self._tasks) if self._tasks is not None else 0

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(set(self._tasks or ()))

    def start(
        self,
        coroutine: Coroutine[Any, Any, T],
        *,
        name: str,
        on_done: DoneCallback | None = None,
        awaited: bool = False,
    ) -> asyncio.Task[T]:
        """Run ``coroutine`` in a task held here; ``on_done`` runs once it has ended.

        ``awaited``: the caller awaits the task and handles its exception, so it
        is not logged here as well.
        """
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        if self._tasks is None:
            self._tasks = set()
        self._tasks.add(task)
        task.add_done_callback(self._forget if awaited else self._task_done)
        if on_done is not None:
            task.add_done_callback(on_done)
        return task

    def _forget(self, task: asyncio.Task[Any]) -> None:
        if self._tasks is not None:
            self._tasks.discard(task)
            if not self._tasks:
                self._tasks = None

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._forget(task)
        log_failure(task)

    async def wait_all(self) -> None:
        """Wait until every task, including those started meanwhile, has ended."""
        while self._tasks:
            await wait_for(set(self._tasks))

    async def cancel_all(self) -> None:
        """Cancel every task once and wait until all of them have finished."""
        tasks = set(self._tasks or ())
        self._tasks = None
        for task in tasks:
            task.cancel()
        await wait_for(tasks)
